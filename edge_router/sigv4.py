"""AWS Signature Version 4 for the edge's DynamoDB JSON calls, and the credentials that sign them."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SERVICE = "dynamodb"
ALGORITHM = "AWS4-HMAC-SHA256"
CONTENT_TYPE = "application/x-amz-json-1.0"
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - the variable's name, not a secret
TOKEN_ENV = "AWS_SESSION_TOKEN"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Credentials:
    """One set of AWS credentials. The secret and the token are left out of ``repr`` so no log line can show them."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@lru_cache(maxsize=16)
def signing_key(secret_key: str, date: str, region: str) -> bytes:
    """The derived SigV4 key for one secret, day (``YYYYMMDD``) and region.

    Four HMACs that change once a day per region, so they are cached instead of recomputed per request.
    """
    key = hmac.digest(("AWS4" + secret_key).encode(), date.encode(), "sha256")
    for part in (region, SERVICE, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def sign_post(
    credentials: Credentials,
    *,
    region: str,
    host: str,
    path: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """Every header of a signed ``POST path`` to DynamoDB's JSON API, ``host`` and ``authorization`` included.

    ``now`` is Unix time (tests pin it). The signed headers are exactly the ones sent, so nothing on the way can
    change them unnoticed. https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    date = stamp[:8]
    # Canonical order is by lowercase name; this list is written in that order.
    headers = [("content-type", CONTENT_TYPE), ("host", host), ("x-amz-date", stamp)]
    if credentials.token:
        headers.append(("x-amz-security-token", credentials.token))
    headers.append(("x-amz-target", target))
    signed = ";".join(name for name, _ in headers)
    canonical = "\n".join(
        (
            "POST",
            path,
            "",
            "".join(f"{name}:{value}\n" for name, value in headers),
            signed,
            hashlib.sha256(body).hexdigest(),
        )
    )
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(signing_key(credentials.secret_key, date, region), to_sign.encode(), "sha256").hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    headers.append(("authorization", authorization))
    return headers


class BotocoreChain:
    """botocore's credential chain (profiles, SSO, container and instance credentials) for the local tools.

    botocore is imported on first use only: at the edge the runtime's environment variables answer first and the
    import (about 200 ms) never happens. The resolved botocore credentials object is kept, so temporary credentials
    are refreshed by botocore before they expire instead of being looked up again on every read.
    """

    def __init__(self, session_factory: Callable[[], Any] | None = None) -> None:
        self._session_factory = session_factory
        self._source: Any = None

    def __call__(self) -> Credentials | None:
        try:
            if self._source is None:
                self._source = self._session().get_credentials()
                if self._source is None:
                    return None
            frozen = self._source.get_frozen_credentials()
        except ImportError:
            return None
        except Exception as error:  # botocore's many provider errors all mean "no usable credentials"
            raise StoreUnavailableError(f"AWS credentials could not be loaded ({type(error).__name__})") from error
        if not frozen.access_key or not frozen.secret_key:
            return None
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    def clear(self) -> None:
        """Forget the resolved credentials (tests, or a changed profile): the next call walks the chain again."""
        self._source = None

    def _session(self) -> Any:
        if self._session_factory is not None:
            return self._session_factory()
        import botocore.session

        return botocore.session.Session()


BOTOCORE_CHAIN = BotocoreChain()
"""The process's fallback chain: one owner for the resolved credentials, so refreshes are shared."""


def resolve_credentials(
    environ: Mapping[str, str] = os.environ, fallback: Callable[[], Credentials | None] = BOTOCORE_CHAIN
) -> Credentials:
    """The credentials to sign with: the environment (what Lambda, also at the edge, provides), else ``fallback``.

    ``StoreUnavailableError`` when neither has any; the message says where credentials were looked for.
    """
    access_key, secret_key = environ.get(ACCESS_KEY_ENV), environ.get(SECRET_KEY_ENV)
    if access_key and secret_key:
        return Credentials(access_key, secret_key, environ.get(TOKEN_ENV) or None)
    found = fallback()
    if found is None:
        raise StoreUnavailableError(
            f"no AWS credentials: {ACCESS_KEY_ENV}/{SECRET_KEY_ENV} are not set and botocore's chain "
            "(profile, SSO, container or instance credentials) found none"
        )
    return found
