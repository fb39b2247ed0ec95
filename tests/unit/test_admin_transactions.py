"""One transaction with an unknown outcome: classification, retries with one token, read-back. No network."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import TransactWriteError

from edge_router.admin.errors import AdminError
from edge_router.admin.transactions import (
    TRANSACTION_LIMIT,
    Failure,
    OutcomeUnknownError,
    RetryPolicy,
    chunked,
    classify,
    commit,
)


def failure(cause: Exception) -> TransactWriteError:
    return TransactWriteError("Failed to write transaction items", cause)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "TransactWriteItems")


READ_TIMEOUT = failure(ReadTimeoutError(endpoint_url="http://127.0.0.1:1"))
REFUSED_CONNECTION = failure(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
CANCELLED = failure(client_error("TransactionCanceledException"))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (READ_TIMEOUT, Failure.UNCERTAIN),
        (failure(client_error("InternalServerError")), Failure.UNCERTAIN),
        (failure(client_error("TransactionInProgressException")), Failure.UNCERTAIN),
        (REFUSED_CONNECTION, Failure.NOT_SENT),
        (failure(ConnectTimeoutError(endpoint_url="http://127.0.0.1:1")), Failure.NOT_SENT),
        (failure(client_error("ThrottlingException")), Failure.NOT_SENT),
        (CANCELLED, Failure.REFUSED),
        (failure(client_error("ValidationException")), Failure.REFUSED),
        (failure(client_error("IdempotentParameterMismatchException")), Failure.REFUSED),
    ],
)
def test_classify(error: TransactWriteError, kind: Failure) -> None:
    assert classify(error) is kind


class Script:
    """A ``send`` that fails with the scripted errors in turn, then succeeds; counts calls and sleeps."""

    def __init__(self, *errors: TransactWriteError) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.sleeps: list[float] = []

    def send(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)

    def run(self, committed: Callable[[], bool] = lambda: False, policy: RetryPolicy | None = None) -> None:
        commit(
            self.send,
            translate=lambda error: AdminError(f"translated {classify(error).value}"),
            committed=committed,
            policy=policy or RetryPolicy(),
            sleep=self.sleeps.append,
            clock=lambda: 100.0 + sum(self.sleeps),
        )


def test_an_uncertain_attempt_is_retried_and_the_retry_commits() -> None:
    script = Script(READ_TIMEOUT)
    script.run()
    assert (script.calls, script.sleeps) == (2, [0.5])


def test_a_refusal_without_earlier_doubt_is_the_plain_error() -> None:
    script = Script(CANCELLED)
    with pytest.raises(AdminError, match="translated refused"):
        script.run(committed=lambda: pytest.fail("no read-back needed"))
    assert script.calls == 1


def test_connection_refused_every_time_means_not_applied() -> None:
    script = Script(REFUSED_CONNECTION, REFUSED_CONNECTION, REFUSED_CONNECTION)
    with pytest.raises(AdminError, match="translated not sent") as caught:
        script.run(committed=lambda: pytest.fail("nothing was sent: no read-back"))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert (script.calls, script.sleeps) == (3, [0.5, 1.0])


def test_a_failed_condition_after_a_timeout_is_our_own_commit_when_the_rows_show_it() -> None:
    script = Script(READ_TIMEOUT, CANCELLED)  # an emulator that does not honour the token says "condition failed"
    script.run(committed=lambda: True)
    assert script.calls == 2


def test_no_answer_and_rows_that_do_not_show_the_write_is_an_unknown_outcome() -> None:
    script = Script(READ_TIMEOUT, REFUSED_CONNECTION, READ_TIMEOUT)
    with pytest.raises(OutcomeUnknownError, match=r"outcome unknown after 3 attempt\(s\): translated uncertain"):
        script.run()
    script = Script(READ_TIMEOUT, CANCELLED)  # someone else changed the rows, or our write is not visible
    with pytest.raises(OutcomeUnknownError, match="after 2 attempt"):
        script.run()


def test_no_answer_but_the_rows_show_the_write_is_a_commit() -> None:
    script = Script(READ_TIMEOUT, READ_TIMEOUT, READ_TIMEOUT)
    script.run(committed=lambda: True)
    assert script.calls == 3


def test_retries_stay_inside_the_idempotency_window() -> None:
    script = Script(READ_TIMEOUT, READ_TIMEOUT)
    with pytest.raises(OutcomeUnknownError, match="after 1 attempt"):
        script.run(policy=RetryPolicy(attempts=5, first_delay=10.0, window=5.0))
    assert script.sleeps == []


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50])])
def test_chunks_stay_within_the_transaction_limit(count: int, sizes: list[int]) -> None:
    assert [len(chunk) for chunk in chunked(list(range(count)))] == sizes
    assert TRANSACTION_LIMIT == 100
    with pytest.raises(ValueError, match="positive"):
        chunked([1], 0)
