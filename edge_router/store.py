"""Read the whole mapping table from the nearest healthy replica within one deadline, over our own HTTP and SigV4."""

from __future__ import annotations

import json
import os
import re
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pynamodb.constants import (
    BINARY,
    BINARY_SET,
    BOOLEAN,
    EXCLUSIVE_START_KEY,
    ITEMS,
    LAST_EVALUATED_KEY,
    LIST,
    MAP,
    NULL,
    NUMBER,
    NUMBER_SET,
    SCAN,
    STRING,
    STRING_SET,
    TABLE_NAME,
)

from .errors import StoreUnavailableError
from .sigv4 import Credentials, resolve_credentials, sign_post
from .wire import Endpoint, HttpClient, Response, WireError, parse_endpoint

if TYPE_CHECKING:
    from collections.abc import Callable

SCAN_TARGET = f"DynamoDB_20120810.{SCAN}"
"""The JSON protocol's operation; field and type names come from PynamoDB's constants, as the admin tool's do
(``pynamodb.constants`` is plain names: it imports neither botocore nor the rest of PynamoDB)."""
ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
"""botocore's endpoint settings, in its order of precedence (after an explicit endpoint)."""
_THROTTLING = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_FRACTION = re.compile(r"[.eE]")
_XML_FIELD = re.compile(rb"<(Code|Message)>([^<]{1,200})</")
_OPAQUE_RUN = re.compile(r"[A-Za-z0-9+/=]{32,}")
"""A run as long as a token, key or signature (or the part of one a truncated message still holds)."""
_MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class OtherType:
    """An attribute of a DynamoDB type the router never reads (B, SS, NS, BS, L, M).

    Only the type name is kept, so row validation can say "attribute dn has DynamoDB type L, expected S".
    """

    type_name: str


RowValue = str | int | float | bool | None | OtherType
"""S is ``str``, N an ``int`` or ``float`` (as PynamoDB reads it, so a number where text belongs is a wrong type, not
text), BOOL ``bool``, NULL ``None``."""
Row = dict[str, RowValue]

_CONTAINERS: dict[str, type] = {
    BINARY: str,
    STRING_SET: list,
    NUMBER_SET: list,
    BINARY_SET: list,
    LIST: list,
    MAP: dict,
}
_SETS = (STRING_SET, NUMBER_SET, BINARY_SET)
_OTHER = {name: OtherType(name) for name in _CONTAINERS}


@dataclass(frozen=True, slots=True)
class TableRead:
    """Every row of one successful read, where it came from, and whether it is byte-for-byte the previous read.

    When ``unchanged``, ``rows`` is the very list the previous read returned, so a caller can keep what it built
    from it instead of validating the same rows again.
    """

    rows: list[Row]
    region: str
    unchanged: bool
    pages: int


class MappingSource(Protocol):
    """Anything that can read every mapping row (DynamoDB here; a fake in unit tests)."""

    @property
    def clock(self) -> Callable[[], float]:
        """The clock ``deadline`` is a value of (real time, even when a test moves the cache's clock)."""
        ...

    def read_all(self, *, deadline: float) -> TableRead:
        """All rows by ``deadline`` (an absolute value of ``clock``), else ``StoreUnavailableError``."""
        ...


@dataclass(frozen=True, slots=True)
class StoreTimeouts:
    """Limits of one read. The overall time is the caller's deadline; these bound the parts inside it."""

    connect: float = 0.5
    """Cap on one TCP connect, so a blackholed replica leaves time for the next."""
    retries: int = 2
    """Further tries of one page after throttling, a 5xx, a reset connection or a bad CRC."""
    backoff: float = 0.05
    """Wait before the first retry, doubled for each next one; never past the deadline."""
    max_pages: int = 64
    max_page_bytes: int = 8 * 1024 * 1024


class _ReadError(Exception):
    """Why one page could not be used; ``transient`` when DynamoDB asks for another try."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class _Page:
    raw: bytes
    rows: list[Row]
    next_key: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Read:
    region: str
    pages: tuple[_Page, ...]
    rows: list[Row]


class DynamoMappingStore:
    """Scans one mapping table across replica regions in the given order (nearest first), falling back on failure.

    Every page is read (DynamoDB returns at most 1 MB per page). The raw pages of the last successful read are
    kept: a page that comes back byte-identical is not decoded again, and a read whose pages all match is reported
    ``unchanged``. One read at a time per store (the snapshot cache refreshes single-flight).
    """

    def __init__(
        self,
        table_name: str,
        regions: tuple[str, ...],
        endpoint_url: str | None = None,
        timeouts: StoreTimeouts = StoreTimeouts(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table_name = table_name
        self.regions = regions
        self.endpoint_url = endpoint_url
        self.timeouts = timeouts
        self.clock = clock
        self._client = HttpClient(connect_timeout=timeouts.connect, clock=clock)
        self._last: _Read | None = None

    def read_all(self, *, deadline: float) -> TableRead:
        """Every row, from the first replica that answers by ``deadline`` (an absolute value of ``clock``).

        Each replica but the last may spend at most an even share of the time left, so one that hangs cannot
        starve the others. Any failure, whatever its type, is ``StoreUnavailableError`` naming each region and why.
        """
        try:
            return self._read_any(deadline)
        except StoreUnavailableError:
            raise
        except Exception as error:  # whatever went wrong, the table cannot be read
            raise StoreUnavailableError(f"cannot read table {self.table_name!r}: {_describe(error)}") from error

    def _read_any(self, deadline: float) -> TableRead:
        override = self._override_endpoint()
        credentials = resolve_credentials()
        failures: list[str] = []
        for index, region in enumerate(self.regions):
            now = self.clock()
            if now >= deadline:
                failures.append(f"{region}: not tried, deadline passed")
                continue
            share = (deadline - now) / (len(self.regions) - index)
            try:
                endpoint = override or regional_endpoint(region)
                return self._read_replica(region, endpoint, credentials, now + share)
            except Exception as error:  # any failure of one replica means: try the next one
                failures.append(f"{region}: {_redacted(_describe(error), credentials)}")
        raise StoreUnavailableError(f"could not read table {self.table_name!r}: " + "; ".join(failures))

    def _override_endpoint(self) -> Endpoint | None:
        url = self.endpoint_url or next((os.environ[name] for name in ENDPOINT_ENVS if os.environ.get(name)), None)
        if url is None:
            return None
        try:
            return parse_endpoint(url)
        except WireError as error:
            raise StoreUnavailableError(f"invalid DynamoDB endpoint: {error.message}") from None

    def _read_replica(self, region: str, endpoint: Endpoint, credentials: Credentials, deadline: float) -> TableRead:
        previous = self._last if self._last is not None and self._last.region == region else None
        known = previous.pages if previous is not None else ()
        pages: list[_Page] = []
        start_key: dict[str, Any] | None = None
        while True:
            if len(pages) == self.timeouts.max_pages:
                raise _ReadError(f"the scan did not end within {self.timeouts.max_pages} pages")
            raw = self._fetch(region, endpoint, credentials, start_key, deadline)
            index = len(pages)
            page = known[index] if index < len(known) and known[index].raw == raw else _decode_page(raw)
            pages.append(page)
            if page.next_key is None:
                break
            start_key = page.next_key
        if previous is not None and len(pages) == len(known) and all(a is b for a, b in zip(pages, known, strict=True)):
            return TableRead(previous.rows, region, unchanged=True, pages=len(pages))
        rows: list[Row] = []
        for page in pages:
            rows += page.rows
        self._last = _Read(region, tuple(pages), rows)
        return TableRead(rows, region, unchanged=False, pages=len(pages))

    def _fetch(
        self, region: str, endpoint: Endpoint, credentials: Credentials, start_key: Any, deadline: float
    ) -> bytes:
        """The raw body of one Scan page, retried a few times on throttling, 5xx, resets and bad CRCs."""
        request: dict[str, Any] = {TABLE_NAME: self.table_name}
        if start_key is not None:
            request[EXCLUSIVE_START_KEY] = start_key
        body = json.dumps(request, separators=(",", ":")).encode()
        headers = sign_post(
            credentials, region=region, host=endpoint.host_header, path=endpoint.path, target=SCAN_TARGET, body=body
        )
        wait = self.timeouts.backoff
        attempt = 0
        while True:
            try:
                response = self._client.request(
                    endpoint, "POST", headers, body, deadline=deadline, max_body=self.timeouts.max_page_bytes
                )
                return _checked_body(response)
            except (WireError, _ReadError) as error:
                if not error.transient or attempt == self.timeouts.retries or self.clock() + wait >= deadline:
                    raise
            attempt += 1
            time.sleep(wait)
            wait *= 2


def regional_endpoint(region: str) -> Endpoint:
    """DynamoDB's public endpoint in ``region`` (China's regions have their own domain)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return parse_endpoint(f"https://dynamodb.{region}.{suffix}")


def _checked_body(response: Response) -> bytes:
    """The body of a 200 whose CRC32 (when sent) matches; otherwise the error, transient when worth a retry."""
    status, body = response.status, response.body
    if status == 200:
        expected = response.headers.get("x-amz-crc32")
        if expected is not None and not (
            expected.isascii() and expected.isdigit() and int(expected) == zlib.crc32(body)
        ):
            raise _ReadError("the response failed its CRC32 check", transient=True)
        return body
    error_type, message = _error_of(body)
    detail = f"HTTP {status}" + (f" {error_type}" if error_type else "") + (f": {message}" if message else "")
    raise _ReadError(detail, transient=status >= 500 or error_type in _THROTTLING)


def _error_of(body: bytes) -> tuple[str, str]:
    """The error type and message of a failed call, or empty strings.

    DynamoDB sends JSON (``...#ResourceNotFoundException``: the last part is kept); emulators and proxies may send
    XML with ``<Code>`` and ``<Message>``.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict):
        kind, message = document.get("__type"), document.get("message", document.get("Message"))
        kind = kind.rpartition("#")[2] if isinstance(kind, str) else ""
    else:
        found = {match[1]: match[2].decode("latin-1") for match in _XML_FIELD.finditer(body[:4096])}
        kind, message = found.get(b"Code", ""), found.get(b"Message", "")
    message = message.splitlines()[0] if isinstance(message, str) and message.strip() else ""
    return kind[:80], message[:120]


def _decode_page(raw: bytes) -> _Page:
    """One Scan page: its rows, decoded from DynamoDB JSON, and the key to continue from."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise _ReadError("the response is not JSON") from None
    if type(document) is not dict:
        raise _ReadError(f"the response is a JSON {type(document).__name__}, not an object")
    items = document.get(ITEMS)
    if type(items) is not list:
        raise _ReadError("the response has no Items list")
    next_key = document.get(LAST_EVALUATED_KEY)
    if next_key is not None and (type(next_key) is not dict or not next_key):
        raise _ReadError("the response's LastEvaluatedKey is not a key")
    return _Page(raw, _decode_items(items), next_key)


def _decode_items(items: list[Any]) -> list[Row]:
    """Rows from DynamoDB JSON items; ``_ReadError`` at the first value DynamoDB could never have sent.

    This runs for every attribute of every row, so the common case (an ``S`` value) costs one type check, one
    ``len`` and one dictionary lookup; everything else takes the slower branch below it.
    """
    rows: list[Row] = []
    append = rows.append
    containers = _CONTAINERS
    other = _OTHER
    number = _NUMBER.match
    for index, item in enumerate(items):
        if type(item) is not dict:
            raise _ReadError(f"item {index} is not an object")
        row: Row = {}
        for name, value in item.items():
            if type(value) is not dict or len(value) != 1:
                raise _ReadError(f"item {index}: attribute {name[:40]!r} is not a DynamoDB attribute value")
            text = value.get(STRING)
            if type(text) is str:
                row[name] = text
                continue
            for tag, inner in value.items():
                kind = type(inner)
                if tag == NUMBER and kind is str and number(inner):
                    row[name] = float(inner) if _FRACTION.search(inner) else int(inner)
                elif tag == BOOLEAN and kind is bool:
                    row[name] = inner
                elif tag == NULL and inner is True:
                    row[name] = None
                elif kind is containers.get(tag) and (tag not in _SETS or _strings(inner)):
                    row[name] = other[tag]
                else:
                    raise _ReadError(f"item {index}: attribute {name[:40]!r} is not a valid DynamoDB {tag[:8]!r} value")
        if STRING not in item.get("hk", ()):
            raise _ReadError(f"item {index} has no string key hk")
        append(row)
    return rows


def _strings(values: list[Any]) -> bool:
    return all(type(value) is str for value in values)


def _describe(error: Exception) -> str:
    """A short reason for the log and the error: our own messages as they are, anything else with its type."""
    if isinstance(error, WireError | _ReadError | StoreUnavailableError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text.splitlines()[0][:_MAX_REASON] if text else type(error).__name__


def _redacted(text: str, credentials: Credentials) -> str:
    """Defence in depth: DynamoDB's signature errors echo the canonical request, which holds the session token.

    Messages are cut before they get here, so a secret may arrive in part: long opaque runs go too."""
    for secret in (credentials.secret_key, credentials.token):
        if secret:
            text = text.replace(secret, "***")
    return _OPAQUE_RUN.sub("***", text)
