"""``make load`` works end to end (a small run; the figures themselves are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

LOAD = Path(__file__).resolve().parents[2] / "scripts" / "load.py"


def test_a_small_load_run_routes_every_request_correctly() -> None:
    result = subprocess.run(
        [sys.executable, str(LOAD), "--requests", "200", "--concurrency", "4", "--time-limit", "60"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every answer was the right one" in result.stdout
    assert "ratio edge/direct" in result.stdout
