"""Commit one DynamoDB transaction safely when its outcome can be unknown: one idempotency token, bounded retries.

TransactWriteItems is idempotent per ``ClientRequestToken`` for 10 minutes: the same request sent again with the
same token succeeds without writing twice when the first one committed. A request that was sent and got no
answer (a read timeout, a dropped connection, a 500) may or may not have committed, so it is retried with the
same token. When the answer stays out, or a later attempt is refused in a way that cannot tell our own earlier
commit from someone else's change (a failed condition), the rows are read back: if they hold exactly what this
transaction wrote, it committed; if not, its outcome is reported as unknown, never as "not applied".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from pynamodb.exceptions import TransactWriteError

from .aws import error_code
from .errors import AdminError

TRANSACTION_LIMIT = 100
"""TransactWriteItems groups at most 100 actions (DynamoDB API reference, TransactWriteItems; it was 25 before
September 2022)."""
IDEMPOTENCY_WINDOW = 600.0
"""Seconds DynamoDB remembers a ``ClientRequestToken``."""

_UNCERTAIN_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "TransactionInProgressException"})
_THROTTLED_CODES = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "LimitExceededException"}
)

_Item = TypeVar("_Item")


def chunked(items: Sequence[_Item], size: int = TRANSACTION_LIMIT) -> list[Sequence[_Item]]:
    """Split actions into transactions of at most ``size``."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    return [items[start : start + size] for start in range(0, len(items), size)]


class Failure(Enum):
    """What a failed attempt says about the transaction."""

    NOT_SENT = "not sent"
    """It never reached DynamoDB (no connection) or was turned away before any work (throttled): retry."""
    UNCERTAIN = "uncertain"
    """It was sent and no answer came (timeout, closed connection, 5xx, still in progress): retry, same token."""
    REFUSED = "refused"
    """A definite answer: nothing was written (cancelled, invalid, not allowed)."""


def classify(error: TransactWriteError) -> Failure:
    """Whether a failed TransactWriteItems call may have committed."""
    cause = error.cause
    if isinstance(cause, HTTPClientError):
        return Failure.UNCERTAIN
    if isinstance(cause, BotoConnectionError):
        return Failure.NOT_SENT
    code = error_code(error)
    if code in _UNCERTAIN_CODES:
        return Failure.UNCERTAIN
    if code in _THROTTLED_CODES:
        return Failure.NOT_SENT
    return Failure.REFUSED


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long one transaction is tried; all attempts stay well inside the idempotency window."""

    attempts: int = 3
    first_delay: float = 0.5
    window: float = IDEMPOTENCY_WINDOW - 60


class OutcomeUnknownError(AdminError):
    """DynamoDB may or may not have committed the transaction: no answer came, and the rows do not show it."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(f"outcome unknown after {attempts} attempt(s): {reason}")


def commit(
    send: Callable[[], None],
    *,
    translate: Callable[[TransactWriteError], AdminError],
    committed: Callable[[], bool],
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Send one transaction (``send`` must send the same request, token included, every time) until it has an
    outcome. Returns when it committed; raises ``translate``'s error when it certainly did not, and
    ``OutcomeUnknownError`` when nobody can tell. ``committed`` reads the rows back to find out."""
    uncertain = False
    started = clock()
    delay = policy.first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            send()
            return
        except TransactWriteError as error:
            failure = classify(error)
            last = error
        if failure is Failure.REFUSED:
            if not uncertain:
                raise translate(last) from last
            break
        uncertain = uncertain or failure is Failure.UNCERTAIN
        if attempt >= policy.attempts or clock() + delay - started > policy.window:
            break
        sleep(delay)
        delay *= 2
    if not uncertain:
        raise translate(last) from last
    if committed():
        return
    raise OutcomeUnknownError(translate(last).message, attempt) from last
