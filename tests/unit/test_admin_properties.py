"""Property: the admin tool accepts a mapping exactly when the router would accept the row, and what it writes routes.

For arbitrary keys, domains, paths, lifecycle and canary values, given as ``put`` options (text) or as file
entries (any YAML/JSON value), the tool's answer is compared with ``mapping_from_row`` on the row a naive writer
would have stored from the same values. When the tool accepts, the item it would write is serialised through the
PynamoDB model exactly as DynamoDB stores it, read back the way the router's store reads it, and the router is
asked for that version: it routes to the written origin (or its canary), or answers 410 once past the sunset,
and never skips the row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge_router import config
from edge_router.admin.errors import AdminError
from edge_router.admin.files import specs_from_document
from edge_router.admin.rows import MappingSpec, put_attributes
from edge_router.admin.table import MappingTable, TableTarget
from edge_router.cf_events import origin_request_event
from edge_router.errors import MappingError
from edge_router.mapping import OriginRules, mapping_from_row
from edge_router.model import row_attributes
from tests.helpers import WALL_START, FakeSource, make_router

API = "abc123.execute-api.us-east-1.amazonaws.com"
TABLE = MappingTable(TableTarget("ApiVersionMapping", "us-east-1", "http://127.0.0.1:9"))
"""Only its model is used (to build and serialise items): nothing here opens a connection."""


def mostly(valid: list[str], invalid: list[str], *, text: int = 12) -> st.SearchStrategy[str]:
    """Each valid value six times as likely as each known-bad one, and arbitrary text one time in ten, so that both
    outcomes stay common when several attributes are given at once."""
    known = st.sampled_from(valid * 6 + invalid)
    return st.integers(0, 9).flatmap(lambda n: st.text(max_size=text) if n == 0 else known)


KEYS = mostly(
    ["v1", " V2 ", "2025-03-01", "application/vnd.example.v1+json", "Application/Vnd.Example+JSON; Version=2",
     "application/json;v=b3"],
    ["", " ", "has space", "a,b", "application/*", "text/html;q=0.5", "a/b;c=d;e=f", "x\r\ny", "v\u00e9", "a" * 257],
)  # fmt: skip
DOMAINS = mostly(
    [API, "ABC.execute-api.eu-west-1.amazonaws.com.", "127.0.0.1:3000", "localhost:8080", "[::1]:3000"],
    ["evil.example.com", f"https://{API}", "127.0.0.1", "10.0.0.1:80", "a..b.execute-api.us-east-1.amazonaws.com", ""],
)
PATHS = mostly(
    ["", "/Prod", "/Prod/v1", "/ok%20x"], ["/Prod/", "Prod", "/a/../b", "/%2e%2E", "/a%2Fb", "/\u00e9"], text=8
)
INSTANTS = mostly(
    ["2026-06-01", "2026-06-01T12:00", "2026-07-01T00:00:00Z", "2027-01-01", "2026-01-01", ""],
    ["2026-13-01", "2026-06-01T12:00+02:00", "yesterday"],
    text=4,
)
PERCENTS = mostly(["10", "12.5", "0", "100", "0.01", "1e1"], ["100.01", "12.345", "-1", "nan", "inf", "abc"], text=4)
SUCCESSORS = mostly(["application/vnd.example.v2+json", "v1", ""], ["bad key", "*/*"], text=4)
URLS = mostly(["https://example.com/v1", "http://example.com:8080/a?b=c", ""], ["ftp://x", "javascript:x"], text=4)
LIFECYCLE = {"deprecated_at": INSTANTS, "sunset_at": INSTANTS, "successor": SUCCESSORS, "info_url": URLS}
CANARY = {"canary_dn": DOMAINS, "canary_dp": PATHS, "canary_percent": PERCENTS}
SOMETIMES = st.integers(0, 2).map(lambda n: n == 0)
"""An optional attribute (or the canary) is given one time in three."""
MOSTLY = st.integers(0, 4).map(lambda n: n != 0)


@st.composite
def put_options(draw: st.DrawFn) -> dict[str, Any]:
    """What ``put`` options give: text for each attribute given, a boolean for ``--default``/``--no-default``."""
    options: dict[str, Any] = {"dn": draw(DOMAINS), "dp": draw(st.none() | PATHS)}
    options["is_default"] = draw(st.sampled_from([None, True, False]))
    for name, values in LIFECYCLE.items():
        if draw(SOMETIMES):
            options[name] = draw(values)
    if draw(SOMETIMES):  # the canary options usually come together, but not always
        options.update((name, draw(values)) for name, values in CANARY.items() if draw(MOSTLY))
    return options


def router_accepts(row: dict[str, Any], rules: OriginRules) -> bool:
    try:
        mapping_from_row(row, rules)
    except MappingError:
        return False
    return True


def written_row(spec: MappingSpec) -> dict[str, Any]:
    """The item the tool writes, through DynamoDB's wire format and back, as the router's store reads it."""
    raw = json.loads(json.dumps(TABLE.item(spec, None, "property-test").serialize()))
    return row_attributes(TABLE._model.from_raw_data(raw))


def assert_routes(spec: MappingSpec, rules: OriginRules) -> None:
    """The router, reading the written row, routes a request for the key (or answers 410 after the sunset)."""
    row = written_row(spec)
    assert MappingSpec.from_row(row, rules) == spec
    harness = make_router(FakeSource(rows=[row]), allow_local_origins=rules.allow_local)
    header = ("Accept", spec.key) if "/" in spec.key else ("APIVER", spec.key)
    settings_ = {config.HEADER_NAME: "APIVER, Accept", config.TABLE_NAME: "ApiVersionMapping"}
    answer = harness.router.handle(origin_request_event(headers=[header], settings=settings_))
    assert not any(line["msg"] == "mapping rows skipped" for line in harness.log_lines())
    if spec.sunset_at is not None and spec.sunset_at <= WALL_START:
        assert answer["status"] == "410"
        return
    origin = answer["origin"]["custom"]
    sides = {(spec.domain, spec.path)}
    if spec.canary is not None:
        sides.add((spec.canary.origin.host_header, spec.canary.origin.path))
    port = "" if origin["port"] in (80, 443) else f":{origin['port']}"
    assert (origin["domainName"] + port, origin["path"]) in sides


def check(tool: Callable[[], MappingSpec], naive: dict[str, Any], rules: OriginRules) -> None:
    """The tool accepts exactly when the router accepts the naive row, and what it accepts routes."""
    try:
        spec = tool()
    except (MappingError, AdminError):
        event("refused")
        assert not router_accepts(naive, rules)
        return
    event("accepted")
    assert router_accepts(naive, rules)
    assert_routes(spec, rules)


PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(key=KEYS, options=put_options(), allow_local=st.booleans())
def test_put_accepts_exactly_what_the_router_accepts(key: str, options: dict[str, Any], allow_local: bool) -> None:
    rules = OriginRules(allow_local=allow_local)
    check(lambda: MappingSpec.from_row(put_attributes(None, key, options), rules), {"hk": key, **options}, rules)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True), st.text(max_size=6))
"""What YAML or JSON may hold instead of the text a field wants (numbers, booleans, null)."""


def or_scalar(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values``, or one time in five any scalar."""
    return st.integers(0, 4).flatmap(lambda n: SCALARS if n == 0 else values)


FILE_FIELDS = {
    "deprecatedAt": "deprecated_at",
    "sunsetAt": "sunset_at",
    "successor": "successor",
    "infoUrl": "info_url",
}


@st.composite
def file_entries(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A file entry (any JSON-able values) and the row a naive writer would store from it."""
    entry: dict[str, Any] = {"key": draw(or_scalar(KEYS)), "domain": draw(or_scalar(DOMAINS))}
    row: dict[str, Any] = {"hk": entry["key"], "dn": entry["domain"]}
    if draw(st.booleans()):
        entry["path"] = row["dp"] = draw(or_scalar(PATHS))
    if draw(st.booleans()):
        entry["default"] = row["is_default"] = draw(or_scalar(st.booleans()))
    for name, attribute in FILE_FIELDS.items():
        if draw(SOMETIMES):
            entry[name] = row[attribute] = draw(or_scalar(LIFECYCLE[attribute]))
    if draw(SOMETIMES):
        fields = {"domain": "canary_dn", "path": "canary_dp", "percent": "canary_percent"}
        canary = {name: draw(or_scalar(CANARY[attribute])) for name, attribute in fields.items() if draw(MOSTLY)}
        entry["canary"] = canary
        row.update((attribute, canary.get(name)) for name, attribute in fields.items())
    return entry, row


@PROPERTY
@given(entry_and_row=file_entries(), allow_local=st.booleans())
def test_import_accepts_exactly_what_the_router_accepts(
    entry_and_row: tuple[dict[str, Any], dict[str, Any]], allow_local: bool
) -> None:
    entry, naive = entry_and_row
    rules = OriginRules(allow_local=allow_local)
    check(lambda: specs_from_document({"mappings": [entry]}, rules)[0], naive, rules)
