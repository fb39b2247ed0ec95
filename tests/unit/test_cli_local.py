"""``edge-router local``'s usage errors: one ``edge-router: error:`` line and exit 2 before anything starts."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--dynamodb-endpoint", "notaurl"], "--dynamodb-endpoint 'notaurl' must be an http:// or https:// URL"),
        (["--dynamodb-endpoint", "http://[::1"], "--dynamodb-endpoint 'http://[::1' is not a URL"),
        (
            ["--persist", "--dynamodb-endpoint", "http://127.0.0.1:9"],
            "--persist and --data-file are for the embedded DynamoDB; an endpoint keeps its own data",
        ),
        (["--edge-max-ttl", "0"], "--edge-max-ttl must be at least 1"),
    ],
)
def test_contradictory_or_malformed_options_exit_2(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert main(["local", *options]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"edge-router: error: {message}") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the template {path}: No such file or directory"),
        ("Resources: [unclosed\n", "the template {path} is not valid YAML: "),
        (b"\xff\xfe not text", "the template {path} is not UTF-8 text"),
        ("- a list\n", "{path} is not a template"),
    ],
)
def test_a_template_that_cannot_be_read_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "template.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["local", "--port", "0", "--api-port", "0", "--dynamodb-port", "0", "--template", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("edge-router: error: " + message.format(path=path)) and err.count("\n") == 1, err
