"""CloudFormation custom resource: seeds the sample version mappings through the router's own model and rules.

Create and Update upsert the rows in the resource properties (so a parameter change reaches us as an Update); an
Update that drops or renames a key deletes the row this resource wrote for it, unless someone else has changed it
since; Delete leaves the table alone (it holds admin data). Every request is answered, SUCCESS or FAILED with a
short reason, before the function times out. The pre-signed ``ResponseURL`` is never logged.

Deployed at the artifact root as ``app.py`` next to the ``edge_router`` package, so imports are absolute.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from pynamodb.exceptions import DoesNotExist, PynamoDBException

from edge_router.errors import MappingError
from edge_router.mapping import (
    DEFAULT_ALLOWED_SUFFIXES,
    OriginRules,
    local_origins_enabled,
    mapping_from_row,
    parse_suffix_list,
)
from edge_router.model import VersionMappingModel, bind_model

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

RESPONSE_RESERVE = 5.0
"""Seconds kept back for answering CloudFormation; work stops when less than this is left."""
DEFAULT_BUDGET = 30.0
"""Seconds assumed when the caller's context cannot say (the local stack's in-process call)."""
MAX_REASON = 1000
PUT_ATTEMPTS = 4
PUT_TIMEOUT = (3.0, 5.0)


class SeedError(Exception):
    """Why a request cannot be done; its message becomes the FAILED reason."""


@dataclass(frozen=True, slots=True)
class Row:
    """One validated mapping row as the resource properties give it."""

    hk: str
    dn: str
    dp: str | None


@dataclass(frozen=True, slots=True)
class Deadline:
    """The function's remaining time, from the Lambda context, on an injectable clock."""

    ends_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_context(cls, context: Any, clock: Callable[[], float] = time.monotonic) -> Deadline:
        remaining = DEFAULT_BUDGET
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if callable(getter):
            remaining = getter() / 1000.0
        return cls(clock() + remaining, clock)

    def remaining(self) -> float:
        return self.ends_at - self.clock()

    def check(self, what: str) -> None:
        """Stop before ``what`` when only the time to answer CloudFormation is left."""
        if self.remaining() < RESPONSE_RESERVE:
            raise SeedError(f"ran out of time before {what}")


def _rules(properties: dict[str, Any]) -> OriginRules:
    """The origin rules the router will apply: the stack's allowed suffixes, loopback only in the local stack."""
    raw = properties.get("AllowedOriginSuffixes") or ",".join(DEFAULT_ALLOWED_SUFFIXES)
    if not isinstance(raw, str):
        raise SeedError("AllowedOriginSuffixes must be a comma-separated string")
    try:
        suffixes = parse_suffix_list(raw)
    except ValueError as error:
        raise SeedError(f"AllowedOriginSuffixes: {error}") from None
    return OriginRules(allowed_suffixes=suffixes, allow_local=local_origins_enabled())


def parse_rows(properties: dict[str, Any], rules: OriginRules) -> list[Row]:
    """The ``Mappings`` property validated exactly as the router validates rows; ``SeedError`` says which is bad."""
    mappings = properties.get("Mappings")
    if not isinstance(mappings, list):
        raise SeedError("Mappings must be a list of {hk, dn, dp} objects")
    rows: list[Row] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(mappings):
        if not isinstance(item, dict):
            raise SeedError(f"Mappings[{index}] must be an object with hk, dn and dp")
        try:
            key = mapping_from_row({"hk": item.get("hk"), "dn": item.get("dn"), "dp": item.get("dp")}, rules).key
        except MappingError as error:
            raise SeedError(f"Mappings[{index}]: {error.message}") from None
        if key in seen:
            raise SeedError(f"Mappings[{index}]: key {item['hk']!r} repeats {seen[key]!r}")
        seen[key] = item["hk"]
        rows.append(Row(hk=item["hk"].strip(), dn=item["dn"].strip(), dp=item.get("dp") or None))
    return rows


def _old_keys(event: dict[str, Any]) -> list[str]:
    """Keys the previous properties seeded (Update only); unreadable old properties seed nothing to remove."""
    old = event.get("OldResourceProperties")
    mappings = old.get("Mappings") if isinstance(old, dict) else None
    if not isinstance(mappings, list):
        return []
    return [item["hk"].strip() for item in mappings if isinstance(item, dict) and isinstance(item.get("hk"), str)]


@dataclass(slots=True)
class Seeder:
    """Writes and removes this resource's rows in one table through the shared model."""

    model: type[VersionMappingModel]
    owner: str
    deadline: Deadline
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def upsert(self, row: Row) -> None:
        """Create the row or overwrite its route, keeping its revision counter (optimistic locking) intact."""
        self.deadline.check(f"writing {row.hk!r}")
        try:
            item = self.model.get(row.hk)
        except DoesNotExist:
            item = self.model(row.hk)
        item.dn = row.dn
        item.dp = row.dp
        item.updated_by = self.owner
        item.updated_at = self.now()
        item.save()

    def remove_own(self, key: str) -> bool:
        """Delete ``key`` only if this resource was the last writer; True if a row was deleted."""
        self.deadline.check(f"removing {key!r}")
        try:
            item = self.model.get(key)
        except DoesNotExist:
            return False
        if item.updated_by != self.owner:
            LOGGER.info(json.dumps({"msg": "kept row changed by someone else", "key": key}))
            return False
        item.delete(condition=self.model.updated_by == self.owner)
        return True


def _physical_id(event: dict[str, Any], table: str) -> str:
    """Stable across Updates (CloudFormation would otherwise treat a new id as a replacement and send Delete)."""
    existing = event.get("PhysicalResourceId")
    if isinstance(existing, str) and existing:
        return existing
    return f"{event.get('LogicalResourceId', 'SeedVersionMappings')}:{table or 'unknown-table'}"


def handle(event: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    """Do the request; returns the response fields (Status, Reason, PhysicalResourceId). Never raises."""
    properties = event.get("ResourceProperties")
    table = properties.get("TableName") if isinstance(properties, dict) else None
    physical_id = _physical_id(event, table if isinstance(table, str) else "")
    request_type = event.get("RequestType")
    try:
        if request_type == "Delete":
            return {"Status": "SUCCESS", "PhysicalResourceId": physical_id, "Reason": "mapping rows left in place"}
        if request_type not in ("Create", "Update"):
            raise SeedError(f"unknown RequestType {request_type!r}")
        if not isinstance(properties, dict):
            raise SeedError("ResourceProperties must be an object")
        if not isinstance(table, str) or not table.strip():
            raise SeedError("TableName is required")
        rows = parse_rows(properties, _rules(properties))
        owner = f"cloudformation:{event.get('StackId') or event.get('LogicalResourceId') or 'unknown'}"
        model = bind_model(table.strip(), os.environ.get("AWS_REGION"))
        seeder = Seeder(model=model, owner=owner, deadline=deadline)
        for row in rows:
            seeder.upsert(row)
        kept = {row.hk for row in rows}
        removed = [key for key in _old_keys(event) if key not in kept and seeder.remove_own(key)]
        LOGGER.info(json.dumps({"msg": "seeded", "type": request_type, "keys": sorted(kept), "removed": removed}))
        return {"Status": "SUCCESS", "PhysicalResourceId": physical_id, "Reason": f"{len(rows)} mapping rows written"}
    except SeedError as error:
        reason = str(error)
    except PynamoDBException as error:
        cause = getattr(error, "cause", None)
        reason = f"DynamoDB: {error.msg or type(error).__name__}" + (f" ({type(cause).__name__})" if cause else "")
    except Exception as error:  # the catch-all crhelper has: CloudFormation must always get an answer
        LOGGER.exception("unexpected error")
        reason = f"internal error: {type(error).__name__}"
    LOGGER.info(json.dumps({"msg": "failed", "type": request_type, "reason": reason}))
    return {"Status": "FAILED", "PhysicalResourceId": physical_id, "Reason": reason}


def send_response(
    url: str,
    body: dict[str, Any],
    deadline: Deadline,
    *,
    put: Callable[..., requests.Response] = requests.put,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """PUT the answer to the pre-signed URL with bounded retries; True once CloudFormation has accepted it.

    Retries connection errors, timeouts and 5xx/429 (exponential backoff), stops on any other status (the URL is
    expired or the body is wrong: retrying cannot help) and when the function is about to time out. Only the
    attempt number, status or exception type is logged: the URL and exception texts carry the signature.
    """
    data = json.dumps(body).encode()
    delay = 0.5
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            reply = put(url, data=data, headers={"Content-Type": ""}, timeout=PUT_TIMEOUT)
        except requests.RequestException as error:
            outcome = type(error).__name__
        else:
            if 200 <= reply.status_code < 300:
                return True
            outcome = f"HTTP {reply.status_code}"
            if reply.status_code < 500 and reply.status_code != 429:
                LOGGER.error(json.dumps({"msg": "response rejected", "attempt": attempt, "outcome": outcome}))
                return False
        LOGGER.warning(json.dumps({"msg": "response not delivered", "attempt": attempt, "outcome": outcome}))
        if attempt == PUT_ATTEMPTS or deadline.remaining() < delay + sum(PUT_TIMEOUT):
            break
        sleep(delay)
        delay *= 2
    return False


def lambda_handler(event: Any, context: Any) -> None:
    """Custom resource entry point: do the request, then always answer CloudFormation."""
    deadline = Deadline.from_context(context)
    if not isinstance(event, dict) or not isinstance(event.get("ResponseURL"), str):
        LOGGER.error(json.dumps({"msg": "not a CloudFormation custom resource event; nobody to answer"}))
        return
    result = handle(event, deadline)
    reason = result["Reason"]
    stream = getattr(context, "log_stream_name", None)
    if result["Status"] == "FAILED" and isinstance(stream, str):
        reason = f"{reason} (log stream {stream})"
    body = {
        **result,
        "Reason": reason[:MAX_REASON],
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
    }
    send_response(event["ResponseURL"], body, deadline)
