"""Nearest-replica ordering for the global table."""

from __future__ import annotations

from edge_router.regions import nearest_first

REPLICAS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def test_executing_region_first_then_by_distance() -> None:
    assert nearest_first("eu-west-1", REPLICAS) == ("eu-west-1", "us-east-1", "ap-southeast-2")
    assert nearest_first("eu-central-1", REPLICAS)[0] == "eu-west-1"
    assert nearest_first("ap-southeast-4", REPLICAS)[0] == "ap-southeast-2"
    assert nearest_first("us-west-2", REPLICAS)[0] == "us-east-1"


def test_unknown_regions_keep_configured_order() -> None:
    assert nearest_first(None, REPLICAS) == REPLICAS
    assert nearest_first("xx-nowhere-1", REPLICAS) == REPLICAS
    assert nearest_first("eu-west-1", ("zz-new-1", "us-east-1")) == ("us-east-1", "zz-new-1")
