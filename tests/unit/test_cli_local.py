"""``edge-router local``'s usage errors: one ``edge-router: error:`` line and exit 2 before anything starts."""

from __future__ import annotations

import pytest

from edge_router.cli import main


@pytest.mark.parametrize("option", ["--port", "--api-port", "--dynamodb-port"])
@pytest.mark.parametrize("value", ["70000", "65536", "-1", "80a", "9" * 5000])
def test_a_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    assert main(["local", option, value]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"edge-router: error: argument {option}: ") and err.count("\n") == 1, err
    assert "is not a port number (0 to 65535" in err
