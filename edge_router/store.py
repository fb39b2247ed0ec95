"""Read the whole mapping table from the nearest healthy replica, with short timeouts and bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pynamodb.exceptions import PynamoDBException

from .errors import MappingError, StoreUnavailableError
from .model import bind_model, row_attributes

Row = dict[str, Any] | MappingError


@dataclass(frozen=True, slots=True)
class TableRead:
    """One read of the whole table: its rows, the region that answered, and whether nothing changed since the
    previous read (then ``rows`` is the previous list and the caller may keep its snapshot)."""

    rows: list[Row]
    region: str
    unchanged: bool = False
    pages: int = 1


class MappingSource(Protocol):
    """Anything that can read every mapping row (DynamoDB here; a fake in unit tests)."""

    def read_all(self, *, deadline: float) -> TableRead:
        """All rows before ``deadline`` (a value of the store's clock), or ``StoreUnavailableError``."""
        ...


@dataclass(frozen=True, slots=True)
class StoreTimeouts:
    """Per-call DynamoDB limits. A blackholed endpoint costs at most about ``budget`` seconds per refresh."""

    connect: float = 0.5
    read: float = 1.0
    retries: int = 1
    budget: float = 3.0


@dataclass(slots=True)
class DynamoMappingStore:
    """Scans one mapping table across replica regions, nearest first, falling back on failure.

    The scan is paginated (DynamoDB returns at most 1 MB per page); every page is read.
    """

    table_name: str
    regions: tuple[str, ...]
    endpoint_url: str | None = None
    timeouts: StoreTimeouts = field(default_factory=StoreTimeouts)
    clock: Callable[[], float] = time.monotonic

    def read_all(self, *, deadline: float) -> TableRead:
        """All rows and the region they came from; ``StoreUnavailableError`` when no replica answered."""
        started = self.clock()
        failures: list[str] = []
        for region in self.regions:
            if failures and self.clock() - started >= self.timeouts.budget:
                failures.append(f"{region}: skipped, time budget spent")
                continue
            try:
                return TableRead(list(self._scan(region)), region)
            except (PynamoDBException, OSError) as error:
                failures.append(f"{region}: {_describe(error)}")
        raise StoreUnavailableError("could not read the mapping table: " + "; ".join(failures))

    def _scan(self, region: str) -> Iterator[Row]:
        model = bind_model(
            self.table_name,
            region,
            self.endpoint_url,
            connect_timeout=self.timeouts.connect,
            read_timeout=self.timeouts.read,
            max_retry_attempts=self.timeouts.retries,
        )
        for page in model.scan().page_iter:
            for raw in page.get("Items", ()):
                try:
                    yield row_attributes(model.from_raw_data(raw))
                except (PynamoDBException, ValueError, TypeError, KeyError) as error:
                    key = raw.get("hk", {}).get("S", "?") if isinstance(raw.get("hk"), dict) else "?"
                    yield MappingError(f"row {key!r}: cannot be read ({error})")


def _describe(error: BaseException) -> str:
    """A short reason for the log, keeping the botocore error code when there is one."""
    cause = error.__cause__ or error
    code = getattr(error, "cause_response_code", None)
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return f"{code}: {text}" if code else f"{type(cause).__name__}: {text}"[:300]
