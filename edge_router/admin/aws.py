"""What the admin commands read from AWS's failures, and their CloudFormation calls.

One place takes the error code and message out of an AWS answer, whether botocore raised it (``ClientError``) or
PynamoDB wrapped it (its ``cause``), so every command reports AWS's refusals the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from .errors import AdminError

_Answer = TypeVar("_Answer")


def error_details(error: BaseException) -> tuple[str | None, str | None]:
    """AWS's error code and message (``ThrottlingException``, ``Rate exceeded``) from a botocore ``ClientError`` or
    the one behind a PynamoDB error; ``None`` for what the answer did not say, or when no answer came."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        response = getattr(getattr(error, "cause", None), "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    if not isinstance(details, dict):
        return None, None
    code, message = details.get("Code"), details.get("Message")
    return (str(code) if code else None), (str(message) if message else None)


def error_code(error: BaseException) -> str | None:
    """AWS's error code behind ``error``, if the request got an answer at all."""
    return error_details(error)[0]


def error_text(error: BaseException) -> str:
    """``Code: message`` for an AWS answer; the error's own text otherwise (no credentials, no connection)."""
    code, message = error_details(error)
    if code is None and message is None:
        return str(error)
    return f"{code or 'error'}: {message or error}"


def stack_call(stack: str, call: Callable[[], _Answer]) -> _Answer:
    """The answer of one CloudFormation call about ``stack``; a failure is one ``AdminError`` naming the stack."""
    try:
        return call()
    except (ClientError, BotoCoreError) as error:
        raise AdminError(f"stack {stack!r}: {error_text(error)}") from None
