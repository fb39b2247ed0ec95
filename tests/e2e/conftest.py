"""One local stack for the end-to-end suite, started on free ports through the same code as ``edge-router local``.

Package-scoped: the stack sets process environment variables (the DynamoDB endpoint, local origins) until it
stops, so it must be gone before other suites run in the same process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge_router.local.stack import LocalStack, StackOptions

E2E_CACHE_TTL = 1.0
"""Short, so the admin-edit test sees a new row quickly (the router's minimum)."""


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackOptions(port=0, api_port=0, dynamodb_port=0, cache_ttl=E2E_CACHE_TTL)) as running:
        yield running
