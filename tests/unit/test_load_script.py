"""scripts/load.py's own logic, without a stack: which origin a URL names, and the ratio line when a run did nothing."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

from edge_router.local.origin import Target

LOAD = Path(__file__).resolve().parents[2] / "scripts" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_script", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("url", "target", "host"),
    [
        ("http://127.0.0.1:8080", Target("http", "127.0.0.1", 8080), "127.0.0.1:8080"),
        ("http://localhost/", Target("http", "localhost", 80), "localhost"),
        ("https://d111111abcdef8.cloudfront.net", Target("https", "d111111abcdef8.cloudfront.net", 443), None),
        ("https://edge.example:8443", Target("https", "edge.example", 8443), "edge.example:8443"),
    ],
)
def test_the_url_names_scheme_host_and_port(load: ModuleType, url: str, target: Target, host: str | None) -> None:
    assert load.target_for(url) == (target, host or target.host)


@pytest.mark.parametrize("url", ["ftp://h", "127.0.0.1:8080", "http://", "http://h/Prod"])
def test_other_urls_are_refused(load: ModuleType, url: str) -> None:
    with pytest.raises(ValueError, match=repr(url)):
        load.target_for(url)


def test_a_run_that_completed_nothing_has_no_ratio(load: ModuleType) -> None:
    assert load.ratio_line(100.0, 2.0, 0.0, float("nan")) == "ratio edge/direct: none (a run completed no request)"
    assert load.ratio_line(0.0, float("nan"), 50.0, 1.0) == "ratio edge/direct: none (a run completed no request)"
    assert load.ratio_line(100.0, 2.0, 50.0, 1.0) == "ratio edge/direct: throughput 2.00x, p50 latency 2.00x"


@pytest.mark.parametrize(
    ("samples", "fraction", "expected"),
    [([3.0, 1.0, 2.0, 4.0], 0.5, 2.0), ([5.0], 0.99, 5.0), ([float(n) for n in range(1, 101)], 0.99, 99.0)],
)
def test_percentile_is_the_nearest_rank(
    load: ModuleType, samples: list[float], fraction: float, expected: float
) -> None:
    assert load.percentile(samples, fraction) == expected


def test_percentile_of_nothing_is_nan(load: ModuleType) -> None:
    assert math.isnan(load.percentile([], 0.5))
