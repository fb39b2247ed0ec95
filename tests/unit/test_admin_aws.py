"""AWS's error code and message, read the same way from botocore's and PynamoDB's errors; CloudFormation calls."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import PutError

from edge_router.admin.aws import error_code, error_details, error_text, stack_call
from edge_router.admin.errors import AdminError

THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Scan")
NO_CONNECTION = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")


@pytest.mark.parametrize("error", [THROTTLED, PutError("Failed to put item", THROTTLED)])
def test_code_and_message_from_botocore_or_behind_pynamodb(error: Exception) -> None:
    assert error_details(error) == ("ThrottlingException", "Rate exceeded")
    assert error_code(error) == "ThrottlingException"
    assert error_text(error) == "ThrottlingException: Rate exceeded"


@pytest.mark.parametrize("error", [NO_CONNECTION, PutError("Failed to put item", NO_CONNECTION), ValueError("x")])
def test_no_answer_has_no_code(error: Exception) -> None:
    assert error_details(error) == (None, None)
    assert error_text(error) == str(error)


def test_a_failed_stack_call_names_the_stack() -> None:
    assert stack_call("edge", lambda: 42) == 42

    def refused() -> int:
        raise ClientError({"Error": {"Code": "ValidationError", "Message": "Stack with id x does not exist"}}, "Call")

    with pytest.raises(AdminError, match=r"^stack 'x': ValidationError: Stack with id x does not exist$"):
        stack_call("x", refused)

    def unreachable() -> int:
        raise NO_CONNECTION

    with pytest.raises(AdminError, match=r"^stack 'x': Could not connect to the endpoint URL"):
        stack_call("x", unreachable)
