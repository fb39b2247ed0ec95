"""The ``edge-router`` command never shows a traceback: bad options, hostile files and unexpected errors all end
in one ``edge-router: error: ...`` line and exit status 2 (usage) or 1 (failure). No network: every case here
fails before a request would be sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_router.admin.table import MappingTable
from edge_router.cli import main

SCRIPT = Path(sys.executable).with_name("edge-router")
TARGET = ["--table", "ApiVersionMapping", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"]
"""Loopback (a closed port): nothing here may reach, or even try, a real AWS endpoint."""


@pytest.fixture
def deep_files(tmp_path: Path) -> dict[str, Path]:
    json_file = tmp_path / "deep.json"
    json_file.write_text('{"mappings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    yaml_file = tmp_path / "deep.yaml"
    yaml_file.write_text("mappings: " + "[" * 10_000 + "]" * 10_000 + "\n")
    return {"json": json_file, "yaml": yaml_file}


USAGE_ERRORS = [
    (["mappings", "list"], ["--endpoint-url", "notaurl"], "--endpoint-url 'notaurl' must be an http:// or https://"),
    (["mappings", "list"], ["--endpoint-url", "http://[::1"], "--endpoint-url 'http://[::1' is not a URL"),
    (["mappings", "list"], ["--region", "bad region"], "region 'bad region' is not an AWS region name"),
    (["mappings", "list"], ["--timeout", "nan"], "--timeout must be a number of seconds above 0 and at most 300"),
    (["mappings", "list"], ["--timeout", "inf"], "--timeout must be a number of seconds"),
    (["mappings", "list"], ["--timeout=-1"], "--timeout must be a number of seconds"),
    (["mappings", "list"], ["--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
    (["resolve"], ["--endpoint-url", "notaurl"], "--endpoint-url 'notaurl' must be"),
    (["resolve"], ["--region", "bad region"], "region 'bad region' is not an AWS region name"),
    (["resolve"], ["--timeout", "inf"], "--timeout must be a number of seconds"),
    (["mappings", "put", "v1"], ["--no-canary", "--canary-percent", "5"], "--no-canary removes the canary"),
    (["mappings", "put", "v1"], ["--no-deprecation", "--sunset-at", "2027-01-01"], "--no-deprecation clears"),
    (["mappings", "put", "v1"], ["--default", "--no-default"], "not allowed with argument --default"),
    (["mappings", "frobnicate"], [], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("command", "options", "message"), USAGE_ERRORS)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], command: list[str], options: list[str], message: str
) -> None:
    status = main([*command, *TARGET, *options])  # the case's own options come last, so they win
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith("edge-router: error: ") and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_deeply_nested_import_files_are_one_error(
    capsys: pytest.CaptureFixture[str], deep_files: dict[str, Path], kind: str
) -> None:
    status = main(["mappings", "import", str(deep_files[kind]), *TARGET])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    reason = f"not a mapping file: the {kind.upper()} is nested too deeply to read"
    assert err == f"edge-router: error: {deep_files[kind]}: {reason}\n"


def test_an_unexpected_error_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_self: MappingTable) -> list[object]:
        raise ValueError("something\nnobody expected")

    monkeypatch.setattr(MappingTable, "rows", broken)
    monkeypatch.delenv("EDGE_ROUTER_DEBUG", raising=False)
    assert main(["mappings", "list", *TARGET]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "edge-router: error: unexpected ValueError: something nobody expected "
        "(EDGE_ROUTER_DEBUG=1 shows the traceback)\n"
    )
    monkeypatch.setenv("EDGE_ROUTER_DEBUG", "1")
    assert main(["mappings", "list", *TARGET]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "in broken" in err
    assert err.splitlines()[-1] == "edge-router: error: unexpected ValueError: something nobody expected"


def test_an_interrupt_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_self: MappingTable) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(MappingTable, "rows", interrupted)
    assert main(["mappings", "list", *TARGET]) == 130
    assert capsys.readouterr().err == "edge-router: interrupted\n"


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mappings", "put", "--help"]) == 0
    assert "--deprecated-at WHEN" in capsys.readouterr().out
    assert main(["--version"]) == 0


def test_the_installed_command_prints_no_traceback(deep_files: dict[str, Path]) -> None:
    if not SCRIPT.exists():
        pytest.skip("console script not installed (pip install -e .)")
    for command, options, status in (
        (["mappings", "list"], ["--endpoint-url", "notaurl"], 2),
        (["mappings", "list"], ["--endpoint-url", "http://[::1"], 2),
        (["resolve"], ["--region", "bad region"], 2),
        (["mappings", "list"], ["--timeout", "nan"], 2),
        (["mappings", "import", str(deep_files["json"])], [], 1),
        (["mappings", "import", str(deep_files["yaml"])], [], 1),
    ):
        argv = [str(SCRIPT), *command, *TARGET, *options]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == status, (argv, result.stderr)
        assert result.stderr.startswith("edge-router: error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
