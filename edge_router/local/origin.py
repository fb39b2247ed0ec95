"""Origin clients of the local stack: keep-alive HTTP/1.1 over raw sockets, with ``framing``'s rules.

- ``OriginPool`` is blocking, one pool of idle connections per thread: ``make load``'s clients use it, so the load
  generator costs as little as it can next to what it measures.
- ``AsyncOriginPool`` runs on the CloudFront emulator's event loop: it sends the request the origin-request function
  routed and hands the answer's head and body pieces to an exchange as they arrive.

Both reuse an idle connection only within the origin's ``keepaliveTimeout``, retry once on a new connection when a
reused one was closed by the origin before any answer byte came, and send nothing the caller did not pass (no
``User-Agent`` or ``Accept-Encoding`` of a client library).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BufferedReader
from typing import Protocol, cast

from .framing import (
    MAX_RESPONSE_HEAD,
    ChunkedDecoder,
    FramingError,
    ResponseFraming,
    head_end,
    parse_response_head,
    request_bytes,
    response_framing,
)

CONNECT_TIMEOUT = 10.0
"""CloudFront's default origin connection timeout, in seconds."""


class OriginError(Exception):
    """The origin could not be reached, did not answer in time, or answered something that is not HTTP."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: ``http`` or ``https``, host and port."""

    scheme: str
    host: str
    port: int


def _connect_failed(target: Target, error: OSError) -> OriginError:
    """Why no connection to the origin could be made (a ``TimeoutError`` is the connect timeout)."""
    if isinstance(error, TimeoutError):
        return OriginError(f"connecting to {target.host}:{target.port} timed out", timeout=True)
    return OriginError(f"cannot connect to {target.host}:{target.port}: {error}")


def _read_timed_out() -> OriginError:
    """CloudFront's read timeout passed: no answer byte came in time."""
    return OriginError("the origin did not answer within the read timeout", timeout=True)


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the router's sslProtocols: ["TLSv1.2"]
    return context


# ------------------------------------------------------------------------------------------------ blocking
@dataclass(slots=True)
class _Conn:
    target: Target
    sock: socket.socket
    rfile: BufferedReader = field(repr=False)
    last_used: float = 0.0
    reused: bool = False


class OriginResponse:
    """The origin's status and headers; the body is read with ``chunks`` or ``read_all`` (once)."""

    def __init__(
        self, pool: OriginPool, conn: _Conn, status: int, reason: str, headers: list[tuple[str, str]], *, method: str
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._pool = pool
        self._conn: _Conn | None = conn
        self.framing = response_framing(method, status, headers)

    @property
    def has_body(self) -> bool:
        return not self.framing.no_body

    @property
    def length(self) -> int | None:
        return self.framing.length

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The body as it arrives; the connection goes back to the pool once it is read to the end."""
        conn = self._conn
        if conn is None:
            return
        read = conn.rfile.read1
        framing = self.framing
        try:
            if framing.chunked:
                decoder = ChunkedDecoder()
                done = False
                while not done:
                    data = read(size)
                    if not data:
                        raise OriginError("the origin closed the connection inside a chunked body")
                    piece, done = decoder.feed(data)
                    if piece:
                        yield piece
            elif framing.length is not None:
                remaining = framing.length
                while remaining:
                    data = read(min(size, remaining))
                    if not data:
                        raise OriginError("the origin closed the connection before the end of the body")
                    remaining -= len(data)
                    yield data
            elif framing.until_close:
                while data := read(size):
                    yield data
        except (OSError, FramingError) as error:
            self.close()
            raise OriginError(f"reading the body failed: {error}") from error
        except BaseException:
            self.close()
            raise
        self._release()

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self.framing.reusable:
                self._pool.release(conn)
            else:
                _close(conn)

    def close(self) -> None:
        """Give up on the rest of the body: the connection cannot be reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)


def _close(conn: _Conn) -> None:
    try:
        conn.rfile.close()
        conn.sock.close()
    except OSError:
        pass


class _ClosedError(Exception):
    """The connection closed before an answer began."""


def _read_head(conn: _Conn) -> tuple[int, str, list[tuple[str, str]]]:
    """Status line and headers; interim 1xx answers (``100 Continue``) are skipped."""
    while True:
        lines: list[bytes] = []
        size = 0
        while True:
            line = conn.rfile.readline(MAX_RESPONSE_HEAD + 1)
            if not line:
                if not lines:
                    raise _ClosedError("no answer")
                raise OriginError("the origin closed the connection inside the answer's head")
            size += len(line)
            if size > MAX_RESPONSE_HEAD:
                raise OriginError("the origin's answer head is too large")
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
        try:
            status, reason, headers = parse_response_head(b"".join(lines))
        except FramingError as error:
            raise OriginError(str(error)) from None
        if not 100 <= status < 200 or status == 101:
            return status, reason, headers


class OriginPool:
    """Idle origin connections per thread and origin; see the module docstring for the reuse rules."""

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._tls = _tls_context()

    def _idle(self) -> dict[Target, list[_Conn]]:
        idle: dict[Target, list[_Conn]] | None = getattr(self._local, "idle", None)
        if idle is None:
            idle = {}
            self._local.idle = idle
        return idle

    def _connect(self, target: Target, read_timeout: float) -> _Conn:
        try:
            sock = socket.create_connection((target.host, target.port), timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.scheme == "https":
                sock = self._tls.wrap_socket(sock, server_hostname=target.host)
        except OSError as error:
            raise _connect_failed(target, error) from error
        sock.settimeout(read_timeout)
        return _Conn(target, sock, cast(BufferedReader, sock.makefile("rb", 65536)))

    def _acquire(self, target: Target, read_timeout: float, keepalive_timeout: float) -> _Conn:
        idle = self._idle().get(target)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.last_used < keepalive_timeout:
                conn.sock.settimeout(read_timeout)
                conn.reused = True
                return conn
            _close(conn)
        return self._connect(target, read_timeout)

    def release(self, conn: _Conn) -> None:
        conn.last_used = time.monotonic()
        self._idle().setdefault(conn.target, []).append(conn)

    def request(
        self,
        target: Target,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        read_timeout: float,
        keepalive_timeout: float,
    ) -> OriginResponse:
        """Send one request and read the answer's head (``OriginError`` when that fails)."""
        data = request_bytes(method, path, headers, body)
        for _attempt in range(2):
            conn = self._acquire(target, read_timeout, keepalive_timeout)
            try:
                conn.sock.sendall(data)
                status, reason, response_headers = _read_head(conn)
            except TimeoutError as error:
                _close(conn)
                raise _read_timed_out() from error
            except (OSError, _ClosedError) as error:
                _close(conn)
                if conn.reused:
                    continue  # the origin closed an idle connection: once more on a new one
                raise OriginError(f"the origin connection failed: {error}") from error
            except OriginError:
                _close(conn)
                raise
            return OriginResponse(self, conn, status, reason, response_headers, method=method)
        raise OriginError("the origin closed two connections in a row")


# ------------------------------------------------------------------------------------------------ event loop
class Exchange(Protocol):
    """What receives one origin answer on the event loop."""

    def attach(self, conn: OriginConnection) -> None:
        """The connection the request goes out on (for back-pressure, and to abandon it)."""
        ...

    def on_head(self, status: int, reason: str, headers: list[tuple[str, str]], framing: ResponseFraming) -> bool:
        """The answer's head; false when the body is not wanted (the connection is then dropped)."""
        ...

    def on_body(self, data: bytes) -> None: ...

    def on_end(self) -> None: ...

    def on_error(self, error: OriginError, *, started: bool) -> None:
        """The origin failed; ``started`` when part of the answer had been handed on already."""
        ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request as it goes to the origin, with the origin's timeouts (``request.origin.custom``)."""

    method: str
    data: bytes
    read_timeout: float
    keepalive_timeout: float


class OriginConnection(asyncio.Protocol):
    """One keep-alive origin connection on the loop: one exchange at a time, answer read as it arrives."""

    def __init__(self, pool: AsyncOriginPool, target: Target) -> None:
        self.pool = pool
        self.target = target
        self.transport: asyncio.Transport | None = None
        self.exchange: Exchange | None = None
        self.last_used = 0.0
        self.reused = False
        self._outgoing: Outgoing | None = None
        self._buffer = bytearray()
        self._framing: ResponseFraming | None = None
        self._remaining = 0
        self._decoder: ChunkedDecoder | None = None
        self._received = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, exchange: Exchange, outgoing: Outgoing) -> None:
        assert self.transport is not None
        self.exchange = exchange
        self._outgoing = outgoing
        self._received = False
        self._framing = None
        self.transport.write(outgoing.data)
        self._arm()

    def _arm(self) -> None:
        """CloudFront's read timeout: how long to wait for the first byte, and between bytes after it."""
        if self._timer is not None:
            self._timer.cancel()
        timeout = self._outgoing.read_timeout if self._outgoing is not None else 30.0
        self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out)

    def _timed_out(self) -> None:
        self._fail(_read_timed_out())

    def data_received(self, data: bytes) -> None:
        if self.exchange is None:  # bytes between answers: the connection cannot be trusted any more
            self._drop()
            return
        self._received = True
        self._arm()
        try:
            self._feed(data)
        except (FramingError, OriginError) as error:
            self._fail(error if isinstance(error, OriginError) else OriginError(str(error)))

    def _feed(self, data: bytes) -> None:
        if self._framing is None:
            self._buffer += data
            end = head_end(self._buffer)
            if end < 0:
                if len(self._buffer) > MAX_RESPONSE_HEAD:
                    raise OriginError("the origin's answer head is too large")
                return
            status, reason, headers = parse_response_head(bytes(self._buffer[:end]))
            data = bytes(self._buffer[end:])
            self._buffer.clear()
            if 100 <= status < 200 and status != 101:  # an interim answer (100 Continue): the real one follows
                if data:
                    self._feed(data)
                return
            assert self._outgoing is not None
            framing = response_framing(self._outgoing.method, status, headers)
            self._framing = framing
            assert self.exchange is not None
            if not self.exchange.on_head(status, reason, headers, framing):
                self._done(reusable=False)
                return
            if framing.no_body:
                self._done(reusable=framing.reusable)
                return
            self._remaining = framing.length or 0
            self._decoder = ChunkedDecoder() if framing.chunked else None
        self._body(data)

    def _body(self, data: bytes) -> None:
        framing = self._framing
        exchange = self.exchange
        if framing is None or exchange is None or not data:
            return
        if self._decoder is not None:
            piece, finished = self._decoder.feed(data)
            if piece:
                exchange.on_body(piece)
            if finished:
                self._done(reusable=framing.reusable and not self._decoder.rest)
        elif framing.length is not None:
            piece = data[: self._remaining]
            self._remaining -= len(piece)
            exchange.on_body(piece)
            if not self._remaining:
                self._done(reusable=framing.reusable and len(data) == len(piece))
        else:
            exchange.on_body(data)

    def eof_received(self) -> bool:
        if self.exchange is not None and self._framing is not None and self._framing.until_close:
            self._done(reusable=False)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.forget(self)
        if self._timer is not None:
            self._timer.cancel()
        if self.exchange is None:
            return
        if not self._received and self.reused and self._outgoing is not None:
            exchange, self.exchange = self.exchange, None
            self.pool.send(self.target, exchange, self._outgoing, fresh=True)  # once more, on a new connection
            return
        self._fail(OriginError("the origin closed the connection before the end of its answer"))

    def _done(self, *, reusable: bool) -> None:
        exchange, self.exchange = self.exchange, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if reusable:
            self.pool.release(self)
        else:
            self._drop()
        if exchange is not None:
            exchange.on_end()

    def _fail(self, error: OriginError) -> None:
        exchange, self.exchange = self.exchange, None
        self._drop()
        if exchange is not None:
            exchange.on_error(error, started=self._framing is not None)

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def abandon(self) -> None:
        """The viewer went away: this answer will not be read to its end."""
        self.exchange = None
        self._drop()


class AsyncOriginPool:
    """Idle origin connections per origin on one event loop (no locks: everything runs on the loop)."""

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self._idle: dict[Target, list[OriginConnection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        """Connections being opened (held so the tasks are not collected before they finish)."""

    def send(self, target: Target, exchange: Exchange, outgoing: Outgoing, *, fresh: bool = False) -> None:
        """Send on an idle connection, or on a new one once connected; the exchange is told which (``attach``)."""
        idle = [] if fresh else self._idle.get(target, [])
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            transport = conn.transport
            fresh_enough = now - conn.last_used < outgoing.keepalive_timeout
            if fresh_enough and transport is not None and not transport.is_closing():
                conn.reused = True
                exchange.attach(conn)
                conn.send(exchange, outgoing)
                return
            conn.close()
        task = asyncio.get_running_loop().create_task(self._connect_and_send(target, exchange, outgoing))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect_and_send(self, target: Target, exchange: Exchange, outgoing: Outgoing) -> None:
        loop = asyncio.get_running_loop()
        tls = None
        if target.scheme == "https":
            tls = self._tls = self._tls or _tls_context()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: OriginConnection(self, target),
                    target.host,
                    target.port,
                    ssl=tls,
                    server_hostname=target.host if tls else None,
                ),
                self.connect_timeout,
            )
        except OSError as error:  # TimeoutError too: the connect timeout
            exchange.on_error(_connect_failed(target, error), started=False)
            return
        exchange.attach(conn)
        conn.send(exchange, outgoing)

    def release(self, conn: OriginConnection) -> None:
        conn.last_used = time.monotonic()
        self._idle.setdefault(conn.target, []).append(conn)

    def forget(self, conn: OriginConnection) -> None:
        idle = self._idle.get(conn.target)
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        for connections in self._idle.values():
            for conn in connections:
                conn.close()
        self._idle.clear()
