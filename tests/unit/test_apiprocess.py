"""The API Gateway emulator's child process: a child that cannot start says why in one line, and the parent's
``ApiGatewayError`` passes that line on (no traceback, no "it said nothing")."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_router.local import apiprocess
from edge_router.local.apiprocess import ApiGatewayError, ApiGatewayProcess

NO_ROUTES = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n"
ROOT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(autouse=True)
def _keep_sigint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child ignores SIGINT; pytest's own process must not."""
    monkeypatch.setattr(apiprocess.signal, "signal", lambda *_args: None)


def _child(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = apiprocess.main(list(args))
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


def test_a_template_without_routes_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(NO_ROUTES)
    status, out = _child(capsys, "--template", str(template), "--host", "127.0.0.1", "--port", "0")
    assert (status, out) == (1, "failed the template defines no API Gateway (Api) events\n")


def test_a_function_without_a_handler_names_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {}\n")
    status, out = _child(capsys, "--template", str(template), "--host", "127.0.0.1", "--port", "0")
    assert (status, out) == (1, "failed KeyError: 'Handler'\n")


def test_a_port_out_of_range_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _child(capsys, "--template", str(ROOT_TEMPLATE), "--host", "127.0.0.1", "--port", "70000")
    assert status == 1
    assert out.startswith("failed OverflowError: ") and out.count("\n") == 1, out


def test_the_parent_passes_the_childs_reason_on(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(NO_ROUTES)
    process = ApiGatewayProcess(template, "127.0.0.1", 0)
    with pytest.raises(ApiGatewayError) as raised:
        process.start()
    assert str(raised.value) == (
        "the API Gateway emulator did not start: the template defines no API Gateway (Api) events"
    )
