"""``edge-router mappings`` against DynamoDB over HTTP (embedded emulator): every command, the import diff,
optimistic locking with two writers, transactions of more than 100 rows, and the error cases."""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from edge_router.admin.diff import plan_import
from edge_router.admin.errors import ConflictError
from edge_router.admin.rows import MappingSpec
from edge_router.admin.table import MappingTable, PartialApplyError, TableTarget
from edge_router.cli import main
from edge_router.cli.errors import guarded
from edge_router.local.http import LoopbackServer, QuietHandler, send_simple

pytestmark = pytest.mark.functional

API = "abc123.execute-api.us-east-1.amazonaws.com"
NEW = "def456.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
SCRIPT = Path(sys.executable).with_name("edge-router")


@pytest.fixture
def base(dynamodb_endpoint: str, mapping_table: str) -> list[str]:
    return ["--table", mapping_table, "--region", "us-east-1", "--endpoint-url", dynamodb_endpoint]


@pytest.fixture
def target(dynamodb_endpoint: str, mapping_table: str) -> TableTarget:
    return TableTarget(mapping_table, "us-east-1", dynamodb_endpoint)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def raw_items(ddb_client: Any, table: str) -> dict[str, dict[str, Any]]:
    items = ddb_client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["hk"]["S"]: item for item in items}


def seed(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    for key, path in ((V1, "/Prod/v1"), (V2, "/Prod/v2")):
        assert cli(capsys, "mappings", "put", key, "--domain", API, "--path", path, "--as", "alice", *base)[0] == 0


def test_put_list_get(capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str) -> None:
    status, out, _ = cli(capsys, "mappings", "put", " Application/Vnd.Example.V1+JSON", "--domain", API.upper(),
                         "--path", "/Prod/v1", "--as", "alice", *base)  # fmt: skip
    assert status == 0
    assert out == f"added: {V1} -> {API}/Prod/v1 (revision 1)\n"
    item = raw_items(ddb_client, mapping_table)[V1]
    assert item["updated_by"] == {"S": "alice"}
    assert (
        abs(datetime.fromisoformat(item["updated_at"]["S"].replace("000Z", "+00:00")) - datetime.now(UTC)).seconds < 60
    )

    # The same version typed differently updates the same row: no duplicate the router would skip. Options not
    # given (here --path) keep the row's values.
    status, out, _ = cli(capsys, "mappings", "put", "application/vnd.example.V1+json", "--domain", NEW, *base)
    assert (status, out) == (0, f"updated: {V1} -> {NEW}/Prod/v1 (revision 2)\n")
    assert list(raw_items(ddb_client, mapping_table)) == [V1]
    assert cli(capsys, "mappings", "put", V1, "--domain", NEW, *base)[1].startswith("unchanged:")
    assert (
        cli(capsys, "mappings", "put", V1, "--path", "", "--as", "bob", *base)[1]
        == f"updated: {V1} -> {NEW} (revision 3)\n"
    )

    status, out, _ = cli(capsys, "mappings", "list", *base)
    header, row = out.splitlines()
    assert header.split() == ["KEY", "ORIGIN", "REV", "UPDATED", "BY"]
    assert row.split() == [V1, NEW, "3", datetime.now(UTC).strftime("%Y-%m-%d"), "bob"]
    assert header.index("ORIGIN") == row.index(NEW)

    listed = json.loads(cli(capsys, "mappings", "list", "--json", *base)[1])
    assert [(m["key"], m["domain"], m["path"], m["revision"], m["skipped"]) for m in listed] == [(V1, NEW, "", 3, None)]
    got = json.loads(cli(capsys, "mappings", "get", "APPLICATION/vnd.example.v1+json", "--json", *base)[1])
    assert got["key"] == V1 and got["updatedBy"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["v1", "--domain", "evil.example.com"], "outside the allowed origin suffixes"),
        (["v1", "--domain", API, "--path", "/Prod/"], "must start with '/'"),
        (["v1", "--domain", "127.0.0.1"], "must be a DNS name without a port, not an IP address"),
        (["v1", "--domain", f"https://{API}"], "must be a host name without a scheme (no https://)"),
        (["application/*", "--domain", API], "not a concrete media type"),
        (["v1", "--domain", API, "--deprecated-at", "2026-06-01+02:00"], "not an ISO 8601 date"),
        (["v1", "--domain", API, "--deprecated-at", "2026-06-01T12:00+02:00"], "has a UTC offset"),
        (
            ["v1", "--domain", API, "--deprecated-at", "2026-06-01", "--sunset-at", "2026-05-01"],
            "sunset_at must come after",
        ),
        (["v1", "--domain", API, "--successor", "V1"], "successor names the version itself"),
        (["v1", "--domain", API, "--info-url", "ftp://example.com/x"], "must be an absolute http(s) URL"),
        (["v1", "--domain", API, "--canary-domain", API, "--canary-percent", "12.345"], "more than two decimals"),
        (["v1", "--domain", API, "--canary-domain", API, "--canary-percent", "101"], "from 0 to 100"),
        (["v1", "--domain", API, "--canary-domain", "https://x.example", "--canary-percent", "5"], "canary: domain"),
    ],
)
def test_put_refuses_what_the_router_would_refuse(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str, args: list[str],
    message: str,
) -> None:  # fmt: skip
    status, out, err = cli(capsys, "mappings", "put", *args, *base)
    assert status == 1 and out == ""
    assert err.startswith("edge-router: error: refusing to write:") and message in err and err.count("\n") == 1
    assert raw_items(ddb_client, mapping_table) == {}


def test_put_with_allowed_suffix_and_local_origins(
    capsys: pytest.CaptureFixture[str], base: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "mappings", "put", "v1", "--domain", "api.example.com", "--allowed-suffix", "example.com",
               *base)[0] == 0  # fmt: skip
    monkeypatch.setenv("EDGE_ROUTER_ALLOWED_SUFFIXES", "example.org")
    assert cli(capsys, "mappings", "put", "v2", "--domain", "api.example.org", *base)[0] == 0
    # The table is on a loopback endpoint (the local stack's case): loopback origins are accepted, as it routes them.
    status, out, _ = cli(capsys, "mappings", "put", "v3", "--domain", "localhost:3001", "--path", "/Prod/v1", *base)
    assert (status, out) == (0, "added: v3 -> localhost:3001/Prod/v1 (revision 1)\n")
    assert cli(capsys, "mappings", "put", "v4", "--domain", "localhost", *base)[0] == 1  # a port is still required


def test_get_unknown_key(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, out, err = cli(capsys, "mappings", "get", "v9", *base)
    assert (status, out) == (1, "")
    assert err.startswith("edge-router: error: no mapping for key 'v9' in table") and err.count("\n") == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_delete_confirmation_and_guards(
    capsys: pytest.CaptureFixture[str], base: list[str], monkeypatch: pytest.MonkeyPatch, ddb_client: Any,
    mapping_table: str,
) -> None:  # fmt: skip
    seed(capsys, base)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli(capsys, "mappings", "delete", V1, *base)[:3:2] == (
        2,
        "edge-router: error: refusing to delete without --yes (not a terminal)\n",
    )
    monkeypatch.setattr(sys, "stdin", FakeTerminal("n\n"))
    assert cli(capsys, "mappings", "delete", V1, *base)[0] == 1
    monkeypatch.setattr(sys, "stdin", FakeTerminal("y\n"))
    status, out, _ = cli(capsys, "mappings", "delete", V1, *base)
    assert (status, out.splitlines()[-1]) == (0, f"deleted: {V1}")
    assert list(raw_items(ddb_client, mapping_table)) == [V2]

    status, _, err = cli(capsys, "mappings", "delete", V2, "--yes", *base)
    assert status == 1 and "it would delete the last mapping" in err and "--force" in err
    assert cli(capsys, "mappings", "delete", V2, "--yes", "--force", *base)[0] == 0
    assert raw_items(ddb_client, mapping_table) == {}


def test_delete_refuses_the_default_version_without_force(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    seed(capsys, base)
    ddb_client.update_item(TableName=mapping_table, Key={"hk": {"S": V1}}, UpdateExpression="SET is_default = :t",
                           ExpressionAttributeValues={":t": {"BOOL": True}})  # fmt: skip
    status, _, err = cli(capsys, "mappings", "delete", V1, "--yes", *base)
    assert status == 1 and f"'{V1}' is the default version" in err
    # put keeps the mark; export carries it
    assert cli(capsys, "mappings", "put", V1, "--domain", NEW, *base)[0] == 0
    assert raw_items(ddb_client, mapping_table)[V1]["is_default"] == {"BOOL": True}
    assert "default: true" in cli(capsys, "mappings", "export", *base)[1]
    assert cli(capsys, "mappings", "delete", V1, "--yes", "--force", *base)[0] == 0


def test_export_import_round_trip_diff_dry_run_and_prune(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path, ddb_client: Any, mapping_table: str
) -> None:
    seed(capsys, base)
    exported = tmp_path / "mappings.yaml"
    assert cli(capsys, "mappings", "export", str(exported), *base)[0] == 0
    document = yaml.safe_load(exported.read_text())
    assert document == {"mappings": [{"key": V1, "domain": API, "path": "/Prod/v1"},
                                     {"key": V2, "domain": API, "path": "/Prod/v2"}]}  # fmt: skip
    status, out, _ = cli(capsys, "mappings", "import", str(exported), *base)
    assert (status, out) == (0, "0 change(s): 0 added, 0 changed, 0 removed; 2 unchanged\n")

    document["mappings"] = [{"key": V2, "domain": NEW, "path": "/Stage/v2"}, {"key": "v3", "domain": API}]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    before = raw_items(ddb_client, mapping_table)
    status, out, _ = cli(capsys, "mappings", "import", str(edited), "--prune", "--dry-run", *base)
    assert status == 0
    assert out.splitlines() == [
        f"- {V1}  {API}/Prod/v1",
        f"~ {V2}  {API}/Prod/v2 -> {NEW}/Stage/v2",
        f"+ v3  {API}",
        "3 change(s): 1 added, 1 changed, 1 removed; 0 unchanged",
        "dry run: nothing written",
    ]
    assert raw_items(ddb_client, mapping_table) == before

    status, out, _ = cli(capsys, "mappings", "import", str(edited), "--as", "bob", *base)
    assert status == 0 and "1 row(s) not in the file kept" in out
    assert out.splitlines()[-1] == "applied 2 change(s) in 1 transaction(s)"
    items = raw_items(ddb_client, mapping_table)
    assert sorted(items) == [V1, V2, "v3"]
    assert items[V2]["dp"] == {"S": "/Stage/v2"} and items[V2]["revision"] == {"N": "2"}
    assert items["v3"]["updated_by"] == {"S": "bob"}

    assert cli(capsys, "mappings", "import", str(edited), "--prune", "--yes", *base)[0] == 0
    assert sorted(raw_items(ddb_client, mapping_table)) == [V2, "v3"]
    assert json.loads(cli(capsys, "mappings", "export", "--format", "json", *base)[1]) == document


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mappings:\n- {key: v1, domain: " + API + "}\n- {key: V1, domain: " + API + "}\n", "duplicate key 'v1'"),
        ("mappings:\n- {key: v1, domain: " + API + ", domain: " + NEW + "}\n", "duplicate key 'domain'"),
        ("mappings:\n- {key: v1, domain: " + API + "}\n- {key: v2, domain: evil.example.com}\n", "allowed origin"),
    ],
)
def test_import_of_a_bad_file_writes_nothing(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path, ddb_client: Any, mapping_table: str,
    text: str, message: str,
) -> None:  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    status, out, err = cli(capsys, "mappings", "import", str(path), *base)
    assert (status, out) == (1, "")
    assert message in err and err.count("\n") == 1
    assert raw_items(ddb_client, mapping_table) == {}
    status, _, err = cli(capsys, "mappings", "import", str(tmp_path / "absent.yaml"), *base)
    assert status == 1 and "cannot read" in err


def test_import_of_more_than_100_rows_uses_chunked_transactions(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path, ddb_client: Any, mapping_table: str
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"mappings": [{"key": f"v{n:03}", "domain": API} for n in range(250)]}))
    status, out, _ = cli(capsys, "mappings", "import", str(path), *base)
    assert status == 0, out
    assert out.splitlines()[-1] == "applied 250 change(s) in 3 transaction(s)"
    assert len(raw_items(ddb_client, mapping_table)) == 250


def test_a_failed_later_chunk_reports_exactly_what_was_applied(
    target: TableTarget, ddb_client: Any, mapping_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = MappingTable(target)
    specs = [MappingSpec(f"v{n:03}", API) for n in range(250)]
    plan = plan_import(table.rows(), specs, prune=False)
    MappingTable(target).put(MappingSpec("v220", NEW), actor="carol")  # another admin, after the diff was made
    with pytest.raises(PartialApplyError) as caught:
        table.apply(plan, actor="bob")
    error = caught.value
    assert error.applied == tuple(f"v{n:03}" for n in range(200))
    assert error.not_applied == tuple(f"v{n:03}" for n in range(200, 250))
    assert "transaction 3 of 3 failed, 200 change(s) applied, 50 not applied" in error.message
    assert "'v220'" in error.message
    items = raw_items(ddb_client, mapping_table)
    assert len(items) == 201 and items["v220"]["dn"] == {"S": NEW}


def test_two_writers_cannot_overwrite_each_other(target: TableTarget, ddb_client: Any, mapping_table: str) -> None:
    alice, bob = MappingTable(target), MappingTable(target)
    alice.put(MappingSpec("v1", API, "/Prod/v1"), actor="alice")
    stale = bob.rows()
    alice.put(MappingSpec("v1", API, "/Prod/v1b"), actor="alice")
    with pytest.raises(ConflictError, match=r"'v1' was changed by alice at .* \(now revision 2\)"):
        bob.put(MappingSpec("v1", NEW, "/Prod/v1"), actor="bob", rows=stale)  # bob read before alice's 2nd write
    with pytest.raises(ConflictError):
        bob.delete(stale[0])
    assert raw_items(ddb_client, mapping_table)["v1"]["dp"] == {"S": "/Prod/v1b"}


def test_rows_without_revision_are_locked_too(target: TableTarget, ddb_client: Any, mapping_table: str) -> None:
    ddb_client.put_item(TableName=mapping_table, Item={"hk": {"S": "v1"}, "dn": {"S": API}})  # the original sample
    alice, bob = MappingTable(target), MappingTable(target)
    stale = bob.rows()
    assert stale[0].revision is None
    alice.put(MappingSpec("v1", API, "/a"), actor="alice")
    with pytest.raises(ConflictError):
        bob.put(MappingSpec("v1", API, "/b"), actor="bob", rows=stale)
    assert raw_items(ddb_client, mapping_table)["v1"]["dp"] == {"S": "/a"}


def test_if_revision_on_the_command_line(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    seed(capsys, base)
    assert cli(capsys, "mappings", "put", V1, "--domain", NEW, "--if-revision", "1", *base)[0] == 0
    status, _, err = cli(capsys, "mappings", "put", V1, "--domain", API, "--if-revision", "1", *base)
    assert status == 1 and "not at revision 1 (revision 2)" in err
    status, _, err = cli(capsys, "mappings", "delete", V1, "--yes", "--if-revision", "1", *base)
    assert status == 1 and "mapping 'application/vnd.example.v1+json' is not at revision 1 (revision 2)" in err
    assert cli(capsys, "mappings", "delete", V1, "--yes", "--if-revision", "2", *base)[0] == 0


def test_delete_with_an_expected_revision_refuses_another_one(target: TableTarget) -> None:
    table = MappingTable(target)
    row, _ = table.put(MappingSpec("v1", API), actor="alice")
    with pytest.raises(ConflictError, match=r"mapping 'v1' is not at revision 7 \(revision 1\); re-read it"):
        table.delete(row, expected_revision=7)
    table.delete(row, expected_revision=1)
    assert table.rows() == []


def test_import_conflict_in_the_only_chunk_writes_nothing(target: TableTarget, ddb_client: Any) -> None:
    table = MappingTable(target)
    table.put(MappingSpec("v1", API), actor="alice")
    plan = plan_import(table.rows(), [MappingSpec("v1", NEW), MappingSpec("v2", API)], prune=False)
    table.put(MappingSpec("v1", API, "/x"), actor="carol")
    with pytest.raises(ConflictError, match="'v1'; nothing in this transaction was written"):
        table.apply(plan, actor="bob")
    assert [row.key for row in table.rows()] == ["v1"]


def test_missing_table_and_missing_options(capsys: pytest.CaptureFixture[str], dynamodb_endpoint: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    status, _, err = cli(capsys, "mappings", "list", "--table", "absent", "--region", "eu-west-1",
                         "--endpoint-url", dynamodb_endpoint)  # fmt: skip
    assert status == 1
    assert err == f"edge-router: error: table 'absent' in region eu-west-1 at {dynamodb_endpoint} not found\n"
    monkeypatch.delenv("EDGE_ROUTER_TABLE", raising=False)
    status, _, err = cli(capsys, "mappings", "list", "--region", "eu-west-1")
    assert status == 2 and "no table" in err


def test_stack_output_names_the_table(
    capsys: pytest.CaptureFixture[str], dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch, base: list[str],
    mapping_table: str,
) -> None:  # fmt: skip
    seed(capsys, base)
    cloudformation = boto3.client("cloudformation", endpoint_url=dynamodb_endpoint, region_name="us-east-1")
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"DynamoDBTableName": {"Value": mapping_table}},
    }
    cloudformation.create_stack(StackName=f"edge-{mapping_table}", TemplateBody=json.dumps(template))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", dynamodb_endpoint)
    args = ["--region", "us-east-1", "--endpoint-url", dynamodb_endpoint]
    status, out, _ = cli(capsys, "mappings", "get", V2, "--stack", f"edge-{mapping_table}", *args)
    assert status == 0 and V2 in out
    status, _, err = cli(capsys, "mappings", "list", "--stack", "no-such-stack", *args)
    assert status == 1 and err.startswith("edge-router: error: stack 'no-such-stack':")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A listening socket that never accepts or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("port_fixture", ["closed_port", "blackhole_port"])
def test_unreachable_endpoint_fails_fast_with_one_line(
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, port_fixture: str
) -> None:
    endpoint = f"http://127.0.0.1:{request.getfixturevalue(port_fixture)}"
    started = time.monotonic()
    status, out, err = cli(capsys, "mappings", "list", "--table", f"t-{port_fixture}", "--region", "us-east-1",
                           "--endpoint-url", endpoint, "--timeout", "0.3")  # fmt: skip
    assert time.monotonic() - started < 5
    assert (status, out) == (1, "")
    assert err.startswith(f"edge-router: error: cannot reach {endpoint}:") and err.count("\n") == 1


def console(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=30, check=False)


def test_console_script_errors_are_one_line_without_traceback(
    dynamodb_endpoint: str, mapping_table: str, tmp_path: Path
) -> None:
    if not SCRIPT.exists():
        pytest.skip("console script not installed (pip install -e .)")
    no_credentials = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "EDGE_ROUTER_TABLE": mapping_table,
    }
    # AWS's own endpoint: botocore needs credentials to sign before it sends anything.
    result = console("mappings", "list", env=no_credentials)
    assert result.returncode == 1
    assert (
        result.stderr
        == "edge-router: error: no AWS credentials found: set AWS_PROFILE (or --profile) or AWS_ACCESS_KEY_ID\n"
    )
    # A loopback endpoint (the local stack, DynamoDB Local) needs none: the tool supplies dummy ones.
    local = {**no_credentials, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint}
    result = console("mappings", "put", "v1", "--domain", "evil.example.com", env=local)
    assert result.returncode == 1 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    result = console("mappings", "list", "--json", env=local)
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")


def test_a_partial_import_is_reported_key_by_key_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    def failing(_args: argparse.Namespace) -> int:
        raise PartialApplyError("conflict on 'v3'", ["v1", "v2"], ["v3"], chunk=2, chunks=2)

    args = argparse.Namespace(file="m.yaml", command_line=["edge-router", "mappings", "import", "m.yaml"])
    assert guarded(failing)(args) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "edge-router: error: transaction 2 of 2 failed, 2 change(s) applied, 1 not applied: conflict on 'v3'",
        "  applied: v1",
        "  applied: v2",
        "  not applied: v3",
        "Running the same import again is safe: it compares the file with the table again and writes only what is "
        "still different (what was written shows as unchanged). To finish, run:",
        "  edge-router mappings import m.yaml",
    ]


# --- lifecycle and canary on put ----------------------------------------------------------------------------------


def test_put_lifecycle_and_canary_options_keep_what_is_not_given(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    seed(capsys, base)
    lifecycle = ["--deprecated-at", "2026-06-01", "--sunset-at", "2099-12-01T12:30", "--successor", V2.upper()]
    status, out, _ = cli(capsys, "mappings", "put", V1, *lifecycle, "--info-url", "https://example.com/v1", *base)
    assert status == 0
    assert out == (
        f"updated: {V1} -> {API}/Prod/v1 (revision 2; deprecated 2026-06-01, sunset 2099-12-01T12:30Z, "
        f"successor {V2})\n"
    )
    item = raw_items(ddb_client, mapping_table)[V1]
    assert (item["dn"], item["dp"]) == ({"S": API}, {"S": "/Prod/v1"})
    assert (item["deprecated_at"], item["sunset_at"]) == ({"S": "2026-06-01T00:00:00Z"}, {"S": "2099-12-01T12:30:00Z"})
    assert (item["successor"], item["info_url"]) == ({"S": V2}, {"S": "https://example.com/v1"})

    status, out, _ = cli(capsys, "mappings", "put", V2, "--canary-domain", NEW, "--canary-path", "/Canary",
                         "--canary-percent", "12.5", "--default", *base)  # fmt: skip
    assert (status, out) == (0, f"updated: {V2} -> {API}/Prod/v2 (revision 2; default, canary 12.5% -> {NEW}/Canary)\n")
    item = raw_items(ddb_client, mapping_table)[V2]
    assert (item["canary_dn"], item["canary_dp"], item["canary_percent"]) == (
        {"S": NEW},
        {"S": "/Canary"},
        {"N": "12.5"},
    )
    assert item["is_default"] == {"BOOL": True}

    # one option changes one thing; '' clears one attribute; the --no-* options clear a group
    assert cli(capsys, "mappings", "put", V2, "--canary-percent", "20", *base)[1].endswith(
        f"canary 20% -> {NEW}/Canary)\n"
    )
    assert raw_items(ddb_client, mapping_table)[V2]["canary_percent"] == {"N": "20"}
    assert cli(capsys, "mappings", "put", V2, "--canary-path", "", *base)[0] == 0
    assert "canary_dp" not in raw_items(ddb_client, mapping_table)[V2]
    assert cli(capsys, "mappings", "put", V1, "--info-url", "", *base)[0] == 0
    assert "info_url" not in raw_items(ddb_client, mapping_table)[V1]
    assert (
        cli(capsys, "mappings", "put", V2, "--no-canary", *base)[1]
        == f"updated: {V2} -> {API}/Prod/v2 (revision 5; default)\n"
    )
    assert (
        cli(capsys, "mappings", "put", V1, "--no-deprecation", *base)[1]
        == f"updated: {V1} -> {API}/Prod/v1 (revision 4)\n"
    )
    assert set(raw_items(ddb_client, mapping_table)[V1]) == {"hk", "dn", "dp", "updated_by", "updated_at", "revision"}
    assert (
        cli(capsys, "mappings", "put", V2, "--no-default", *base)[1] == f"updated: {V2} -> {API}/Prod/v2 (revision 6)\n"
    )
    assert "is_default" not in raw_items(ddb_client, mapping_table)[V2]

    status, _, err = cli(capsys, "mappings", "put", V1, "--canary-percent", "5", *base)
    assert (status, err) == (2, "edge-router: error: a canary needs a domain and a percent (--canary-domain, "
                                "--canary-percent)\n")  # fmt: skip
    status, _, err = cli(capsys, "mappings", "put", "v9", "--path", "/x", *base)
    assert status == 2 and "there is no mapping 'v9' yet: pass --domain" in err


def test_only_one_default_and_the_move(capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any,
                                      mapping_table: str, tmp_path: Path) -> None:  # fmt: skip
    seed(capsys, base)
    assert cli(capsys, "mappings", "put", V1, "--default", *base)[0] == 0
    status, out, err = cli(capsys, "mappings", "put", V2, "--default", *base)
    assert (status, out) == (1, "")
    assert err == (
        f"edge-router: error: refusing to write: '{V1}' is already the default version, so '{V2}' cannot be one too: "
        f"move the mark with 'mappings put {V1} --no-default', then 'mappings put {V2} --default', or do both in one "
        "import\n"
    )
    assert "is_default" not in raw_items(ddb_client, mapping_table)[V2]
    # the move in one atomic import: the diff shows both marks
    moved = tmp_path / "moved.yaml"
    moved.write_text(f"mappings:\n- {{key: {V1}, domain: {API}, path: /Prod/v1}}\n"
                     f"- {{key: {V2}, domain: {API}, path: /Prod/v2, default: true}}\n")  # fmt: skip
    status, out, _ = cli(capsys, "mappings", "import", str(moved), *base)
    assert status == 0
    assert out.splitlines()[:2] == [f"~ {V1}  default: yes -> no", f"~ {V2}  default: no -> yes"]
    items = raw_items(ddb_client, mapping_table)
    assert "is_default" not in items[V1] and items[V2]["is_default"] == {"BOOL": True}
    # a file that makes another row the default while the current one is kept (no --prune) is refused whole
    other = tmp_path / "other.yaml"
    other.write_text(f"mappings:\n- {{key: v3, domain: {API}, default: true}}\n")
    status, _, err = cli(capsys, "mappings", "import", str(other), *base)
    assert status == 1 and f"'{V2}' is already the default version, so 'v3' cannot be one too" in err
    assert "v3" not in raw_items(ddb_client, mapping_table)


def test_successors_and_sunsets_that_the_router_could_not_honour_are_refused(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    seed(capsys, base)
    status, _, err = cli(capsys, "mappings", "put", V1, "--successor", "v9", *base)
    assert status == 1 and "the successor of 'application/vnd.example.v1+json', 'v9', is not a mapping" in err
    assert cli(capsys, "mappings", "put", V2, "--sunset-at", "2020-01-01", *base)[0] == 0  # retiring v2: allowed
    status, _, err = cli(capsys, "mappings", "put", V1, "--successor", V2, *base)
    assert status == 1 and f"'{V2}', is itself past its sunset (2020-01-01T00:00:00Z)" in err
    status, _, err = cli(capsys, "mappings", "put", V2, "--default", *base)
    assert status == 1 and f"'{V2}' is past its sunset (2020-01-01T00:00:00Z), so it cannot be the default" in err
    assert cli(capsys, "mappings", "put", V2, "--sunset-at", "", "--default", *base)[0] == 0
    assert cli(capsys, "mappings", "put", V1, "--successor", V2, *base)[0] == 0
    status, _, err = cli(capsys, "mappings", "delete", V2, "--yes", *base)
    assert status == 1 and f"'{V2}' is the successor of '{V1}'" in err and f"'{V2}' is the default version" in err


def test_list_get_export_and_import_carry_every_field(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path
) -> None:
    seed(capsys, base)
    cli(capsys, "mappings", "put", V1, "--deprecated-at", "2026-06-01", "--sunset-at", "2099-01-01", "--successor",
        V2, "--info-url", "https://example.com/v1", "--as", "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        *base)  # fmt: skip
    cli(capsys, "mappings", "put", V2, "--default", "--canary-domain", NEW, "--canary-percent", "0.5", *base)
    lines = cli(capsys, "mappings", "list", *base)[1].splitlines()
    assert lines[1].split()[:3] == [V1, f"{API}/Prod/v1", "2"] and lines[1].endswith(" .../Admin/alice")
    assert lines[2] == f"    deprecated 2026-06-01, sunset 2099-01-01, successor {V2}"
    assert lines[4] == f"    default, canary 0.5% -> {NEW}"
    assert max(map(len, lines)) <= 120
    listed = {entry["key"]: entry for entry in json.loads(cli(capsys, "mappings", "list", "--json", *base)[1])}
    assert listed[V1]["updatedBy"] == "arn:aws:sts::123456789012:assumed-role/Admin/alice"
    assert (listed[V1]["deprecatedAt"], listed[V1]["sunsetAt"]) == ("2026-06-01T00:00:00Z", "2099-01-01T00:00:00Z")
    assert listed[V2]["canary"] == {"domain": NEW, "path": "", "percent": 0.5} and listed[V2]["default"] is True
    detail = cli(capsys, "mappings", "get", V1, *base)[1]
    assert "updated     " in detail and "by arn:aws:sts::123456789012:assumed-role/Admin/alice" in detail

    for name in ("all.yaml", "all.json"):
        exported = tmp_path / name
        assert cli(capsys, "mappings", "export", str(exported), *base)[0] == 0
        status, out, _ = cli(capsys, "mappings", "import", str(exported), *base)
        assert (status, out) == (0, "0 change(s): 0 added, 0 changed, 0 removed; 2 unchanged\n")
    text = (
        (tmp_path / "all.yaml").read_text().replace("percent: 0.5", "percent: 25").replace("2099-01-01", "2098-01-01")
    )
    (tmp_path / "edited.yaml").write_text(text)
    status, out, _ = cli(capsys, "mappings", "import", str(tmp_path / "edited.yaml"), "--dry-run", *base)
    assert out.splitlines() == [
        f"~ {V1}  sunsetAt: 2099-01-01T00:00:00Z -> 2098-01-01T00:00:00Z",
        f"~ {V2}  canary: 0.5% -> {NEW} -> 25% -> {NEW}",
        "2 change(s): 0 added, 2 changed, 0 removed; 0 unchanged",
        "dry run: nothing written",
    ]


# --- every way of deleting is guarded ----------------------------------------------------------------------------


def test_an_import_that_deletes_everything_is_refused_then_confirmed(
    capsys: pytest.CaptureFixture[str], base: list[str], tmp_path: Path, ddb_client: Any, mapping_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seed(capsys, base)
    cli(capsys, "mappings", "put", V1, "--default", *base)
    empty = tmp_path / "empty.yaml"
    empty.write_text("mappings: []\n")
    status, out, err = cli(capsys, "mappings", "import", str(empty), "--prune", *base)
    assert status == 1
    assert out.splitlines()[-1] == "2 change(s): 0 added, 0 changed, 2 removed; 0 unchanged"
    assert err == (
        "edge-router: error: refusing to import: it would delete every mapping, and the router would then refuse "
        f"every request; '{V1}' is the default version; pass --force to delete anyway\n"
    )
    assert len(raw_items(ddb_client, mapping_table)) == 2
    # --force gets past the guards, but a destructive import still asks, like delete
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    status, _, err = cli(capsys, "mappings", "import", str(empty), "--prune", "--force", *base)
    assert (status, err) == (2, "edge-router: error: refusing to delete 2 row(s) without --yes (not a terminal)\n")
    monkeypatch.setattr(sys, "stdin", FakeTerminal("n\n"))
    status, out, err = cli(capsys, "mappings", "import", str(empty), "--prune", "--force", *base)
    assert status == 1 and out.startswith(f"- {V1}") and err.endswith("[y/N] nothing written\n")
    assert "deleting 2 row(s)?" in err
    assert len(raw_items(ddb_client, mapping_table)) == 2
    monkeypatch.setattr(sys, "stdin", FakeTerminal("y\n"))
    status, out, _ = cli(capsys, "mappings", "import", str(empty), "--prune", "--force", *base)
    assert (status, out.splitlines()[-1]) == (0, "applied 2 change(s) in 1 transaction(s)")
    assert raw_items(ddb_client, mapping_table) == {}


def test_deleting_through_import_from_standard_input_needs_yes(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seed(capsys, base)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"mappings: [{{key: {V2}, domain: {API}, path: /Prod/v2}}]"))
    status, _, err = cli(capsys, "mappings", "import", "-", "--prune", *base)
    assert status == 2 and "the file came from standard input, so there is no one to ask: pass --yes" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"mappings: [{{key: {V2}, domain: {API}, path: /Prod/v2}}]"))
    assert cli(capsys, "mappings", "import", "-", "--prune", "--yes", *base)[0] == 0
    assert list(raw_items(ddb_client, mapping_table)) == [V2]


# --- idempotent imports through a DynamoDB that loses answers ---------------------------------------------------


class FlakyDynamoDB:
    """A proxy in front of the emulator that can lose TransactWriteItems answers, as a network can.

    ``drop``: forward the transaction (it commits) and close the connection without an answer, that many times.
    ``swallow``: from that transaction on (1-based), never forward and never answer (the client times out).
    Every transaction's ``ClientRequestToken`` is recorded in order.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.drop = 0
        self.swallow: int | None = None
        self.tokens: list[str] = []
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target", "").endswith(".TransactWriteItems"):
                    proxy.tokens.append(json.loads(body).get("ClientRequestToken", ""))
                    if proxy.swallow is not None and len(proxy.tokens) >= proxy.swallow:
                        time.sleep(1.0)
                        self.close_connection = True
                        return
                    if proxy.drop:
                        proxy.drop -= 1
                        requests.post(proxy.upstream, data=body, headers=dict(self.headers), timeout=10)
                        self.close_connection = True
                        return
                answer = requests.post(proxy.upstream, data=body, headers=dict(self.headers), timeout=10)
                send_simple(self, answer.status_code, [("Content-Type", answer.headers["Content-Type"])],
                            answer.content)  # fmt: skip

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyDynamoDB:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(dynamodb_endpoint: str) -> Iterator[FlakyDynamoDB]:
    with FlakyDynamoDB(dynamodb_endpoint) as proxy:
        yield proxy


def test_a_transaction_whose_answer_was_lost_is_retried_with_its_token_and_reported_applied(
    capsys: pytest.CaptureFixture[str], flaky: FlakyDynamoDB, mapping_table: str, tmp_path: Path, ddb_client: Any
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"mappings": [{"key": f"v{n:03}", "domain": API} for n in range(150)]}))
    flaky.drop = 1  # the first chunk commits, and its answer never arrives
    status, out, err = cli(capsys, "mappings", "import", str(path), "--table", mapping_table, "--region",
                           "us-east-1", "--endpoint-url", flaky.url, "--timeout", "2")  # fmt: skip
    assert (status, err) == (0, "")
    assert out.splitlines()[-1] == "applied 150 change(s) in 2 transaction(s)"
    first, retry, second = flaky.tokens
    assert first == retry != second and len(first) == 36  # the retry is the same request under the same token
    items = raw_items(ddb_client, mapping_table)
    assert len(items) == 150 and {item["revision"]["N"] for item in items.values()} == {"1"}


def test_an_unknown_outcome_is_reported_as_unknown_and_the_same_import_finishes_the_job(
    capsys: pytest.CaptureFixture[str], flaky: FlakyDynamoDB, mapping_table: str, tmp_path: Path, ddb_client: Any
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"mappings": [{"key": f"v{n:03}", "domain": API} for n in range(250)]}))
    command = ["mappings", "import", str(path), "--table", mapping_table, "--region", "us-east-1",
               "--endpoint-url", flaky.url, "--timeout", "0.5"]  # fmt: skip
    flaky.swallow = 2  # the second chunk's transaction never gets an answer
    status, out, err = cli(capsys, *command)
    assert status == 1 and out.splitlines()[-1].startswith("250 change(s): 250 added")
    lines = err.splitlines()
    assert lines[0].startswith(
        "edge-router: error: transaction 2 of 3 did not finish, 100 change(s) applied, 100 unknown, 50 not applied: "
        "outcome unknown after 3 attempt(s): cannot reach"
    )
    assert lines[1:101] == [f"  applied: v{n:03}" for n in range(100)]
    assert lines[101:201] == [f"  unknown: v{n:03}" for n in range(100, 200)]
    assert lines[201:251] == [f"  not applied: v{n:03}" for n in range(200, 250)]
    assert "may or may not have written the 'unknown' changes" in lines[251]
    assert lines[-1] == "  " + shlex.join(["edge-router", *command])
    assert len(set(flaky.tokens[1:])) == 1 and len(flaky.tokens) == 4  # chunk 2: three attempts, one token
    assert len(raw_items(ddb_client, mapping_table)) == 100

    flaky.swallow = None  # the network is back: the printed command, run again, is safe and finishes the job
    status, out, _ = cli(capsys, *shlex.split(lines[-1])[1:])
    assert status == 0
    assert out.splitlines()[-2:] == [
        "150 change(s): 150 added, 0 changed, 0 removed; 100 unchanged",
        "applied 150 change(s) in 2 transaction(s)",
    ]
    assert len(raw_items(ddb_client, mapping_table)) == 250
    status, out, _ = cli(capsys, *command)
    assert (status, out) == (0, "0 change(s): 0 added, 0 changed, 0 removed; 250 unchanged\n")
