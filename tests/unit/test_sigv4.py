"""SigV4 for DynamoDB: the same signature as botocore's ``SigV4Auth`` for the same request, time and credentials;
the signing-key cache; and where credentials come from (environment first, botocore's chain as the fallback)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest

from edge_router.errors import StoreUnavailableError
from edge_router.sigv4 import (
    BotocoreChain,
    Credentials,
    resolve_credentials,
    sign_post,
    signing_key,
)

PINNED = datetime.datetime(2026, 3, 14, 15, 9, 26, tzinfo=datetime.UTC)
TARGET = "DynamoDB_20120810.Scan"
BODY = b'{"TableName":"ApiVersionMapping","ExclusiveStartKey":{"hk":{"S":"application/vnd.example.v1+json"}}}'


def botocore_headers(
    monkeypatch: pytest.MonkeyPatch, credentials: Credentials, url: str, region: str, body: bytes
) -> dict[str, str]:
    """What botocore sends for the same request at the pinned time."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: PINNED.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"X-Amz-Target": TARGET, "Content-Type": "application/x-amz-json-1.0"},
    )
    frozen = botocore.credentials.Credentials(credentials.access_key, credentials.secret_key, credentials.token)
    botocore.auth.SigV4Auth(frozen, "dynamodb", region).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize(
    ("url", "host", "region"),
    [
        ("https://dynamodb.us-east-1.amazonaws.com/", "dynamodb.us-east-1.amazonaws.com", "us-east-1"),
        ("https://dynamodb.cn-north-1.amazonaws.com.cn/", "dynamodb.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", "eu-west-1"),
        ("http://localhost:8000/prefix", "localhost:8000", "ap-south-1"),
    ],
)
@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token=="])
def test_same_signature_as_botocore(
    monkeypatch: pytest.MonkeyPatch, url: str, host: str, region: str, token: str | None
) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    path = "/" + url.split("/", 3)[3]
    ours = dict(
        sign_post(credentials, region=region, host=host, path=path, target=TARGET, body=BODY, now=PINNED.timestamp())
    )
    theirs = botocore_headers(monkeypatch, credentials, url, region, BODY)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"] == "20260314T150926Z"
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token") == token
    assert ours["host"] == host and ours["x-amz-target"] == TARGET
    signed = ["content-type", "host", "x-amz-date", *(["x-amz-security-token"] if token else []), "x-amz-target"]
    assert f"SignedHeaders={';'.join(signed)}," in ours["authorization"]


def test_a_different_body_time_or_secret_changes_the_signature() -> None:
    credentials = Credentials("AKIDEXAMPLE", "secret")

    def signature(creds: Credentials = credentials, body: bytes = BODY, now: float = PINNED.timestamp()) -> str:
        headers = dict(sign_post(creds, region="us-east-1", host="h", path="/", target=TARGET, body=body, now=now))
        return headers["authorization"].rsplit("Signature=", 1)[1]

    base = signature()
    assert len(base) == 64
    assert signature(body=BODY + b" ") != base
    assert signature(now=PINNED.timestamp() + 1) != base
    assert signature(creds=Credentials("AKIDEXAMPLE", "secret2")) != base


def test_the_signing_key_is_cached_per_secret_day_and_region() -> None:
    signing_key.cache_clear()
    credentials = Credentials("AKIDEXAMPLE", "secret")
    now = PINNED.timestamp()
    for _ in range(3):
        sign_post(credentials, region="us-east-1", host="h", path="/", target=TARGET, body=b"{}", now=now)
    assert (signing_key.cache_info().misses, signing_key.cache_info().hits) == (1, 2)
    sign_post(credentials, region="eu-west-1", host="h", path="/", target=TARGET, body=b"{}", now=now)
    sign_post(credentials, region="us-east-1", host="h", path="/", target=TARGET, body=b"{}", now=now + 86_400)
    sign_post(Credentials("A", "other"), region="us-east-1", host="h", path="/", target=TARGET, body=b"{}", now=now)
    assert signing_key.cache_info().misses == 4


def test_credentials_never_show_their_secrets() -> None:
    text = repr(Credentials("AKIDEXAMPLE", "s3cr3t-key", "t0k3n"))
    assert "AKIDEXAMPLE" in text and "s3cr3t-key" not in text and "t0k3n" not in text


# ------------------------------------------------------------------------------------------------ credentials
def no_fallback() -> Credentials | None:
    raise AssertionError("the fallback must not be consulted when the environment has credentials")


def test_environment_credentials_come_first() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"}
    assert resolve_credentials(environ, no_fallback) == Credentials("AKIDENV", "envsecret", "envtoken")
    del environ["AWS_SESSION_TOKEN"]
    assert resolve_credentials(environ, no_fallback) == Credentials("AKIDENV", "envsecret", None)
    environ["AWS_SESSION_TOKEN"] = ""
    assert resolve_credentials(environ, no_fallback).token is None


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AWS_ACCESS_KEY_ID": "AKIDENV"},
        {"AWS_SECRET_ACCESS_KEY": "x"},
        {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "x"},
    ],
)
def test_the_fallback_answers_when_the_environment_has_no_complete_pair(environ: dict[str, str]) -> None:
    fallback = Credentials("AKIDCHAIN", "chainsecret", "chaintoken")
    assert resolve_credentials(environ, lambda: fallback) is fallback


def test_no_credentials_anywhere_is_a_clear_store_error() -> None:
    with pytest.raises(StoreUnavailableError, match="no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"):
        resolve_credentials({}, lambda: None)


class FakeSession:
    """A botocore session whose chain yields the given credentials object."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.created = 0

    def __call__(self) -> FakeSession:
        self.created += 1
        return self

    def get_credentials(self) -> Any:
        return self.source


def refreshable(expires_in: datetime.timedelta) -> tuple[botocore.credentials.RefreshableCredentials, list[int]]:
    """botocore's own refreshable credentials (as SSO, container and assume-role providers return)."""
    calls: list[int] = []

    def refresh() -> dict[str, str]:
        calls.append(1)
        return {
            "access_key": f"ASIA{len(calls)}",
            "secret_key": f"secret{len(calls)}",
            "token": f"token{len(calls)}",
            "expiry_time": (datetime.datetime.now(datetime.UTC) + expires_in).isoformat(),
        }

    return botocore.credentials.RefreshableCredentials.create_from_metadata(refresh(), refresh, "test"), calls


def test_the_chain_is_walked_once_and_botocore_refreshes_before_expiry() -> None:
    source, calls = refreshable(datetime.timedelta(minutes=5))  # inside botocore's mandatory refresh window
    session = FakeSession(source)
    chain = BotocoreChain(session)
    first = chain()
    second = chain()
    assert session.created == 1  # the resolved credentials are kept ...
    assert first is not None and second is not None
    assert (first.access_key, second.access_key) == ("ASIA2", "ASIA3")  # ... and refreshed by botocore when due
    assert second.token == "token3" and len(calls) == 3


def test_long_lived_chain_credentials_are_not_refreshed() -> None:
    source, calls = refreshable(datetime.timedelta(hours=1))
    chain = BotocoreChain(FakeSession(source))
    assert chain() == chain() == Credentials("ASIA1", "secret1", "token1")
    assert len(calls) == 1


def test_an_empty_chain_is_none_and_is_walked_again_next_time() -> None:
    session = FakeSession(None)
    chain = BotocoreChain(session)
    assert chain() is None and chain() is None
    assert session.created == 2
    assert BotocoreChain(FakeSession(botocore.credentials.Credentials("", ""))).__call__() is None


def test_without_botocore_the_chain_is_empty() -> None:
    def no_botocore() -> Any:
        raise ImportError("No module named 'botocore'")

    assert BotocoreChain(no_botocore)() is None


def test_a_failing_chain_is_a_store_error_naming_only_the_error_type() -> None:
    class Broken:
        def get_credentials(self) -> Any:
            raise RuntimeError("SSO token for profile 'prod' expired; secret=hunter2")

    with pytest.raises(StoreUnavailableError, match=r"could not be loaded \(RuntimeError\)") as caught:
        BotocoreChain(Broken)()
    assert "hunter2" not in caught.value.message


def test_the_default_fallback_is_botocores_real_chain_reading_a_profile(isolated_aws_config: Path) -> None:
    (isolated_aws_config / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profilesecret\n"
    )
    assert resolve_credentials() == Credentials("AKIDPROFILE", "profilesecret", None)


def test_without_any_credentials_botocores_chain_finds_none(isolated_aws_config: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="no AWS credentials"):
        resolve_credentials()
