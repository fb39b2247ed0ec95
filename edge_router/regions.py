"""Choose which DynamoDB global-table replica to read first: the one nearest to where the function runs.

Lambda@Edge runs in the regional edge cache region nearest the viewer (``AWS_REGION``); a global table has no
global endpoint, so the caller orders the replicas itself and falls back to the next on failure.
"""

from __future__ import annotations

import math

# Approximate locations (latitude, longitude) of AWS regions, for ordering replicas by great-circle distance.
REGION_COORDINATES: dict[str, tuple[float, float]] = {
    "us-east-1": (38.9, -77.4),
    "us-east-2": (40.0, -83.0),
    "us-west-1": (37.4, -121.9),
    "us-west-2": (45.8, -119.7),
    "ca-central-1": (45.5, -73.6),
    "ca-west-1": (51.0, -114.1),
    "mx-central-1": (20.6, -100.4),
    "sa-east-1": (-23.5, -46.6),
    "eu-west-1": (53.3, -6.3),
    "eu-west-2": (51.5, -0.1),
    "eu-west-3": (48.9, 2.3),
    "eu-central-1": (50.1, 8.7),
    "eu-central-2": (47.4, 8.5),
    "eu-north-1": (59.3, 18.1),
    "eu-south-1": (45.5, 9.2),
    "eu-south-2": (41.6, -0.9),
    "me-south-1": (26.1, 50.6),
    "me-central-1": (25.2, 55.3),
    "il-central-1": (32.1, 34.8),
    "af-south-1": (-33.9, 18.4),
    "ap-east-1": (22.3, 114.2),
    "ap-east-2": (25.0, 121.5),
    "ap-south-1": (19.1, 72.9),
    "ap-south-2": (17.4, 78.5),
    "ap-northeast-1": (35.7, 139.7),
    "ap-northeast-2": (37.6, 127.0),
    "ap-northeast-3": (34.7, 135.5),
    "ap-southeast-1": (1.3, 103.8),
    "ap-southeast-2": (-33.9, 151.2),
    "ap-southeast-3": (-6.2, 106.8),
    "ap-southeast-4": (-37.8, 145.0),
    "ap-southeast-5": (3.1, 101.7),
    "ap-southeast-7": (13.8, 100.5),
}


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def nearest_first(executing_region: str | None, replicas: tuple[str, ...]) -> tuple[str, ...]:
    """Replicas ordered nearest to ``executing_region`` first; unknown regions keep their configured order last.

    The executing region itself comes first when it is a replica. With no known executing region the configured
    order is kept.
    """
    origin = REGION_COORDINATES.get(executing_region or "")
    if origin is None:
        return replicas

    def rank(item: tuple[int, str]) -> tuple[int, float, int]:
        index, region = item
        if region == executing_region:
            return (0, 0.0, index)
        where = REGION_COORDINATES.get(region)
        return (1, _distance_km(origin, where), index) if where else (2, 0.0, index)

    return tuple(region for _, region in sorted(enumerate(replicas), key=rank))
