"""Log lines: the prepared request template, and debug events masked by an allow-list."""

from __future__ import annotations

import json
import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_router import config
from edge_router.log import HARMLESS_HEADERS, masked_event, request_template
from tests.helpers import SETTINGS, V1, event, make_router

SECRET = "s3cr3t-VALUE"


def test_request_template_is_valid_json_whatever_the_fields_hold() -> None:
    template = request_template({"status": "routed", "version": 'v"1%s', "outcome": "routed"}, namespace="N/%d")
    line = template % ('"r\\"id"', "hit", 12.7, 1_700_000_000_123.9)
    parsed = json.loads(line)
    assert parsed["version"] == 'v"1%s' and parsed["requestId"] == 'r"id' and parsed["durationUs"] == 12
    assert parsed["_aws"]["Timestamp"] == 1_700_000_000_123
    assert parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "N/%d"
    without = request_template({"status": 403}) % ('"x"', "stale", 1, 2)
    assert json.loads(without) == {
        "level": "INFO",
        "msg": "request",
        "requestId": "x",
        "status": 403,
        "cache": "stale",
        "durationUs": 1,
    }


LEAKY_HEADERS = [
    "Authorization",
    "Cookie",
    "X-Auth-Token",
    "X-Access-Token",
    "X-Csrf-Token",
    "X-Client-Secret",
    "X-Goog-Api-Key",
    "Authentication",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "Proxy-Authorization",
    "X-Anything-Else",
]


def test_debug_events_show_names_and_only_harmless_values() -> None:
    harness = make_router()
    settings = {**SETTINGS, config.DEBUG_EVENTS: "true", config.HASH_KEY: "hash-" + SECRET}
    incoming = event(
        [("Accept", V1), ("User-Agent", "curl/8.5"), *[(name, f"{name}-{SECRET}") for name in LEAKY_HEADERS]],
        settings,
        uri=f"/reset/{SECRET}",
        querystring=f"Signature={SECRET}&{SECRET}&Key-Pair-Id=k",
        body=SECRET.encode(),
    )
    custom = incoming["Records"][0]["cf"]["request"]["origin"]["custom"]["customHeaders"]
    custom["x-origin-verify"] = [{"key": "X-Origin-Verify", "value": SECRET}]
    harness.router.handle(incoming)
    (debug,) = [line for line in harness.log_lines() if line["level"] == "DEBUG"]
    text = json.dumps(debug)
    assert SECRET not in text
    shown = debug["event"]
    assert shown["headers"]["accept"][0]["value"] == V1
    assert shown["headers"]["user-agent"][0]["value"] == "curl/8.5"
    assert all(shown["headers"][name.lower()][0]["value"] == "***" for name in LEAKY_HEADERS)
    assert shown["querystring"] == "Signature=***&***&Key-Pair-Id=***"
    assert shown["uri"] == f"<{len('/reset/' + SECRET)} characters>"
    origin_headers = shown["origin"]["customHeaders"]
    assert origin_headers[config.TABLE_NAME][0]["value"] == SETTINGS[config.TABLE_NAME]
    assert origin_headers[config.HASH_KEY][0]["value"] == "***"
    assert origin_headers["x-origin-verify"][0]["value"] == "***"


@settings(max_examples=200, deadline=None)
@given(
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
        lambda n: n.lower() not in HARMLESS_HEADERS and n.lower() != "accept"
    ),
    value=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40),
)
def test_no_other_header_value_ever_reaches_a_debug_event(name: str, value: str) -> None:
    incoming = event([("Accept", V1), (name, value)])
    masked = masked_event(incoming, ("accept",), ())
    assert all(entry["value"] == "***" for entry in masked["headers"][name.lower()])


def test_nothing_turns_on_botocore_debug_logging() -> None:
    harness = make_router()
    harness.router.handle(event([("Accept", V1)], {**SETTINGS, config.DEBUG_EVENTS: "true"}))
    botocore = logging.getLogger("botocore")
    assert botocore.getEffectiveLevel() > logging.DEBUG or not botocore.handlers
    assert not any(isinstance(h, logging.StreamHandler) and h.level <= logging.DEBUG for h in botocore.handlers)
