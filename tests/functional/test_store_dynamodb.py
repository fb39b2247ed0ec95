"""The router and its DynamoDB reader against DynamoDB over real HTTP (embedded emulator): pagination past 1 MB,
unchanged pages, TTL, single-flight, stale-if-error, signatures checked by the emulator with credentials from the
environment, timeouts against endpoints that refuse or never answer, and replica failover."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.core.authorization import enable_iam_authentication

from edge_router import config
from edge_router.config import RouterConfig
from edge_router.errors import StoreUnavailableError
from edge_router.local.dynamodb import EmbeddedDynamoDB, create_mapping_table, dynamodb_client, use_local_credentials
from edge_router.log import JsonLogger
from edge_router.router import Router
from edge_router.store import DynamoMappingStore, TableRead
from tests.helpers import API, SETTINGS, V1, V2, FakeClock, event

pytestmark = pytest.mark.functional


def put_rows(endpoint: str, table: str, rows: list[dict[str, str]], region: str = "us-east-1") -> None:
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=region)
    with resource.Table(table).batch_writer() as batch:
        for row in rows:
            batch.put_item(Item=row)


def sample_rows() -> list[dict[str, str]]:
    return [{"hk": V1, "dn": API, "dp": "/Prod/v1"}, {"hk": V2, "dn": API, "dp": "/Prod/v2"}]


class CountingStore:
    """Wraps the real store to count how many times the table is scanned."""

    def __init__(self, inner: DynamoMappingStore) -> None:
        self.inner = inner
        self.reads = 0

    @property
    def clock(self) -> Callable[[], float]:
        return self.inner.clock

    def read_all(self, *, deadline: float) -> TableRead:
        self.reads += 1
        return self.inner.read_all(deadline=deadline)


def make_router(
    endpoint: str, clock: FakeClock | None = None, **options: Any
) -> tuple[Router, list[CountingStore], io.StringIO]:
    stores: list[CountingStore] = []
    log = io.StringIO()

    def factory(cfg: RouterConfig, regions: tuple[str, ...]) -> CountingStore:
        store = CountingStore(DynamoMappingStore(cfg.table_name, regions, endpoint))
        stores.append(store)
        return store

    router = Router(clock=clock or FakeClock(), logger=JsonLogger(log), store_factory=factory, **options)
    return router, stores, log


def settings_for(table: str, **extra: str) -> dict[str, str]:
    return {**SETTINGS, config.TABLE_NAME: table, **extra}


def path_of(result: dict[str, Any]) -> str:
    return str(result["origin"]["custom"]["path"]) if "origin" in result else str(result["status"])


def test_scan_reads_every_page(dynamodb_endpoint: str, mapping_table: str) -> None:
    padding = "p" * 1000
    rows = [{"hk": f"v{n}", "dn": API, "dp": f"/Prod/v{n}", "note": padding} for n in range(1500)]
    put_rows(dynamodb_endpoint, mapping_table, rows)  # about 1.5 MB: more than one 1 MB scan page
    store = DynamoMappingStore(mapping_table, ("us-east-1",), dynamodb_endpoint)
    read = store.read_all(deadline=time.monotonic() + 30)
    assert read.region == "us-east-1" and len(read.rows) == 1500 and read.pages >= 2
    assert {row["hk"] for row in read.rows} == {f"v{n}" for n in range(1500)}
    router, _, _ = make_router(dynamodb_endpoint)
    result = router.handle(event([("APIVER", "V1499")], settings_for(mapping_table, **{config.HEADER_NAME: "APIVER"})))
    assert path_of(result) == "/Prod/v1499"


def test_unchanged_pages_are_detected_and_a_change_is_read(dynamodb_endpoint: str, mapping_table: str) -> None:
    put_rows(
        dynamodb_endpoint,
        mapping_table,
        [{"hk": f"v{n}", "dn": API, "dp": "/Prod/v1", "note": "p" * 900} for n in range(1200)],
    )
    store = DynamoMappingStore(mapping_table, ("us-east-1",), dynamodb_endpoint)
    first = store.read_all(deadline=time.monotonic() + 30)
    second = store.read_all(deadline=time.monotonic() + 30)
    assert first.pages >= 2 and not first.unchanged
    assert second.unchanged and second.rows is first.rows
    put_rows(dynamodb_endpoint, mapping_table, [{"hk": "v7", "dn": API, "dp": "/Prod/v2", "note": "changed"}])
    third = store.read_all(deadline=time.monotonic() + 30)
    assert not third.unchanged and {row["hk"]: row["dp"] for row in third.rows}["v7"] == "/Prod/v2"


def test_an_unchanged_table_keeps_the_snapshot(dynamodb_endpoint: str, mapping_table: str) -> None:
    put_rows(dynamodb_endpoint, mapping_table, sample_rows())
    clock = FakeClock()
    router, stores, log = make_router(dynamodb_endpoint, clock)
    settings = settings_for(mapping_table, **{config.CACHE_TTL: "60"})
    assert path_of(router.handle(event([("Accept", V1)], settings))) == "/Prod/v1"
    clock.now += 61
    assert path_of(router.handle(event([("Accept", V2)], settings))) == "/Prod/v2"
    loaded = [json.loads(line) for line in log.getvalue().splitlines() if '"mappings loaded"' in line]
    assert [line["unchanged"] for line in loaded] == [False, True] and stores[0].reads == 2


def test_ttl_expiry_picks_up_admin_changes(dynamodb_endpoint: str, mapping_table: str) -> None:
    put_rows(dynamodb_endpoint, mapping_table, sample_rows())
    clock = FakeClock()
    router, stores, _ = make_router(dynamodb_endpoint, clock)
    settings = settings_for(mapping_table, **{config.CACHE_TTL: "60"})
    v3 = "application/vnd.example.v3+json"
    assert path_of(router.handle(event([("Accept", V1)], settings))) == "/Prod/v1"
    put_rows(dynamodb_endpoint, mapping_table, [{"hk": v3, "dn": API, "dp": "/Prod/v3"}])
    clock.now += 59
    assert path_of(router.handle(event([("Accept", v3)], settings))) == "403"
    clock.now += 2
    assert path_of(router.handle(event([("Accept", v3)], settings))) == "/Prod/v3"
    assert stores[0].reads == 2


def test_concurrent_cold_requests_scan_once(dynamodb_endpoint: str, mapping_table: str) -> None:
    put_rows(dynamodb_endpoint, mapping_table, sample_rows())
    router, stores, _ = make_router(dynamodb_endpoint)
    settings = settings_for(mapping_table)
    results: list[str] = []
    barrier = threading.Barrier(16)

    def call() -> None:
        barrier.wait()
        results.append(path_of(router.handle(event([("Accept", V2)], settings))))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["/Prod/v2"] * 16
    assert sum(store.reads for store in stores) == 1


def test_stale_if_error_when_dynamodb_goes_away() -> None:
    use_local_credentials()  # the embedded DynamoDB accepts any
    with EmbeddedDynamoDB() as server:
        client = dynamodb_client(server.endpoint_url)
        create_mapping_table(client, "outage-table")
        put_rows(server.endpoint_url, "outage-table", sample_rows())
        clock = FakeClock()
        router, _, log = make_router(server.endpoint_url, clock)
        settings = settings_for("outage-table", **{config.CACHE_TTL: "10", config.MAX_STALE: "100"})
        assert path_of(router.handle(event([("Accept", V1)], settings))) == "/Prod/v1"
    clock.now += 50  # expired, within the staleness allowance; the server is gone
    assert path_of(router.handle(event([("Accept", V1)], settings))) == "/Prod/v1"
    assert '"cache":"stale"' in log.getvalue()
    clock.now += 100  # beyond it
    result = router.handle(event([("Accept", V1)], settings))
    assert result["status"] == "503" and "retry-after" in result["headers"]


@pytest.fixture
def blackhole() -> Iterator[str]:
    """An endpoint that accepts TCP connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture
def refusing() -> str:
    """An endpoint where nothing listens."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("endpoint_fixture", ["blackhole", "refusing"])
def test_unreachable_dynamodb_answers_503_within_seconds(endpoint_fixture: str, request: pytest.FixtureRequest) -> None:
    endpoint = request.getfixturevalue(endpoint_fixture)
    router, _, _ = make_router(endpoint)
    started = time.monotonic()
    result = router.handle(
        event([("Accept", V1)], settings_for("any-table", **{config.TABLE_REGIONS: "us-east-1,us-west-2"}))
    )
    elapsed = time.monotonic() - started
    assert result["status"] == "503"
    # The original sample had not answered after 180 s; with nothing cached ours answers within 5 s (one deadline
    # for both replicas), and a backoff then spares the next requests the wait.
    assert elapsed < 5.5, elapsed
    started = time.monotonic()
    assert router.handle(event([("Accept", V1)], settings_for("any-table")))["status"] == "503"
    assert time.monotonic() - started < 5.5


@pytest.fixture
def iam_user(dynamodb_endpoint: str) -> dict[str, str]:
    """An IAM user of the emulator with an access key, and a role to assume; made before authentication is on."""
    iam = boto3.client("iam", endpoint_url=dynamodb_endpoint, region_name="us-east-1")
    name = f"edge-{time.monotonic_ns()}"
    allow_all = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=allow_all)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=allow_all)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"], "role": role}


def test_credentials_from_the_environment_sign_what_the_emulator_verifies(
    dynamodb_endpoint: str, mapping_table: str, iam_user: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    put_rows(dynamodb_endpoint, mapping_table, sample_rows())
    sts = boto3.client(
        "sts",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id=iam_user["access_key"],
        aws_secret_access_key=iam_user["secret_key"],
    )
    store = DynamoMappingStore(mapping_table, ("us-east-1",), dynamodb_endpoint)
    with enable_iam_authentication():  # from here on the emulator checks every signature against IAM
        session = sts.assume_role(RoleArn=iam_user["role"], RoleSessionName="edge-router")["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", iam_user["access_key"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", iam_user["secret_key"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        assert len(store.read_all(deadline=time.monotonic() + 10).rows) == 2
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", session["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", session["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", session["SessionToken"])
        assert len(store.read_all(deadline=time.monotonic() + 10).rows) == 2
        for name, wrong in (("AWS_SECRET_ACCESS_KEY", "not-the-secret"), ("AWS_SESSION_TOKEN", "forged-token")):
            with (
                monkeypatch.context() as patch,
                pytest.raises(StoreUnavailableError, match="us-east-1: HTTP 403") as caught,
            ):
                patch.setenv(name, wrong)
                store.read_all(deadline=time.monotonic() + 10)
            assert wrong not in caught.value.message and session["SecretAccessKey"] not in caught.value.message
        assert len(store.read_all(deadline=time.monotonic() + 10).rows) == 2  # the good ones again


def test_nearest_replica_first_and_failover(dynamodb_endpoint: str) -> None:
    table = "replicated-table"
    for region, path in (("us-east-1", "/Prod/v1"), ("eu-west-1", "/Prod/eu")):
        create_mapping_table(dynamodb_client(dynamodb_endpoint, region), table)
        put_rows(dynamodb_endpoint, table, [{"hk": V1, "dn": API, "dp": path}], region)
    settings = settings_for(table, **{config.TABLE_REGIONS: "us-east-1,eu-west-1"})
    in_europe, _, _ = make_router(dynamodb_endpoint, executing_region="eu-west-2")
    assert path_of(in_europe.handle(event([("Accept", V1)], settings))) == "/Prod/eu"
    in_virginia, _, _ = make_router(dynamodb_endpoint, executing_region="us-east-1")
    assert path_of(in_virginia.handle(event([("Accept", V1)], settings))) == "/Prod/v1"
    # A replica that fails (no table there) falls over to the next one.
    failing = settings_for(table, **{config.TABLE_REGIONS: "ap-south-1,us-east-1"})
    in_india, _, log = make_router(dynamodb_endpoint, executing_region="ap-south-1")
    assert path_of(in_india.handle(event([("Accept", V1)], failing))) == "/Prod/v1"
    assert '"region":"us-east-1"' in log.getvalue()
