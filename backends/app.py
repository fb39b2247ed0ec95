"""API Gateway (REST, proxy integration) handler for one API version: ``/hello`` answers, everything else is JSON.

Deployed at the artifact root as ``app.py`` (handler ``app.lambda_handler``), so it imports nothing from this repo.
API Gateway sends the resource path without the stage (``/v1/hello``); the first segment is the version prefix, and
routing looks only at what follows it, so the same code serves ``/v1`` and ``/v2``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

LOGGER = logging.getLogger(__name__)
JSON_HEADERS = {"Content-Type": "application/json"}
HELLO_METHODS = ("GET", "HEAD")


def response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {"statusCode": status, "headers": {**JSON_HEADERS, **(headers or {})}, "body": json.dumps(body)}


def hello(_event: dict[str, Any]) -> dict[str, Any]:
    """The sample's answer; the version text comes from ``API_VER`` (``v.1``, ``v.2``) as in the original."""
    return response(200, {"message": f"API {os.environ.get('API_VER', 'unknown')}: Hello world!"})


ROUTES: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "/hello": (HELLO_METHODS, hello),
}


def route_path(path: str) -> str:
    """The path after the version prefix: ``/v1/hello`` -> ``/hello``, ``/v1`` -> ``/``; trailing ``/`` ignored."""
    segments = [segment for segment in path.split("/") if segment]
    return "/" + "/".join(segments[1:])


def dispatch(event: dict[str, Any]) -> dict[str, Any]:
    """Route one proxy event: 200 from the route, 404 for an unknown path, 405 (with ``Allow``) for a bad method."""
    path = event.get("path")
    method = event.get("httpMethod")
    if not isinstance(path, str) or not isinstance(method, str):
        return response(400, {"message": "Bad Request"})
    route = ROUTES.get(route_path(path))
    if route is None:
        return response(404, {"message": "Not Found"})
    methods, handler = route
    if method.upper() not in methods:
        return response(405, {"message": "Method Not Allowed"}, {"Allow": ", ".join(methods)})
    return handler(event)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Entry point. Any unexpected error becomes a JSON 500: clients never see a stack trace."""
    try:
        if not isinstance(event, dict):
            return response(400, {"message": "Bad Request"})
        return dispatch(event)
    except Exception:
        LOGGER.exception("unhandled error")
        return response(500, {"message": "Internal Server Error"})
