"""template.yaml, translated offline by aws-sam-translator, says what the issues require.

The translation is what CloudFormation would deploy, so these assertions hold for the real stack. No AWS call is
made: the managed-policy map is empty (the template names no managed policy; SAM's default role ARN is built
without one) and the boto3 session only supplies the region name. Parameter values are fed through tests/cfn.py:
the checks CloudFormation makes before creating anything (types, patterns, allowed values, Rules), then the
template's intrinsic functions evaluated with those values.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from edge_router import config
from edge_router.errors import ConfigError
from tests.cfn import PSEUDO, STACK_ID, Stack, parameter_errors

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
EDGE_TOKEN = "edgelambda.amazonaws.com"
EDGE_FUNCTIONS = {"EdgeRouterFunction": "origin-request", "EdgeResponseFunction": "origin-response"}
ORIGIN_CUSTOM_HEADER_QUOTA = 30  # CloudFront quotas page, "Quotas on headers" (current page; it was 10 until 2021)
HEADER_VALUE_LIMIT = 1783
ALL_HEADERS_LIMIT = 10_240
LOG_RETENTION_DAYS = {
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_source() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    return load_source()


@pytest.fixture(scope="module")
def cfn(source: dict[str, Any]) -> dict[str, Any]:
    session = boto3.session.Session(region_name="us-east-1")
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    packaged = copy.deepcopy(source)
    for name, resource in packaged["Resources"].items():  # what `sam package` does to local code paths
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
    params = {"AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    translated: dict[str, Any] = translator.translate(packaged, params, get_managed_policy_map=dict)
    return translated


def resources_of(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in cfn["Resources"].items() if body["Type"] == kind}


def only(cfn: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = resources_of(cfn, kind).values()
    return found


def distribution(cfn: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = cfn["Resources"]["CFDistribution"]["Properties"]["DistributionConfig"]
    return found


def behavior(cfn: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = distribution(cfn)["DefaultCacheBehavior"]
    return result


def origin_headers(cfn: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The placeholder origin's custom headers as a deployed stack with these parameters would send them."""
    assert parameter_errors(cfn, overrides) == []
    (origin,) = Stack(cfn, overrides).value(distribution(cfn)["Origins"])
    return {h["HeaderName"]: str(h["HeaderValue"]) for h in origin["OriginCustomHeaders"]}


def references(node: Any) -> Iterator[str]:
    """Logical IDs a template fragment refers to (Ref, Fn::GetAtt, ${X} and ${X.Attr} in Fn::Sub)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value.split(".", 1)[0]
            elif key == "Fn::GetAtt":
                yield (value[0] if isinstance(value, list) else value.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                if not isinstance(value, str):
                    yield from references(value[1])
            else:
                yield from references(value)


def dependencies(cfn: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's direct dependencies (references and DependsOn), among resources only."""
    resources = cfn["Resources"]
    graph = {}
    for name, body in resources.items():
        depends_on = body.get("DependsOn", [])
        depends = set(references(body.get("Properties", {}))) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        graph[name] = {d for d in depends if d in resources}
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return False


# ------------------------------------------------------------------------------------------------ edge functions
def test_both_edge_associations_use_numbered_versions_of_their_functions(cfn: dict[str, Any]) -> None:
    associations = {a["EventType"]: a for a in behavior(cfn)["LambdaFunctionAssociations"]}
    assert set(associations) == set(EDGE_FUNCTIONS.values())
    for function, event_type in EDGE_FUNCTIONS.items():
        ref = associations[event_type]["LambdaFunctionARN"]["Ref"]
        version = cfn["Resources"][ref]
        assert version["Type"] == "AWS::Lambda::Version"
        assert version["Properties"]["FunctionName"] == {"Ref": function}
    assert associations["origin-request"]["IncludeBody"] is False
    assert "IncludeBody" not in associations["origin-response"]  # the body option exists for request events only
    assert (
        cfn["Outputs"]["LambdaEdgeFunctionResponseVersion"]["Value"]
        == associations["origin-response"]["LambdaFunctionARN"]
    )


@pytest.mark.parametrize("function", sorted(EDGE_FUNCTIONS))
def test_edge_functions_obey_the_lambda_at_edge_rules(cfn: dict[str, Any], function: str) -> None:
    props = cfn["Resources"][function]["Properties"]
    assert "Environment" not in props
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Timeout"] <= 30
    for forbidden in ("Layers", "VpcConfig", "DeadLetterConfig", "TracingConfig"):
        assert forbidden not in props


def test_the_response_function_is_the_router_package_with_its_own_handler(source: dict[str, Any]) -> None:
    router = source["Resources"]["EdgeRouterFunction"]
    response = source["Resources"]["EdgeResponseFunction"]
    assert router["Properties"]["Handler"] == "edge_router.handler.lambda_handler"
    assert response["Properties"]["Handler"] == "edge_router.response.lambda_handler"
    assert response["Properties"]["CodeUri"] == router["Properties"]["CodeUri"] == "edge_router/"
    assert response["Metadata"] == router["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "deploy"}
    assert response["Properties"]["MemorySize"] == 128
    assert response["Properties"]["Timeout"] == 5
    assert response["Properties"]["AutoPublishAlias"] == "live"


@pytest.mark.parametrize("function", sorted(EDGE_FUNCTIONS))
def test_edge_functions_have_generated_names_and_are_kept_except_on_a_failed_create(
    cfn: dict[str, Any], function: str
) -> None:
    """A fixed name collided with the function a failed create or a `sam delete` left behind."""
    body = cfn["Resources"][function]
    assert "FunctionName" not in body["Properties"]
    role = body["Properties"]["Role"]["Fn::GetAtt"][0]
    version = next(
        v
        for v in resources_of(cfn, "AWS::Lambda::Version").values()
        if v["Properties"]["FunctionName"] == {"Ref": function}
    )
    for resource in (body, cfn["Resources"][role], version):
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
        assert resource["UpdateReplacePolicy"] == "Retain"


def test_edge_roles_trust_edgelambda_and_only_the_router_reads_the_table(cfn: dict[str, Any]) -> None:
    router_role = cfn["Resources"]["EdgeRouterRole"]["Properties"]
    response_role = cfn["Resources"]["EdgeResponseRole"]["Properties"]
    for role in (router_role, response_role):
        principals = {p for s in role["AssumeRolePolicyDocument"]["Statement"] for p in s["Principal"]["Service"]}
        assert principals == {"lambda.amazonaws.com", EDGE_TOKEN}
        assert "ManagedPolicyArns" not in role
    (scan,) = router_role["Policies"][0]["PolicyDocument"]["Statement"]
    assert scan["Action"] == "dynamodb:Scan"
    assert ":dynamodb:*:" in scan["Resource"]["Fn::Sub"]
    assert "${ApiVersionMappingTable}" in scan["Resource"]["Fn::Sub"]
    assert "Policies" not in response_role  # no DynamoDB, nothing but its logs (below)
    attached = [
        p
        for p in resources_of(cfn, "AWS::IAM::RolePolicy").values()
        if p["Properties"]["RoleName"] == {"Ref": "EdgeResponseRole"}
    ]
    assert all("dynamodb" not in json.dumps(p).lower() for p in attached)


@pytest.mark.parametrize("function", sorted(EDGE_FUNCTIONS))
def test_edge_log_permission_names_the_generated_function_without_a_cycle(cfn: dict[str, Any], function: str) -> None:
    role = function.replace("Function", "Role")
    policy = cfn["Resources"][function.replace("Function", "LogsPolicy")]
    assert policy["Type"] == "AWS::IAM::RolePolicy"
    assert policy["Properties"]["RoleName"] == {"Ref": role}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    arns = [Stack(cfn).value(resource) for resource in statement["Resource"]]
    name = Stack(cfn).physical(function)
    assert arns == [
        f"arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.{name}",
        f"arn:aws:logs:*:123456789012:log-group:/aws/lambda/us-east-1.{name}:*",
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}",
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}:*",
    ]
    graph = dependencies(cfn)
    assert reaches(graph, policy_id := function.replace("Function", "LogsPolicy"), function)
    assert not reaches(graph, function, policy_id)  # the function does not wait for its log permission ...
    assert policy_id in cfn["Resources"]["CFDistribution"]["DependsOn"]  # ... but traffic does


def test_the_template_has_no_dependency_cycle(cfn: dict[str, Any]) -> None:
    graph = dependencies(cfn)
    for name in graph:
        assert not any(reaches(graph, dependency, name) for dependency in graph[name]), name


def test_the_distribution_comes_last(cfn: dict[str, Any]) -> None:
    """A failure before it rolls back while no edge replica exists; traffic finds the table seeded."""
    depends_on = set(cfn["Resources"]["CFDistribution"]["DependsOn"])
    assert {"SeedVersionMappings", "EdgeRouterEdgeLogGroup", "EdgeResponseEdgeLogGroup"} <= depends_on


# ------------------------------------------------------------------------------------------------ log groups
def test_every_function_logs_to_a_group_that_expires(cfn: dict[str, Any], source: dict[str, Any]) -> None:
    groups = {
        Stack(cfn).value(g["Properties"]["LogGroupName"]): g for g in resources_of(cfn, "AWS::Logs::LogGroup").values()
    }
    expected = set()
    for function in resources_of(cfn, "AWS::Lambda::Function"):
        name = Stack(cfn).physical(function)
        expected.add(f"/aws/lambda/{name}")
        if function in EDGE_FUNCTIONS:
            expected.add(f"/aws/lambda/us-east-1.{name}")  # replicas running in us-east-1
    assert set(groups) == expected
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert "DeletionPolicy" not in group  # they go with the stack
    retention = source["Parameters"]["LogRetentionDays"]
    assert set(retention["AllowedValues"]) == LOG_RETENTION_DAYS
    assert retention["Default"] in LOG_RETENTION_DAYS
    assert cfn["Resources"]["SeedVersionMappings"]["DependsOn"] == "InitDbLogGroup"  # it invokes InitDb at create


def test_log_retention_values_are_the_ones_cloudwatch_accepts() -> None:
    """cfn-lint carries the AWS::Logs::LogGroup resource schema, whose enum is the API's list."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Logs::LogGroup").schema
    assert set(schema["properties"]["RetentionInDays"]["enum"]) == LOG_RETENTION_DAYS


# ------------------------------------------------------------------------------------------------ the table
def test_mapping_table_is_a_kept_global_table_keyed_by_hk(cfn: dict[str, Any]) -> None:
    table = cfn["Resources"]["ApiVersionMappingTable"]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    assert table["DeletionPolicy"] == "RetainExceptOnCreate"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert "TableName" not in props  # generated: a retained table never collides with a new stack's
    assert props["KeySchema"] == [{"AttributeName": "hk", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    replicas = Stack(cfn, {"TableReplicaRegions": "eu-west-1,ap-southeast-2"}).value(props["Replicas"])
    assert [r["Region"] for r in replicas] == ["us-east-1", "eu-west-1", "ap-southeast-2"]
    assert all(r["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True} for r in replicas)


@pytest.mark.parametrize(("setting", "expected"), [("false", False), ("true", True)])
def test_deletion_protection_is_a_parameter_off_by_default(cfn: dict[str, Any], setting: str, expected: bool) -> None:
    """Off by default, so that the rollback of a failed first create can delete the table it made."""
    assert cfn["Parameters"]["TableDeletionProtection"]["Default"] == "false"
    overrides = {"TableDeletionProtection": setting, "TableReplicaRegions": "eu-west-1"}
    replicas = Stack(cfn, overrides).value(cfn["Resources"]["ApiVersionMappingTable"]["Properties"]["Replicas"])
    assert [r["DeletionProtectionEnabled"] for r in replicas] == [expected, expected]


GOOD_REPLICAS = [
    "",
    "eu-west-1",
    "eu-west-1,ap-southeast-2",
    "eu-west-1, ap-southeast-2",  # a CommaDelimitedList trimmed spaces: old values stay valid
    " eu-west-1 , ap-southeast-2 ,sa-east-1,ca-west-1",
    "us-west-2,us-east-2,eu-central-1,ap-northeast-1",
]
BAD_REPLICAS = [
    ("us-east-1", "the home region"),
    ("eu-west-1,us-east-1", "the home region"),
    ("eu-west-1,eu-west-2,eu-west-3,eu-north-1,eu-central-1", "a fifth region"),
    ("eu-west-1,eu-west-1", "a duplicate"),
    ("eu-west-1, ap-southeast-2,eu-west-1", "a duplicate"),
    ("eu-west-9", "no such region"),
    ("EU-WEST-1", "region names are lowercase"),
    ("eu-west-1,", "an empty entry"),
    (",eu-west-1", "an empty entry"),
    ("eu-west-1,,ap-southeast-2", "an empty entry"),
    ("eu-west-1;ap-southeast-2", "not comma-separated"),
    ("cn-north-1", "another partition"),
    ("us-gov-west-1", "another partition"),
]


@pytest.mark.parametrize("value", GOOD_REPLICAS)
def test_replica_regions_that_deploy(cfn: dict[str, Any], value: str) -> None:
    overrides = {"TableReplicaRegions": value}
    assert parameter_errors(cfn, overrides) == []
    regions = [r.strip() for r in value.split(",") if r.strip()]
    replicas = Stack(cfn, overrides).value(cfn["Resources"]["ApiVersionMappingTable"]["Properties"]["Replicas"])
    assert [r["Region"] for r in replicas] == ["us-east-1", *regions]  # every one: none silently left out
    router = config.build_config(
        {config.TABLE_NAME: "t-123", config.TABLE_REGIONS: origin_headers(cfn, overrides)[config.TABLE_REGIONS]}
    )
    assert router.regions == ("us-east-1", *regions)


@pytest.mark.parametrize(("value", "why"), BAD_REPLICAS)
def test_replica_regions_refused_before_anything_is_created(cfn: dict[str, Any], value: str, why: str) -> None:
    (error,) = parameter_errors(cfn, {"TableReplicaRegions": value})
    assert error.startswith("TableReplicaRegions:"), why


def test_every_replica_region_allowed_is_a_dynamodb_region_of_the_aws_partition(cfn: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    known = set(session.get_available_regions("dynamodb", partition_name="aws"))
    pattern = cfn["Parameters"]["TableReplicaRegions"]["AllowedPattern"]
    allowed = {r for r in known if re.fullmatch(pattern, r)}
    assert "us-east-1" not in allowed
    assert allowed >= {"eu-west-1", "ap-southeast-2", "sa-east-1", "us-west-2"}
    candidates = {
        f"{a}-{b}-{n}"
        for a in ("us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx")
        for b in ("east", "west", "north", "south", "central", "northeast", "southeast")
        for n in range(1, 10)
    }
    assert {r for r in candidates if re.fullmatch(pattern, r)} <= known  # the pattern names no unknown region


# ------------------------------------------------------------------------------------------------ headers and cache
GOOD_HEADERS = ["Accept", "APIVER", "APIVER,Accept", "x-api-version", "A,B,C,D,E,F,G,H,I,J"]
BAD_HEADERS = [
    ("Authorization", "a credential: refusal lines and debug events show a version header's value"),
    ("APIVER,authorization", "Authorization, case-insensitively"),
    ("Accept-Encoding", "the cache policy normalises it (EnableAcceptEncodingGzip/Brotli)"),
    ("APIVER,accept-encoding", "Accept-Encoding, case-insensitively"),
    ("Connection", "CloudFront cannot cache on it"),
    ("Cookie", "cookies have their own cache-key setting"),
    ("Cache-Control", "CloudFront cannot cache on it"),
    ("TE", "CloudFront cannot cache on it"),
    ("Transfer-Encoding", "CloudFront cannot cache on it"),
    ("Upgrade", "CloudFront cannot cache on it"),
    ("Proxy-Authorization", "CloudFront removes it"),
    ("X-Real-IP", "CloudFront removes it"),
    ("X-Forwarded-Proto", "CloudFront removes it"),
    ("X-Edge-Version", "X-Edge-* are removed and disallowed"),
    ("x-amz-cf-id", "X-Amz-Cf-* are CloudFront's"),
    ("X-Amzn-Trace-Id,Accept", "X-Amzn-* are disallowed at the edge"),
    ("Expect", "Lambda@Edge never shows it"),
    ("Keep-Alive", "Lambda@Edge never shows it"),
    ("X-Accel-Redirect", "Lambda@Edge never shows it"),
    ("X-Cache", "Lambda@Edge never shows it"),
    ("Host", "the router cannot read a version from it"),
    ("Via", "the router cannot read a version from it"),
    ("X-Forwarded-For", "the router cannot read a version from it"),
    ("custom-apigw-table-name", "the router's own settings"),
    ("Accept,APIVER,accept", "twice"),
    ("Accept, APIVER", "a space"),
    ("", "empty"),
    ("A,B,C,D,E,F,G,H,I,J,K", "eleven: a cache policy takes 10 headers"),
    ("Accept,", "an empty entry"),
    ("API_VER", "the pattern's characters"),
]


@pytest.mark.parametrize("value", GOOD_HEADERS)
def test_version_headers_that_deploy(cfn: dict[str, Any], value: str) -> None:
    overrides = {"ApiVersionHeaderName": value}
    assert parameter_errors(cfn, overrides) == []
    cache = Stack(cfn, overrides).value(only(cfn, "AWS::CloudFront::CachePolicy")["Properties"]["CachePolicyConfig"])
    assert cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"] == value.split(",")
    config.build_config({config.TABLE_NAME: "t-123", config.HEADER_NAME: value})


@pytest.mark.parametrize(("value", "why"), BAD_HEADERS)
def test_version_headers_refused_before_anything_is_created(cfn: dict[str, Any], value: str, why: str) -> None:
    (error,) = parameter_errors(cfn, {"ApiVersionHeaderName": value})
    assert error.startswith("ApiVersionHeaderName:"), why


@pytest.mark.parametrize(("value", "why"), [bad for bad in BAD_HEADERS if re.fullmatch("[A-Za-z0-9-]+", bad[0])])
def test_every_header_the_template_refuses_is_refused_by_the_router(value: str, why: str) -> None:
    with pytest.raises(ConfigError):
        config.build_config({config.TABLE_NAME: "t-123", config.HEADER_NAME: value})


@pytest.mark.parametrize(
    "name",
    ["host", "via", "content-length", "transfer-encoding", "x-forwarded-for", "x-edge-x", "x-amz-cf-x", "a b", "a,b c"],
)
def test_every_header_the_router_refuses_is_refused_by_the_template(cfn: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError):
        config.build_config({config.TABLE_NAME: "t-123", config.HEADER_NAME: name})
    assert parameter_errors(cfn, {"ApiVersionHeaderName": name})
    assert parameter_errors(cfn, {"CanarySplitHeader": name})


def test_cache_key_is_the_version_headers_and_host_is_not_forwarded(cfn: dict[str, Any]) -> None:
    cache = only(cfn, "AWS::CloudFront::CachePolicy")["Properties"]["CachePolicyConfig"]
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert key["HeadersConfig"]["Headers"] == {"Fn::Split": [",", {"Ref": "ApiVersionHeaderName"}]}
    assert key["EnableAcceptEncodingGzip"] is key["EnableAcceptEncodingBrotli"] is True
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    assert cache["DefaultTTL"] == {"Ref": "CacheDefaultTTL"}
    assert cache["MaxTTL"] == {"Ref": "CacheMaxTTL"}
    assert cache["MinTTL"] == 0
    assert cfn["Parameters"]["CacheDefaultTTL"]["Default"] == 0
    assert min(cfn["Parameters"]["CacheMaxTTL"]["AllowedValues"]) >= 1  # headers in the key need caching on

    origin = only(cfn, "AWS::CloudFront::OriginRequestPolicy")["Properties"]["OriginRequestPolicyConfig"]
    assert origin["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["Host"]}
    assert origin["QueryStringsConfig"]["QueryStringBehavior"] == "all"

    chosen = behavior(cfn)
    assert chosen["CachePolicyId"] == {"Ref": "VersionCachePolicy"}
    assert chosen["OriginRequestPolicyId"] == {"Ref": "BackendOriginRequestPolicy"}
    assert "ForwardedValues" not in chosen
    assert chosen["ViewerProtocolPolicy"] == "redirect-to-https"


def test_default_ttl_above_max_ttl_is_refused_for_every_pair(cfn: dict[str, Any]) -> None:
    defaults = cfn["Parameters"]["CacheDefaultTTL"]["AllowedValues"]
    maxima = cfn["Parameters"]["CacheMaxTTL"]["AllowedValues"]
    assert set(maxima) == set(defaults) - {0}  # one ladder
    for default, maximum in itertools.product(defaults, maxima):
        errors = parameter_errors(cfn, {"CacheDefaultTTL": str(default), "CacheMaxTTL": str(maximum)})
        if default <= maximum:
            assert errors == [], (default, maximum)
        else:
            assert errors and all(e.startswith("CacheDefaultTTLWithinMaxTTL:") for e in errors), (default, maximum)


@pytest.mark.parametrize(("default", "maximum"), [("7", "86400"), ("0", "0"), ("0", "120"), ("-1", "60")])
def test_ttls_off_the_ladder_are_refused(cfn: dict[str, Any], default: str, maximum: str) -> None:
    assert parameter_errors(cfn, {"CacheDefaultTTL": default, "CacheMaxTTL": maximum})


def test_template_regexes_compile_as_cfn_lint_parses_them(cfn: dict[str, Any]) -> None:
    """cfn-lint reads AllowedPattern with Python's re: a global flag such as (?i) must open the pattern."""
    for name, spec in cfn["Parameters"].items():
        if "AllowedPattern" in spec:
            pattern = spec["AllowedPattern"]
            re.compile(pattern)
            assert "(?i)" not in pattern[4:], name
            assert re.fullmatch(pattern, str(spec["Default"])), f"{name}'s default does not match its pattern"


def _functions(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _functions(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _functions(value)


def test_rules_use_only_functions_cloudformation_allows_there(cfn: dict[str, Any]) -> None:
    allowed = {
        "Fn::And",
        "Fn::Contains",
        "Fn::EachMemberEquals",
        "Fn::EachMemberIn",
        "Fn::Equals",
        "Fn::Not",
        "Fn::Or",
        "Fn::RefAll",
        "Fn::ValueOf",
        "Fn::ValueOfAll",
        "Ref",
    }
    for rule in cfn["Rules"].values():
        used = set(_functions(rule.get("RuleCondition")))
        for assertion in rule["Assertions"]:
            used |= set(_functions(assertion["Assert"]))
        assert used <= allowed
    assert parameter_errors(cfn) == []  # the defaults deploy


# ------------------------------------------------------------------------------------------------ router settings
def test_distribution_carries_every_router_setting_on_its_origin(cfn: dict[str, Any]) -> None:
    dist = distribution(cfn)
    assert dist["HttpVersion"] == "http2and3"
    assert dist["PriceClass"] == {"Ref": "PriceClass"}
    (origin,) = dist["Origins"]
    assert origin["Id"] == behavior(cfn)["TargetOriginId"]
    assert ".execute-api." in origin["DomainName"]["Fn::Sub"]  # resolves in DNS
    everything_on = {"CanarySplitHeader": "X-Api-Key", "ClientHashKey": "k" * 32, "UsageMetrics": "true"}
    headers = origin_headers(cfn, everything_on)
    assert set(headers) == set(config.SETTINGS)
    assert headers[config.HEADER_NAME] == "Accept"
    assert headers[config.TABLE_NAME] == Stack(cfn).physical("ApiVersionMappingTable")


def test_default_settings_are_a_valid_router_configuration(cfn: dict[str, Any]) -> None:
    headers = origin_headers(cfn)
    router = config.build_config(headers)
    assert router.version_headers == ("accept",)
    assert router.regions == ("us-east-1",)
    assert router.cache_ttl == 300
    assert router.unknown_version_status == 403
    assert router.debug_events is False


def test_new_router_settings_and_their_omission(cfn: dict[str, Any]) -> None:
    defaults = origin_headers(cfn)
    assert "custom-apigw-canary-key" not in defaults  # empty: split by client IP; CloudFront refuses empty values
    assert defaults["custom-apigw-hash-key"] == STACK_ID.rsplit("/", 1)[1]  # the UUID part of the stack ID
    assert defaults["custom-apigw-metrics-namespace"] == f"EdgeRouter/{PSEUDO['AWS::StackName']}"
    assert defaults["custom-apigw-edge-default-ttl"] == "0"

    chosen = origin_headers(
        cfn,
        {
            "CanarySplitHeader": "X-Api-Key",
            "ClientHashKey": "s3cr3t-" * 4,
            "UsageMetrics": "false",
            "CacheDefaultTTL": "300",
            "CacheMaxTTL": "3600",
        },
    )
    assert chosen["custom-apigw-canary-key"] == "X-Api-Key"
    assert chosen["custom-apigw-hash-key"] == "s3cr3t-" * 4
    assert "custom-apigw-metrics-namespace" not in chosen
    assert chosen["custom-apigw-edge-default-ttl"] == "300"
    assert all(value != "" for value in {**defaults, **chosen}.values())
    assert cfn["Parameters"]["ClientHashKey"]["NoEcho"] is True


@pytest.mark.parametrize("key", ["", "k" * 16, "!#$%&'()*+,-./:;<=>?@[]^_`{|}~" + "a" * 8, "x" * 512])
def test_client_hash_keys_that_deploy(cfn: dict[str, Any], key: str) -> None:
    assert parameter_errors(cfn, {"ClientHashKey": key}) == []


@pytest.mark.parametrize("key", ["short", "k" * 15, "with a space here", "x" * 513, "tab\tkey-0123456789"])
def test_client_hash_keys_refused(cfn: dict[str, Any], key: str) -> None:
    assert parameter_errors(cfn, {"ClientHashKey": key})


@pytest.mark.parametrize("name", ["", "X-Api-Key", "Authorization", "x-client-id"])
def test_canary_split_headers_that_deploy(cfn: dict[str, Any], name: str) -> None:
    assert parameter_errors(cfn, {"CanarySplitHeader": name}) == []


@pytest.mark.parametrize("name", ["Cookie", "X-Edge-Key", "Host", "a,b", "API KEY", "custom-apigw-x", "x-real-ip"])
def test_canary_split_headers_refused(cfn: dict[str, Any], name: str) -> None:
    assert parameter_errors(cfn, {"CanarySplitHeader": name})


def test_origin_custom_headers_stay_within_cloudfront_quotas(cfn: dict[str, Any]) -> None:
    """At most 30 headers per origin, 1,783 characters a value, 10,240 for all names and values together."""
    (origin,) = distribution(cfn)["Origins"]
    entries = origin["OriginCustomHeaders"]
    assert len(entries) == 12 <= ORIGIN_CUSTOM_HEADER_QUOTA
    longest = {
        "ApiVersionHeaderName": ",".join(f"x-{i}".ljust(101, "x") for i in range(10)),
        "AllowedOriginSuffixes": "s" * HEADER_VALUE_LIMIT,
        "ClientHashKey": "k" * 512,
        "CanarySplitHeader": "c" * 200,
        "TableReplicaRegions": "ap-southeast-1,ap-southeast-2,ap-southeast-3,ap-southeast-4",
    }
    headers = origin_headers(cfn, longest)
    assert all(len(value) <= HEADER_VALUE_LIMIT for value in headers.values())
    assert sum(len(name) + len(value) for name, value in headers.items()) <= ALL_HEADERS_LIMIT


# ------------------------------------------------------------------------------------------------ the rest
def test_backends_share_one_rest_api_with_the_sample_paths(cfn: dict[str, Any]) -> None:
    (api,) = resources_of(cfn, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]
    for version in ("v1", "v2"):
        assert "get" in paths[f"/{version}/hello"]
        assert "x-amazon-apigateway-any-method" in paths[f"/{version}/{{proxy+}}"]
    (stage,) = resources_of(cfn, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "Prod"
    for name, text in (("HelloWorldFunctionV1", "v.1"), ("HelloWorldFunctionV2", "v.2")):
        props = cfn["Resources"][name]["Properties"]
        assert props["Handler"] == "app.lambda_handler"
        assert props["Environment"]["Variables"]["API_VER"] == text


def test_seeding_resource_gets_the_sample_rows_as_properties(cfn: dict[str, Any]) -> None:
    seed = cfn["Resources"]["SeedVersionMappings"]["Properties"]
    assert seed["TableName"] == {"Ref": "ApiVersionMappingTable"}
    assert [row["hk"] for row in seed["Mappings"]] == [
        {"Ref": "SampleApiVersionMappingV1"},
        {"Ref": "SampleApiVersionMappingV2"},
    ]
    assert [row["dp"] for row in seed["Mappings"]] == ["/Prod/v1", "/Prod/v2"]
    assert "Environment" not in cfn["Resources"]["InitDbFunction"]["Properties"]


def test_parameters_and_outputs_match_the_original_sample(cfn: dict[str, Any]) -> None:
    params = cfn["Parameters"]
    assert params["ApiVersionHeaderName"]["Default"] == "Accept"
    assert params["SampleApiVersionMappingV1"]["Default"] == "application/vnd.example.v1+json"
    assert params["SampleApiVersionMappingV2"]["Default"] == "application/vnd.example.v2+json"
    assert set(cfn["Outputs"]) >= {
        "HelloWorldApiV1",
        "HelloWorldApiV2",
        "LambdaEdgeFunctionRouteApiVersion",
        "CFDistribution",
        "DynamoDBTableName",
    }
    assert cfn["Outputs"]["CFDistribution"]["Value"] == {"Fn::GetAtt": ["CFDistribution", "DomainName"]}
    assert cfn["Outputs"]["EdgeRouterFunctionName"]["Value"] == {"Ref": "EdgeRouterFunction"}


def test_stack_refuses_regions_other_than_us_east_1(cfn: dict[str, Any]) -> None:
    rule = cfn["Rules"]["EdgeFunctionsLiveInUsEast1"]["Assertions"][0]["Assert"]
    assert rule == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


# ------------------------------------------------------------------------------------------------ samconfig.toml
def _overrides(text: str) -> dict[str, str]:
    """SAM's ``Key="value" Key2="value"`` form of parameter_overrides (what `sam deploy --guided` writes)."""
    pairs = [token.partition("=") for token in shlex.split(text)]
    assert all(sep == "=" for _, sep, _ in pairs)
    return {key: value for key, _, value in pairs}


def test_samconfig_deploys_to_us_east_1_without_prompts(cfn: dict[str, Any]) -> None:
    sam = tomllib.loads(SAMCONFIG.read_text())
    assert sam["version"] == 0.1
    common = sam["default"]["global"]["parameters"]
    deploy = sam["default"]["deploy"]["parameters"]
    assert common["region"] == "us-east-1"
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", common["stack_name"])
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    overrides = _overrides(deploy["parameter_overrides"])
    assert set(overrides) <= set(cfn["Parameters"])
    assert parameter_errors(cfn, overrides) == []
    # Left out on purpose: a secret, and a setting that must be off on the first create and then stay as set.
    assert not {"ClientHashKey", "TableDeletionProtection"} & set(overrides)
    assert "samconfig.toml" not in (ROOT / ".gitignore").read_text().split()


def test_check_template_without_a_sam_cli_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "sam"
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check-template.sh")],
        env={**os.environ, "SAM": str(missing)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"check-template: no SAM CLI at '{missing}': run 'make template' (it installs one in .venv-sam), or set SAM\n"
    )
