"""template.yaml, translated offline by aws-sam-translator, says what the issue requires.

The translation is what CloudFormation would deploy, so these assertions hold for the real stack. No AWS call is
made: the managed-policy map is empty (the template names no managed policy; SAM's default role ARN is built
without one) and the boto3 session only supplies the region name.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from edge_router import config

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
EDGE_TOKEN = "edgelambda.amazonaws.com"


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


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


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


def resolve(value: Any, source: dict[str, Any]) -> Any:
    """Evaluate the few intrinsics the header settings use, with parameter defaults (a deploy with no overrides)."""
    if isinstance(value, dict) and "Ref" in value:
        if value["Ref"] == "AWS::Region":
            return "us-east-1"
        if value["Ref"] == "ApiVersionMappingTable":
            return "stack-ApiVersionMappingTable-ABC123"
        parameter = source["Parameters"][value["Ref"]]
        default = str(parameter["Default"])
        return default.split(",") if parameter["Type"] == "CommaDelimitedList" else default
    if isinstance(value, dict) and "Fn::Split" in value:
        separator, text = value["Fn::Split"]
        return resolve(text, source).split(separator)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        resolved = resolve(items, source) if isinstance(items, dict) else [resolve(item, source) for item in items]
        return separator.join(resolved)
    return value


def behavior(cfn: dict[str, Any]) -> dict[str, Any]:
    dist = only(cfn, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    result: dict[str, Any] = dist["DefaultCacheBehavior"]
    return result


@pytest.mark.parametrize(
    ("event_type", "function"), [("origin-request", "EdgeRouterFunction"), ("origin-response", "EdgeResponseFunction")]
)
def test_edge_associations_use_numbered_versions(cfn: dict[str, Any], event_type: str, function: str) -> None:
    associations = {a["EventType"]: a for a in behavior(cfn)["LambdaFunctionAssociations"]}
    assert set(associations) == {"origin-request", "origin-response"}
    ref = associations[event_type]["LambdaFunctionARN"]["Ref"]
    version = cfn["Resources"][ref]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["FunctionName"] == {"Ref": function}


def test_edge_function_obeys_the_lambda_at_edge_rules(cfn: dict[str, Any]) -> None:
    edge = cfn["Resources"]["EdgeRouterFunction"]
    props = edge["Properties"]
    assert "Environment" not in props
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == "edge_router.handler.lambda_handler"
    assert props["Timeout"] <= 30
    for forbidden in ("Layers", "VpcConfig", "DeadLetterConfig", "TracingConfig"):
        assert forbidden not in props
    assert edge["DeletionPolicy"] == "Retain"


def test_edge_role_trusts_edgelambda_and_is_least_privilege(cfn: dict[str, Any]) -> None:
    role = cfn["Resources"]["EdgeRouterRole"]["Properties"]
    principals = {p for s in role["AssumeRolePolicyDocument"]["Statement"] for p in s["Principal"]["Service"]}
    assert principals == {"lambda.amazonaws.com", EDGE_TOKEN}
    assert "ManagedPolicyArns" not in role
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {s["Sid"]: s["Action"] for s in statements}
    assert actions["ReadMappingsInEveryReplicaRegion"] == "dynamodb:Scan"
    assert all("*" not in str(action) for action in actions.values())
    table_arn = next(s["Resource"] for s in statements if s["Sid"] == "ReadMappingsInEveryReplicaRegion")
    assert ":dynamodb:*:" in table_arn["Fn::Sub"]
    assert "${ApiVersionMappingTable}" in table_arn["Fn::Sub"]


def test_version_header_is_in_the_cache_key_and_host_is_not_forwarded(
    cfn: dict[str, Any], source: dict[str, Any]
) -> None:
    cache = only(cfn, "AWS::CloudFront::CachePolicy")["Properties"]["CachePolicyConfig"]
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert key["HeadersConfig"]["Headers"] == {"Fn::Split": [",", {"Ref": "ApiVersionHeaderName"}]}
    assert resolve(key["HeadersConfig"]["Headers"], source) == ["Accept"]
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    assert cache["DefaultTTL"] == {"Ref": "CacheDefaultTTL"}
    assert source["Parameters"]["CacheDefaultTTL"]["Default"] == 0
    assert source["Parameters"]["CacheMaxTTL"]["MinValue"] >= 1

    origin = only(cfn, "AWS::CloudFront::OriginRequestPolicy")["Properties"]["OriginRequestPolicyConfig"]
    assert origin["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["Host"]}
    assert origin["QueryStringsConfig"]["QueryStringBehavior"] == "all"

    chosen = behavior(cfn)
    assert chosen["CachePolicyId"] == {"Ref": "VersionCachePolicy"}
    assert chosen["OriginRequestPolicyId"] == {"Ref": "BackendOriginRequestPolicy"}
    assert "ForwardedValues" not in chosen
    assert chosen["ViewerProtocolPolicy"] == "redirect-to-https"


def test_distribution_carries_every_router_setting_on_its_origin(cfn: dict[str, Any]) -> None:
    dist = only(cfn, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    assert dist["HttpVersion"] == "http2and3"
    assert dist["PriceClass"] == {"Ref": "PriceClass"}
    (origin,) = dist["Origins"]
    assert origin["Id"] == behavior(cfn)["TargetOriginId"]
    assert ".execute-api." in origin["DomainName"]["Fn::Sub"]  # resolves in DNS
    headers = {h["HeaderName"]: h["HeaderValue"] for h in origin["OriginCustomHeaders"]}
    assert set(headers) == set(config.SETTINGS)
    assert headers[config.HEADER_NAME] == {"Ref": "ApiVersionHeaderName"}
    assert headers[config.TABLE_NAME] == {"Ref": "ApiVersionMappingTable"}


def test_default_settings_are_a_valid_router_configuration(cfn: dict[str, Any], source: dict[str, Any]) -> None:
    dist = only(cfn, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    settings = {h["HeaderName"]: resolve(h["HeaderValue"], source) for h in dist["Origins"][0]["OriginCustomHeaders"]}
    router = config.build_config(settings)
    assert router.version_headers == ("accept",)
    assert router.regions == ("us-east-1",)
    assert router.cache_ttl == 300
    assert router.unknown_version_status == 403
    assert router.debug_events is False


def test_mapping_table_is_a_protected_global_table_keyed_by_hk(cfn: dict[str, Any]) -> None:
    table = cfn["Resources"]["ApiVersionMappingTable"]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "hk", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    home = props["Replicas"][0]
    assert home["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    extra = [r["Fn::If"][1] for r in props["Replicas"][1:]]
    assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in extra)


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


def test_parameters_and_outputs_match_the_original_sample(cfn: dict[str, Any], source: dict[str, Any]) -> None:
    params = source["Parameters"]
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
