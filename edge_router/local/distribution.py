"""What template.yaml's CloudFront distribution tells the local CloudFront to do.

The router settings on the origin (``OriginCustomHeaders``), the default cache behaviour's cache policy, and its
Lambda@Edge associations (``EventType`` -> ``!Ref <Function>.Version`` -> that function's ``Handler``). Values
are resolved with the template's parameter defaults, overridden by the local options (``--header-name`` is
``ApiVersionHeaderName``, ``--edge-default-ttl`` is ``CacheDefaultTTL`` ...). Anything that needs a deployed stack
(a table's generated name, joined region lists) has no value here; the local options supply it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import config
from .apigateway import LambdaHandler, TemplateError
from .edge_cache import CachePolicy, NameFilter

EVENT_TYPES = ("viewer-request", "origin-request", "origin-response", "viewer-response")


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Each parameter's value: the override when given, else its ``Default``."""
    parameters = template.get("Parameters") or {}
    values = {name: spec.get("Default") for name, spec in parameters.items() if isinstance(spec, dict)}
    values.update(overrides)
    return values


def resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """A literal, a ``Ref`` to a parameter, or an ``Fn::Split`` of those; ``None`` for anything else."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters.get(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::Split"}:
        separator, text = value["Fn::Split"]
        resolved = resolve(text, parameters)
        return str(resolved).split(separator) if resolved is not None else None
    return value if isinstance(value, str | int | float | bool) else None


def _distribution_config(template: Mapping[str, Any]) -> dict[str, Any]:
    for resource in (template.get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudFront::Distribution":
            distribution: dict[str, Any] = (resource.get("Properties") or {}).get("DistributionConfig") or {}
            return distribution
    raise TemplateError("the template defines no CloudFront distribution")


def origin_settings(template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The router settings the distribution puts on its origins as ``custom-apigw-*`` custom headers."""
    values = parameter_values(template, {}) if parameters is None else parameters
    settings: dict[str, str] = {}
    try:
        origins = _distribution_config(template).get("Origins") or []
    except TemplateError:
        return settings
    for origin in (origin for origin in origins if isinstance(origin, dict)):
        for header in origin.get("OriginCustomHeaders") or []:
            name = str(header.get("HeaderName", "")).lower()
            value = resolve(header.get("HeaderValue"), values)
            if name.startswith(config.PREFIX) and isinstance(value, str | int | float) and str(value) != "":
                settings[name] = str(value)
    return settings


def _filter(key: Mapping[str, Any], kind: str, parameters: Mapping[str, Any]) -> NameFilter:
    """``HeadersConfig`` / ``QueryStringsConfig`` / ``CookiesConfig``: the behaviour and the names it lists."""
    block = key.get(f"{kind}sConfig") or {}
    raw = block.get(f"{kind}s")
    listed = resolve(raw, parameters) if isinstance(raw, dict) else raw
    names = [resolve(item, parameters) for item in listed] if isinstance(listed, list) else []
    return NameFilter(
        str(resolve(block.get(f"{kind}Behavior"), parameters) or "none"),
        frozenset(str(name) for name in names if name is not None),
    )


def _ttl(value: Any, parameters: Mapping[str, Any], fallback: int) -> int:
    resolved = resolve(value, parameters)
    return int(resolved) if resolved is not None and str(resolved).isdigit() else fallback


def cache_policy(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> CachePolicy:
    """The default cache behaviour's policy: ``CachePolicyId: !Ref <AWS::CloudFront::CachePolicy>`` in the template."""
    behavior = _distribution_config(template).get("DefaultCacheBehavior") or {}
    reference = behavior.get("CachePolicyId")
    name = reference.get("Ref") if isinstance(reference, dict) else None
    resource = (template.get("Resources") or {}).get(name) if isinstance(name, str) else None
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::CloudFront::CachePolicy":
        raise TemplateError("the default cache behaviour has no cache policy defined in the template")
    policy = (resource.get("Properties") or {}).get("CachePolicyConfig") or {}
    key = policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    headers = _filter(key, "Header", parameters)
    if headers.behavior != "whitelist":
        raise TemplateError("the cache policy must list its headers (HeaderBehavior: whitelist)")
    methods = behavior.get("CachedMethods") or ["GET", "HEAD"]
    return CachePolicy(
        default_ttl=_ttl(policy.get("DefaultTTL"), parameters, 86_400),
        min_ttl=_ttl(policy.get("MinTTL"), parameters, 0),
        max_ttl=_ttl(policy.get("MaxTTL"), parameters, 31_536_000),
        headers=tuple(sorted(name.lower() for name in headers.names)),
        query_strings=_filter(key, "QueryString", parameters),
        cookies=_filter(key, "Cookie", parameters),
        gzip=resolve(key.get("EnableAcceptEncodingGzip"), parameters) is True,
        brotli=resolve(key.get("EnableAcceptEncodingBrotli"), parameters) is True,
        cached_methods=frozenset(str(method) for method in methods),
    )


def association_handlers(template: Mapping[str, Any]) -> dict[str, str]:
    """``EventType`` -> the associated function's ``Handler`` (``edge_router.handler.lambda_handler``)."""
    behavior = _distribution_config(template).get("DefaultCacheBehavior") or {}
    resources = template.get("Resources") or {}
    handlers: dict[str, str] = {}
    for association in behavior.get("LambdaFunctionAssociations") or []:
        event_type = association.get("EventType")
        arn = association.get("LambdaFunctionARN")
        reference = arn.get("Ref") if isinstance(arn, dict) else None
        if event_type not in EVENT_TYPES or not isinstance(reference, str) or not reference.endswith(".Version"):
            raise TemplateError(f"association {association!r} must name an event type and !Ref <Function>.Version")
        function = resources.get(reference.removesuffix(".Version"))
        handler = ((function or {}).get("Properties") or {}).get("Handler")
        if not isinstance(handler, str):
            raise TemplateError(f"{reference}: no function with a Handler in the template")
        handlers[event_type] = handler
    return handlers


def load_handler(handler: str) -> LambdaHandler:
    """Import ``package.module.function``. The edge functions' makefile build puts the package at the artifact
    root, so the handler module is this installed package itself (its warm state is what the stack resets)."""
    module_name, _, attribute = handler.rpartition(".")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise TemplateError(f"{handler} is not a function")
    return function  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Distribution:
    """The emulator's view of the distribution: settings, cache policy and the associated handlers."""

    settings: dict[str, str]
    policy: CachePolicy
    handlers: dict[str, LambdaHandler] = field(default_factory=dict)

    @classmethod
    def from_template(cls, template: Mapping[str, Any], overrides: Mapping[str, Any]) -> Distribution:
        parameters = parameter_values(template, overrides)
        handlers = {event: load_handler(path) for event, path in association_handlers(template).items()}
        unsupported = sorted(set(handlers) - {"origin-request", "origin-response"})
        if unsupported:
            raise TemplateError(f"the emulator runs origin-request and origin-response functions, not {unsupported}")
        return cls(origin_settings(template, parameters), cache_policy(template, parameters), handlers)
