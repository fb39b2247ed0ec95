"""Prepared answers: for one snapshot, one configuration and one stretch of time, what each request value gets.

Everything that depends only on the snapshot, the settings and the lifecycle window (origin fields, the
``api-version-route`` header, version lists, problem bodies, the log line's constant part) is computed once
here, so that a request costs a dict lookup and the assembly of its answer. A ``RouteTable`` is valid from the
last deprecation or sunset instant before it was built until the next one; the router builds a new one then.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii as json_string
from operator import itemgetter, mul
from typing import Any, Protocol

from .config import PREFIX, RouterConfig
from .context import ROUTE_HEADER, ROUTE_HEADER_KEY, RouteContext
from .lifecycle import format_instant, http_date
from .log import NO_VERSION, JsonLogger, request_template
from .mapping import Origin, VersionMapping
from .problems import copy_response, problem_response, version_list_header
from .selection import ProblemKind, Rule, Selection, select_version
from .snapshot import Snapshot
from .split import bucket, client_digest, client_id

MAX_MEMO = 4096
"""Distinct request values remembered per table; past that the memo starts over (hostile traffic stays bounded)."""
MAX_MEMO_KEY = 512
"""Longest request value remembered (real clients' Accept lists are shorter): a flood of large distinct values
is decided each time instead of filling the memo with kilobytes per entry."""
MAX_CLIENTS = 8192
"""Client identities whose keyed hash is remembered per table (clients repeat; the hash is the costly part)."""
Clients = dict[str, tuple[int, str]]
"""Client identity -> (position in the canary split, anonymous client id)."""
MAX_REQUEST_BYTES = 20_480
"""CloudFront's limit on a request without its body (URI, query string and headers)."""
READ_TIMEOUT = 30
KEEPALIVE_TIMEOUT = 5
_value = itemgetter("value")


class Decision(Protocol):
    """What a request value gets: ``Routed`` or ``Refused``."""

    def respond(
        self, request: dict[str, Any], request_id: str, cache: str, started: float, now: float
    ) -> dict[str, Any]:
        """The answer for CloudFront; writes the request's log line."""
        ...


class _Side:
    """One origin a version sends requests to (the main one, or its canary), with its prepared strings."""

    __slots__ = ("domain", "host", "path", "port", "protocol", "route", "route_bytes", "template")

    def __init__(self, origin: Origin, route: str, template: str) -> None:
        self.domain = origin.domain
        self.path = origin.path
        self.port = origin.port
        self.protocol = origin.protocol
        self.host = origin.host_header
        self.route = route
        self.template = template
        self.route_bytes = len(ROUTE_HEADER) + len(route) + len("host") + len(self.host) + 8


class Routed:
    """A request value that routes: rewrite the origin and ``Host``, add the route context, log one line."""

    __slots__ = (
        "_clients",
        "_clock",
        "_count_clients",
        "_emit",
        "_hash_key",
        "_keyed",
        "_split_header",
        "_threshold",
        "canary",
        "main",
    )

    def __init__(
        self,
        main: _Side,
        canary: _Side | None,
        *,
        threshold: int,
        count_clients: bool,
        config: RouterConfig,
        emit: Callable[[str], None],
        clock: Callable[[], float],
        clients: Clients,
    ) -> None:
        self.main = main
        self.canary = canary
        self._threshold = threshold
        self._count_clients = count_clients
        self._keyed = canary is not None or count_clients
        self._split_header = config.canary_key
        self._hash_key = config.hash_key
        self._emit = emit
        self._clock = clock
        self._clients = clients

    def respond(
        self, request: dict[str, Any], request_id: str, cache: str, started: float, now: float
    ) -> dict[str, Any]:
        """The routed request (a new dict; the event is not changed) and its log line.

        ``started`` is when the request began (the router's clock), ``now`` the wall-clock time in seconds.
        """
        headers = request["headers"]
        side = self.main
        client = ""
        if self._keyed:
            entries = headers.get(self._split_header) if self._split_header else None
            identity = (entries[0]["value"] if entries else "") or request["clientIp"]  # an empty value: the IP
            known = self._clients.get(identity)
            if known is None:
                digest = client_digest(identity, self._hash_key)
                known = (bucket(digest), client_id(digest))
                if len(self._clients) >= MAX_CLIENTS:
                    self._clients.clear()
                self._clients[identity] = known
            position, client = known
            if self.canary is not None and position < self._threshold:
                side = self.canary
        if any(map(str.startswith, headers, repeat(PREFIX))):  # a header named like a router setting: dropped
            forwarded = {n: v for n, v in headers.items() if not n.startswith(PREFIX)}
        else:
            forwarded = headers.copy()
        forwarded.pop(ROUTE_HEADER, None)
        routed = request.copy()
        routed["origin"] = {
            "custom": {
                "customHeaders": {},
                "domainName": side.domain,
                "keepaliveTimeout": KEEPALIVE_TIMEOUT,
                "path": side.path,
                "port": side.port,
                "protocol": side.protocol,
                "readTimeout": READ_TIMEOUT,
                "sslProtocols": ["TLSv1.2"],
            }
        }
        forwarded.pop("host", None)
        entries = forwarded.values()
        counts = list(map(len, entries))  # a header's name counts once per occurrence, as in CloudFront's limit
        size = (
            len(request["uri"])
            + len(request["querystring"])
            + sum(map(mul, map(len, forwarded), counts))
            + 4 * sum(counts)
            + sum(map(len, map(_value, chain.from_iterable(entries))))
        )
        forwarded["host"] = [{"key": "Host", "value": side.host}]
        if size + side.route_bytes <= MAX_REQUEST_BYTES:
            forwarded[ROUTE_HEADER] = [{"key": ROUTE_HEADER_KEY, "value": side.route}]
        routed["headers"] = forwarded
        duration = (self._clock() - started) * 1e6
        if self._count_clients:
            line = side.template % (json_string(request_id), cache, duration, client, now * 1000)
        else:
            line = side.template % (json_string(request_id), cache, duration, now * 1000)
        self._emit(line)
        return routed


class Refused:
    """A request value that gets a generated problem response (cached here, copied per request)."""

    __slots__ = ("_clock", "_emit", "_response", "_template")

    def __init__(
        self, response: dict[str, Any], template: str, emit: Callable[[str], None], clock: Callable[[], float]
    ) -> None:
        self._response = response
        self._template = template
        self._emit = emit
        self._clock = clock

    @property
    def response(self) -> dict[str, Any]:
        return self._response

    def respond(
        self, request: dict[str, Any], request_id: str, cache: str, started: float, now: float
    ) -> dict[str, Any]:
        duration = (self._clock() - started) * 1e6
        self._emit(self._template % (json_string(request_id), cache, duration, now * 1000))
        return copy_response(self._response)


class RouteTable:
    """The decisions for one snapshot and configuration, valid while ``valid_from <= now < valid_until``."""

    def __init__(
        self, snapshot: Snapshot, config: RouterConfig, now: float, logger: JsonLogger, clock: Callable[[], float]
    ) -> None:
        self.snapshot = snapshot
        self.config = config
        self._emit = logger.write
        self._clock = clock
        instants = snapshot.instants
        position = bisect_right(instants, now)
        self.valid_from = float(instants[position - 1]) if position else float("-inf")
        self.valid_until = float(instants[position]) if position < len(instants) else float("inf")
        self.now = now
        live = [m for m in snapshot.mappings.values() if not self._gone(m)]
        self.deprecated = tuple(sorted(m.key for m in live if self._deprecated(m)))
        self.supported = tuple(sorted(m.key for m in live if not self._deprecated(m)))
        self._supported_header = version_list_header(self.supported)
        self._deprecated_header = version_list_header(self.deprecated)
        self.memo: dict[Any, Decision] = {}
        self._clients: Clients = {}
        self._routes: dict[tuple[str, str, str, Rule], Decision] = {}

    def _gone(self, mapping: VersionMapping) -> bool:
        return mapping.sunset_at is not None and mapping.sunset_at <= self.now

    def _deprecated(self, mapping: VersionMapping) -> bool:
        return mapping.deprecated_at is not None and mapping.deprecated_at <= self.now

    def covers(self, snapshot: Snapshot, now: float) -> bool:
        """Whether these answers hold for ``snapshot`` at ``now``: an unchanged reload shares the mappings, so the
        prepared answers and the client hashes survive it."""
        return self.snapshot.mappings is snapshot.mappings and self.valid_from <= now < self.valid_until

    def decide(self, key: Any, header_values: Callable[[str], list[str]]) -> Decision:
        """The decision for a request value not seen yet in this table; remembered under ``key``."""
        config = self.config
        selection = select_version(header_values, config.version_headers, self.snapshot, config.header_labels)
        decision = self._decision(selection)
        if _key_size(key) <= MAX_MEMO_KEY:
            if len(self.memo) >= MAX_MEMO:
                self.memo.clear()
            self.memo[key] = decision
        return decision

    def _successor(self, mapping: VersionMapping) -> str | None:
        """The successor to name, if it is a version of this table (a skipped row's key is not)."""
        return mapping.successor if mapping.successor in self.snapshot.mappings else None

    def _decision(self, selection: Selection) -> Decision:
        mapping = selection.mapping
        if mapping is None:
            assert selection.problem is not None
            return self._refusal(selection)
        if self._gone(mapping):
            return self._gone_refusal(mapping, selection)
        identity = (mapping.key, selection.header, selection.key, selection.rule)
        routed = self._routes.get(identity)
        if routed is None:
            routed = self._routed(mapping, selection)
            self._routes[identity] = routed
        return routed

    def _routed(self, mapping: VersionMapping, selection: Selection) -> Routed:
        config = self.config
        deprecated = self._deprecated(mapping)
        successor = self._successor(mapping)
        base_fields: dict[str, Any] = {
            "status": "routed",
            "version": mapping.key,
            "key": selection.key,
            "header": selection.header,
            "rule": selection.rule.value,
        }
        outcome = "deprecated" if deprecated else "default" if selection.rule is Rule.DEFAULT else "routed"

        def side(origin: Origin, canary: bool) -> _Side:
            context = RouteContext(
                version=mapping.key,
                supported=self._supported_header,
                deprecated=self._deprecated_header,
                deprecation=mapping.deprecated_at,
                sunset=mapping.sunset_at,
                successor=successor,
                info=mapping.info_url,
                canary=canary,
                vary=", ".join(config.header_labels),
                edge_default_ttl=config.edge_default_ttl,
            )
            fields = {
                **base_fields,
                "origin": origin.host_header + origin.path,
                "side": "canary" if canary else "main",
                "outcome": "canary" if canary else outcome,
            }
            template = request_template(fields, namespace=config.metrics_namespace, client=deprecated)
            return _Side(origin, context.encode(), template)

        canary = mapping.canary
        canary_side = side(canary.origin, True) if canary is not None and canary.basis_points else None
        return Routed(
            side(mapping.origin, False),
            canary_side,
            threshold=canary.basis_points if canary is not None else 0,
            count_clients=deprecated,
            config=config,
            emit=self._emit,
            clock=self._clock,
            clients=self._clients,
        )

    def _problem(
        self, status: int, slug: str, detail: str, log: dict[str, Any], *, outcome: str, **extra: Any
    ) -> Refused:
        config = self.config
        response = problem_response(
            status,
            slug,
            detail,
            versions=self.supported,
            deprecated=self.deprecated,
            extra={"versionHeaders": list(config.header_labels), **extra},
        )
        fields = {"status": status, "version": NO_VERSION, "outcome": outcome, **log}
        template = request_template(fields, namespace=config.metrics_namespace)
        return Refused(response, template, self._emit, self._clock)

    def _refusal(self, selection: Selection) -> Refused:
        problem = selection.problem
        assert problem is not None
        status = 400 if problem.kind is ProblemKind.AMBIGUOUS else self.config.unknown_version_status
        log = {"problem": problem.kind.value, "value": problem.value}
        return self._problem(status, problem.kind.value, problem.detail, log, outcome=problem.kind.value)

    def _gone_refusal(self, mapping: VersionMapping, selection: Selection) -> Refused:
        assert mapping.sunset_at is not None
        successor = self._successor(mapping)
        detail = f"Version {mapping.key!r} was retired on {http_date(mapping.sunset_at)}."
        if successor is not None:
            detail += f" Use {successor!r} instead."
        extra: dict[str, Any] = {"version": mapping.key, "sunset": format_instant(mapping.sunset_at)}
        if successor is not None:
            extra["successor"] = successor
        refused = self._problem(
            410,
            "sunset-version",
            detail,
            {"version": mapping.key, "key": selection.key, "rule": selection.rule.value, "problem": "sunset-version"},
            outcome="gone",
            **extra,
        )
        headers = refused.response["headers"]
        headers["sunset"] = [{"key": "Sunset", "value": http_date(mapping.sunset_at)}]
        if mapping.info_url is not None:
            headers["link"] = [{"key": "Link", "value": f'<{mapping.info_url}>; rel="sunset"'}]
        return refused


def _key_size(key: Any) -> int:
    """Characters in a memo key (``router.memo_key``): a value, ``None``, or a tuple of values or (name, value)."""
    if key is None or isinstance(key, str):
        return len(key or "")
    return sum(len(item) if isinstance(item, str) else len(item[0]) + len(item[1]) for item in key)
