"""The Lambda@Edge origin-request entry point. A few lines: the work happens in ``Router``."""

from __future__ import annotations

import os
from typing import Any

from .mapping import local_origins_enabled
from .problems import problem_response
from .router import Router

_router: Router | None = None


def get_router() -> Router:
    """The warm router of this execution environment, built on first use (not at import)."""
    global _router  # noqa: PLW0603 - the one piece of module state: the warm cache's owner
    if _router is None:
        _router = Router(
            executing_region=os.environ.get("AWS_REGION"),
            allow_local_origins=local_origins_enabled(),
        )
    return _router


def reset_router() -> None:
    """Forget the warm router (tests, and the local stack when its settings change)."""
    global _router  # noqa: PLW0603
    _router = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFront origin-request handler: returns the routed request or a generated problem response."""
    try:
        return get_router().handle(event)
    except Exception:  # Router.handle never raises; this guards only its construction
        return problem_response(503, "internal-error", "The router failed unexpectedly; retry shortly.")
