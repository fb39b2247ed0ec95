"""Reads and optimistic-locked writes of the mapping table, through the router's PynamoDB model.

Every write is conditional: a new row on the key not existing, an existing row on its ``revision`` being the one
read (or absent, for rows the original sample wrote without one). Imports are applied as DynamoDB transactions of
at most ``TRANSACTION_LIMIT`` actions each, each with its own idempotency token (``transactions.commit``); a chunk
is all or nothing, and a chunk that failed, or whose outcome is unknown, stops the import. Because every action is
conditional on the row as the diff saw it, running the same import again is always safe: it recomputes the diff
and writes only what is still different.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..mapping import normalize_key
from ..model import VersionMappingModel, bind_model
from .aws import error_code, error_details
from .diff import Change, Plan
from .errors import AdminError, ConflictError
from .rows import MappingRow, MappingSpec, canonical_instant
from .transactions import TRANSACTION_LIMIT, OutcomeUnknownError, RetryPolicy, chunked, commit

_CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "AccessDeniedException"}
)


@dataclass(frozen=True, slots=True)
class TableTarget:
    """Which table to administer: name, home region (all writes go there) and endpoint (``None``: AWS's own)."""

    table_name: str
    region: str
    endpoint_url: str | None = None
    timeout: float = 3.0

    def describe(self) -> str:
        where = f"region {self.region}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")
        return f"table {self.table_name!r} in {where}"


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an import wrote: the stored keys of every committed change, in order."""

    applied: tuple[str, ...]
    transactions: int


class PartialApplyError(AdminError):
    """An import stopped at a transaction chunk: says exactly which keys were written, which were not, and which
    may or may not have been (a chunk whose outcome is unknown)."""

    def __init__(
        self,
        reason: str,
        applied: Sequence[str],
        not_applied: Sequence[str],
        *,
        chunk: int,
        chunks: int,
        unknown: Sequence[str] = (),
    ) -> None:
        counts = f"{len(applied)} change(s) applied, " + (f"{len(unknown)} unknown, " if unknown else "")
        verb = "did not finish" if unknown else "failed"
        super().__init__(f"transaction {chunk} of {chunks} {verb}, {counts}{len(not_applied)} not applied: {reason}")
        self.applied = tuple(applied)
        self.unknown = tuple(unknown)
        self.not_applied = tuple(not_applied)


@dataclass
class MappingTable:
    """The admin's view of one mapping table. ``clock`` stamps ``updated_at`` (injected so tests control it)."""

    target: TableTarget
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    chunk_size: int = TRANSACTION_LIMIT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._model = bind_model(
            self.target.table_name,
            self.target.region,
            self.target.endpoint_url,
            connect_timeout=self.target.timeout,
            read_timeout=self.target.timeout,
            max_retry_attempts=1,  # one retry per call; transactions retry on their own (_transact)
        )

    def rows(self) -> list[MappingRow]:
        """Every row, read consistently from the home region, sorted by stored key.

        A row the model cannot read (an attribute of the wrong DynamoDB type) is still listed, with the reason, so
        that it can be seen and deleted; the router skips it.
        """
        with self._aws_errors():
            raws = [raw for page in self._model.scan(consistent_read=True).page_iter for raw in page.get("Items", ())]
        return sorted((self._read(raw) for raw in raws), key=lambda row: row.key)

    def _read(self, raw: dict[str, Any]) -> MappingRow:
        try:
            return _row(self._model.from_raw_data(raw))
        except (ValueError, TypeError, KeyError) as error:
            key = raw.get("hk", {}).get("S", "?") if isinstance(raw.get("hk"), dict) else "?"
            revision = raw.get("revision", {}).get("N") if isinstance(raw.get("revision"), dict) else None
            return MappingRow(
                key=key,
                domain="",
                revision=int(revision) if revision and revision.isdigit() else None,
                unreadable=f"row {key!r}: cannot be read ({error})",
            )

    def find(self, raw_key: str, rows: Sequence[MappingRow] | None = None) -> MappingRow | None:
        """The row a key names: the exact stored key, else the one row whose key normalises the same way."""
        rows = self.rows() if rows is None else rows
        exact = [row for row in rows if row.key == raw_key.strip()]
        if exact:
            return exact[0]
        matches = [row for row in rows if row.normalized_key == normalize_key(raw_key)]
        if len(matches) > 1:
            keys = ", ".join(repr(row.key) for row in matches)
            raise AdminError(f"key {raw_key!r} matches several stored rows ({keys}); name one exactly")
        return matches[0] if matches else None

    def put(
        self,
        spec: MappingSpec,
        *,
        actor: str,
        expected_revision: int | None = None,
        rows: Sequence[MappingRow] | None = None,
    ) -> tuple[MappingRow, bool]:
        """Create or update the row for ``spec.key``; returns the row as written and whether anything changed.

        An existing row whose stored key normalises to ``spec.key`` is updated in place, so two rows for one
        version never exist. ``expected_revision`` (from an earlier ``get``) makes the write conditional on it;
        ``rows`` are the rows the caller's decision was based on (default: read them now).
        """
        rows = self.rows() if rows is None else rows
        matches = [row for row in rows if row.normalized_key == spec.key]
        if len(matches) > 1:
            keys = ", ".join(repr(row.key) for row in matches)
            raise AdminError(f"several stored rows are version {spec.key!r} ({keys}); delete the extras first")
        existing = matches[0] if matches else None
        _check_revision(spec.key, existing, expected_revision)
        if existing is not None and existing.same_mapping(spec):
            return existing, False
        item = self.item(spec, existing, actor)
        condition = self._model.hk.exists() if existing else self._model.hk.does_not_exist()
        with self._aws_errors(conflict_key=item.hk):
            item.save(condition=condition)
        return _row(item), True

    def delete(self, row: MappingRow, *, expected_revision: int | None = None) -> None:
        """Delete ``row`` if it is still exactly as read (same revision); ``expected_revision`` (from an earlier
        ``get``) also requires that the row read is at that revision, as ``put`` does."""
        _check_revision(row.key, row, expected_revision)
        item = self._existing(row)
        with self._aws_errors(conflict_key=row.key):
            item.delete(condition=self._model.hk.exists())

    def apply(self, plan: Plan, *, actor: str) -> ApplyReport:
        """Write a plan in transactions; ``PartialApplyError`` if a chunk fails after others committed, or if the
        outcome of any chunk (the first too) stays unknown."""
        chunks = chunked(plan.changes, self.chunk_size)
        applied: list[str] = []
        for number, chunk in enumerate(chunks, start=1):
            later = [change.key for other in chunks[number:] for change in other]
            try:
                self._transact(chunk, actor)
            except OutcomeUnknownError as error:
                keys = [change.key for change in chunk]
                raise PartialApplyError(
                    error.message, applied, later, chunk=number, chunks=len(chunks), unknown=keys
                ) from error
            except AdminError as error:
                if number == 1:
                    raise
                not_applied = [change.key for change in chunk] + later
                raise PartialApplyError(
                    error.message, applied, not_applied, chunk=number, chunks=len(chunks)
                ) from error
            applied.extend(change.key for change in chunk)
        return ApplyReport(tuple(applied), len(chunks))

    def _transact(self, chunk: Sequence[Change], actor: str) -> None:
        """One chunk as one transaction. The items (and their ``updated_at``) are built once, so every attempt
        sends the same request under the same token, as idempotency requires."""
        # Our own retries, not botocore's: only then does each attempt's failure say whether it reached DynamoDB.
        connection = Connection(
            region=self.target.region,
            host=self.target.endpoint_url,
            connect_timeout_seconds=self.target.timeout,
            read_timeout_seconds=self.target.timeout,
            max_retry_attempts=0,
        )
        # TransactWrite sends deletes before puts; keep the same order to map cancellation reasons to keys.
        deletes = [(change, self._existing(change.before)) for change in chunk if change.before and not change.after]
        puts = [(change, self.item(change.after, change.before, actor)) for change in chunk if change.after]
        ordered = [change.key for change, _item in (*deletes, *puts)]
        token = str(uuid.uuid4())

        def send() -> None:
            with TransactWrite(connection=connection, client_request_token=token) as transaction:
                for _change, item in deletes:
                    transaction.delete(item, condition=self._model.hk.exists())
                for change, item in puts:
                    exists = self._model.hk.exists() if change.before else self._model.hk.does_not_exist()
                    transaction.save(item, condition=exists)

        def committed() -> bool:
            """The rows hold exactly what this transaction wrote (ours: same author, time and next revision)."""
            try:
                current = {row.key: row for row in self.rows()}
            except AdminError:
                return False
            gone = all(change.key not in current for change, _item in deletes)
            return gone and all(_is_ours(current.get(item.hk), item) for _change, item in puts)

        def translate(error: TransactWriteError) -> AdminError:
            return self._transaction_error(error, ordered)

        commit(send, translate=translate, committed=committed, policy=self.retry, sleep=self.sleep)

    def item(self, spec: MappingSpec, existing: MappingRow | None, actor: str) -> VersionMappingModel:
        """The model item a write of ``spec`` sends: the router's attributes, the bookkeeping, and the revision
        the write is conditional on (an existing row keeps its stored key)."""
        attributes = spec.attributes()
        attributes["hk"] = existing.key if existing else spec.key
        item = self._model(**attributes, updated_by=actor, updated_at=self.clock())
        if existing is not None and existing.revision is not None:
            item.revision = existing.revision  # unset: PynamoDB writes on condition "no revision yet"
        return item

    def _existing(self, row: MappingRow) -> VersionMappingModel:
        """A model instance carrying the revision that was read, for a conditional delete."""
        item = self._model(hk=row.key, dn=row.domain)
        if row.revision is not None:
            item.revision = row.revision
        return item

    @contextmanager
    def _aws_errors(self, *, conflict_key: str | None = None) -> Iterator[None]:
        """Turn PynamoDB and botocore failures into one-line ``AdminError``s (conflicts into ``ConflictError``);
        transactions have their own translation (``_transaction_error``)."""
        try:
            yield
        except PynamoDBException as error:
            if error_code(error) == "ConditionalCheckFailedException" and conflict_key is not None:
                raise ConflictError(self._conflict_message(conflict_key)) from error
            raise self._translate(error, error.cause) from error
        except BotoCoreError as error:
            raise self._translate(error, error) from error

    def _transaction_error(self, error: TransactWriteError, keys: Sequence[str]) -> AdminError:
        if error_code(error) != "TransactionCanceledException":
            return self._translate(error, error.cause)
        reasons = error.cancellation_reasons
        conflicts = [
            key
            for key, reason in zip(keys, reasons, strict=False)
            if reason and reason.code == "ConditionalCheckFailed"
        ]
        if conflicts:
            shown = ", ".join(repr(key) for key in conflicts[:10])
            return ConflictError(
                f"changed by someone else since the diff was made: {shown}; nothing in this transaction was written"
            )
        codes = sorted({reason.code for reason in reasons if reason and reason.code != "None"})
        return AdminError(f"transaction cancelled ({', '.join(codes) or 'no reason given'}); nothing in it was written")

    def _conflict_message(self, key: str) -> str:
        try:
            current = self.find(key)
        except AdminError:
            current = None
        if current is None:
            return f"mapping {key!r} was created or deleted by someone else since it was read; re-read and retry"
        return (
            f"mapping {key!r} was changed by {current.updated_by or 'someone else'} at "
            f"{current.updated_at.isoformat() if current.updated_at else 'an unknown time'} "
            f"(now revision {current.revision}) since it was read; re-read and retry"
        )

    def _translate(self, error: Exception, cause: Exception | None) -> AdminError:
        code, detail = error_details(error)
        target = self.target
        if code == "ResourceNotFoundException":
            return AdminError(f"{target.describe()} not found")
        if code in _CREDENTIAL_CODES:
            return AdminError(f"AWS refused the credentials ({code}) for {target.describe()}")
        if isinstance(cause, NoCredentialsError):
            return AdminError("no AWS credentials found: set AWS_PROFILE (or --profile) or AWS_ACCESS_KEY_ID")
        if isinstance(cause, ProfileNotFound | NoRegionError):
            return AdminError(str(cause))
        if isinstance(cause, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
            endpoint = target.endpoint_url or f"the DynamoDB endpoint of {target.region}"
            return AdminError(f"cannot reach {endpoint}: {type(cause).__name__}")
        message = detail or str(cause or error)
        return AdminError(f"{code or type(cause or error).__name__}: {' '.join(str(message).split())[:300]}")


def _check_revision(key: str, existing: MappingRow | None, expected: int | None) -> None:
    """``ConflictError`` unless the row is at the ``expected`` revision (``None``: any row, or none, will do)."""
    if expected is not None and (existing is None or existing.revision != expected):
        found = "no such row" if existing is None else f"revision {existing.revision}"
        raise ConflictError(f"mapping {key!r} is not at revision {expected} ({found}); re-read it")


def _row(item: VersionMappingModel) -> MappingRow:
    return MappingRow(
        key=item.hk,
        domain=item.dn or "",
        path=item.dp or "",
        is_default=bool(item.is_default),
        deprecated_at=canonical_instant(item.deprecated_at),
        sunset_at=canonical_instant(item.sunset_at),
        successor=item.successor,
        info_url=item.info_url,
        canary_domain=item.canary_dn,
        canary_path=item.canary_dp,
        canary_percent=item.canary_percent,
        updated_by=item.updated_by,
        updated_at=item.updated_at,
        revision=item.revision,
    )


def _is_ours(row: MappingRow | None, item: VersionMappingModel) -> bool:
    expected_revision = 1 if item.revision is None else item.revision + 1
    return row is not None and (row.updated_by, row.updated_at, row.revision) == (
        item.updated_by,
        item.updated_at,
        expected_revision,
    )
