"""The local CloudFront's viewer side on one asyncio event loop: read requests, run the pipeline, talk to the origin.

An event loop rather than a thread per connection: the edge path must cost little next to the API Gateway emulator
behind it (``make load`` compares the two). Measured with 32 keep-alive clients, a thread per connection spent
about 230 us of CPU per request, most of it handing the interpreter lock between threads at every socket call;
one loop serving every connection spends a fifth of that on the same I/O.

Everything here runs on the loop's thread, so nothing is locked. The pipeline itself (``cloudfront.CloudFront``)
is plain synchronous code: front door, cache, functions, validation.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import cast

from ..problems import reason_phrase
from .cloudfront import MISS, VIA, Answer, CloudFront, OriginCall, ResponseHead, ViewerRequest, cf_error, front_door
from .framing import (
    MAX_REQUEST_HEAD,
    ChunkedDecoder,
    FramingError,
    Request,
    RequestError,
    ResponseFraming,
    head_end,
    parse_request_head,
    request_body_length,
    request_bytes,
    response_head,
)
from .http import MAX_BODY, NO_BODY_STATUSES, bound_socket
from .origin import AsyncOriginPool, OriginConnection, OriginError, Outgoing

IDLE_TIMEOUT = 60.0
"""Seconds an idle keep-alive viewer connection is kept (the emulator's choice)."""
STREAM_CHUNK = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class OriginExchange:
    """One request at the origin: its answer's head goes through the origin-response function, then to the viewer.

    A body that arrives with the head (and fits a chunk) goes out in one write with its length; a longer one streams
    as it arrives, keeping a copy for the cache when the answer may be stored.
    """

    def __init__(self, viewer: ViewerConnection, call: OriginCall, head_only: bool) -> None:
        self.viewer = viewer
        self.call = call
        self.head_only = head_only
        self.origin: OriginConnection | None = None
        self.head: ResponseHead | None = None
        self._framing: ResponseFraming | None = None
        self._kept: list[bytes] | None = None
        self._kept_size = 0
        self._chunked_out = False
        self._pending: list[bytes] | None = None
        self._headers_out: list[tuple[str, str]] = []

    def attach(self, conn: OriginConnection) -> None:
        self.origin = conn
        if self.viewer.paused:
            conn.pause()

    def on_head(self, status: int, reason: str, headers: list[tuple[str, str]], framing: ResponseFraming) -> bool:
        cloudfront = self.viewer.server.cloudfront
        head = cloudfront.respond(self.call, status, reason, headers)
        if isinstance(head, Answer):
            self.viewer.send_answer(head, self.head_only)
            self.viewer.exchange_done()
            return False
        if head.body is not None:  # the function replaced the body: the origin's is not read
            cloudfront.store(self.call, head, head.body)
            self.viewer.send_answer(Answer(head.status, [*head.headers, MISS], head.body, head.reason), self.head_only)
            self.viewer.exchange_done()
            return False
        self.head = head
        self._framing = framing
        if cloudfront.cacheable(self.call, head):
            self._kept = []
        self._headers_out = [*head.headers, ("Via", VIA), MISS]
        if framing.no_body or (framing.length is not None and framing.length <= STREAM_CHUNK):
            self._pending = []  # sent whole once the body is in: one write with its length
            return True
        if self.head_only and framing.length is not None:  # the origin's length describes the GET body
            self._write_head([("Content-Length", str(framing.length))])
            return True
        self._chunked_out = framing.length is None
        self._write_head(
            [("Transfer-Encoding", "chunked")] if self._chunked_out else [("Content-Length", str(framing.length))]
        )
        return True

    def _write_head(self, framing: list[tuple[str, str]]) -> None:
        assert self.head is not None
        self.viewer.write(response_head(self.head.status, self.head.reason, [*self._headers_out, *framing]))

    def on_body(self, data: bytes) -> None:
        if self._kept is not None:
            self._kept_size += len(data)
            cache = self.viewer.server.cloudfront.cache
            limit = cache.max_entry_bytes if cache is not None else 0
            if self._kept_size <= limit:
                self._kept.append(data)
            else:
                self._kept = None
        if self._pending is not None:
            self._pending.append(data)
        elif not self.head_only:
            self.viewer.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked_out else data)

    def on_end(self) -> None:
        head = self.head
        if head is None:
            return  # the answer was CloudFront's own, already sent
        cloudfront = self.viewer.server.cloudfront
        if self._pending is not None:
            body = b"".join(self._pending)
            if self._kept is not None:  # stored before the viewer has it, so its next request can already hit
                cloudfront.store(self.call, head, body)
                self._kept = None
            framing = [] if head.status in NO_BODY_STATUSES else [("Content-Length", str(len(body)))]
            data = response_head(head.status, head.reason, [*self._headers_out, *framing])
            self.viewer.write(data if self.head_only or head.status in NO_BODY_STATUSES else data + body)
        elif self._chunked_out and not self.head_only:
            self.viewer.write(b"0\r\n\r\n")
        if self._kept is not None:
            cloudfront.store(self.call, head, b"".join(self._kept))
        self.viewer.exchange_done()

    def on_error(self, error: OriginError, *, started: bool) -> None:
        if started and self._pending is None:
            self.viewer.close()  # the answer is cut short: the viewer sees the connection close, as behind CloudFront
            return
        # CloudFront: origin unreachable -> 502, no answer within the read timeout -> 504. The origin-response
        # function does not run (there is no origin response), and the error is not cached here.
        status = 504 if error.timeout else 502
        answer = cf_error(status, "Error from cloudfront", f"The origin failed: {error}.")
        self.viewer.send_answer(answer, self.head_only)
        self.viewer.exchange_done()

    def abandon(self) -> None:
        if self.origin is not None:
            self.origin.abandon()


class ViewerConnection(asyncio.Protocol):
    """One viewer connection: requests one at a time (pipelined ones wait in the buffer), answers in order."""

    def __init__(self, server: EdgeServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.paused = False
        self._buffer = bytearray()
        self._request: Request | None = None
        self._length: int | None = None
        self._decoder: ChunkedDecoder | None = None
        self._body = bytearray()
        self._exchange: OriginExchange | None = None
        self._keep_alive = True
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        if peer:
            self.client_ip = peer[0]
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)
        self._touch()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        if self._exchange is not None:
            self._exchange.abandon()
            self._exchange = None

    def _touch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT, self.close)

    def pause_writing(self) -> None:
        self.paused = True
        if self._exchange is not None and self._exchange.origin is not None:
            self._exchange.origin.pause()

    def resume_writing(self) -> None:
        self.paused = False
        if self._exchange is not None and self._exchange.origin is not None:
            self._exchange.origin.resume()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._touch()
        if self._exchange is None:
            self._advance()

    def _advance(self) -> None:
        """Read and answer every complete request in the buffer, until one goes to the origin."""
        while self._exchange is None and self.transport is not None and not self.transport.is_closing():
            try:
                request = self._read()
            except RequestError as error:
                self._reject(error)
                return
            if request is None:
                return
            self._serve(request, bytes(self._body) if self._length is not None else None)

    def _read(self) -> Request | None:
        """The next complete request (its body in ``_body``), or ``None`` while more bytes are needed."""
        if self._request is None:
            end = head_end(self._buffer)
            if end < 0:
                if len(self._buffer) > MAX_REQUEST_HEAD:
                    raise RequestError(413, "the request head is longer than CloudFront's request limit")
                return None
            request = parse_request_head(bytes(self._buffer[:end]))
            del self._buffer[:end]
            self._request = request
            self._length = request_body_length(request)
            self._body.clear()
            self._decoder = ChunkedDecoder(MAX_BODY) if self._length == -1 else None
            if self._length and "100-continue" in ",".join(request.values("expect")).lower():
                self.write(_CONTINUE)
        request = self._request
        if self._decoder is not None:
            try:
                piece, finished = self._decoder.feed(bytes(self._buffer))
            except FramingError as error:
                status = 413 if "too large" in str(error) else 400
                raise RequestError(status, f"invalid chunked body: {error}") from None
            self._buffer = bytearray(self._decoder.rest if finished else b"")
            self._body += piece
            if not finished:
                return None
        elif self._length:
            if len(self._buffer) < self._length:
                return None
            self._body += self._buffer[: self._length]
            del self._buffer[: self._length]
        self._request = None
        self._decoder = None
        return request

    def _serve(self, request: Request, body: bytes | None) -> None:
        head_only = request.method == "HEAD"
        self._keep_alive = request.keep_alive
        viewer = ViewerRequest(request.method, request.target, request.headers, body, self.client_ip)
        refused = front_door(viewer, folded=request.folded)
        if refused is not None:
            self.send_answer(refused, head_only)
            self.close()
            return
        decision = self.server.cloudfront.serve(viewer)
        if isinstance(decision, Answer):
            self.send_answer(decision, head_only)
            if not request.keep_alive or decision.close:
                self.close()
            return
        exchange = OriginExchange(self, decision, head_only)
        self._exchange = exchange
        call = decision
        outgoing = Outgoing(
            call.method,
            request_bytes(call.method, call.path, call.headers, call.body),
            call.read_timeout,
            call.keepalive_timeout,
        )
        self.server.origins.send(call.target, exchange, outgoing)

    def exchange_done(self) -> None:
        self._exchange = None
        if not self._keep_alive:
            self.close()
        elif self._buffer:
            self._advance()

    def _reject(self, error: RequestError) -> None:
        self.send_answer(cf_error(error.status, "Error from cloudfront", error.message, close=True), False)
        self.close()

    def send_answer(self, answer: Answer, head_only: bool) -> None:
        extra = [("Via", VIA), *([("Connection", "close")] if answer.close else [])]
        framing = [] if answer.status in NO_BODY_STATUSES else [("Content-Length", str(len(answer.body)))]
        reason = answer.reason or reason_phrase(answer.status)
        data = response_head(answer.status, reason, [*answer.headers, *extra, *framing])
        self.write(data if head_only or answer.status in NO_BODY_STATUSES else data + answer.body)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class EdgeServer:
    """The viewer-facing server: bound at once (a taken port fails early), served by ``serve_forever`` on an event
    loop in the calling thread until ``shutdown``; the same life cycle as the other emulators' servers."""

    def __init__(self, cloudfront: CloudFront, host: str, port: int, option: str) -> None:
        self.cloudfront = cloudfront
        self.socket = bound_socket(host, port, option)
        self.socket.listen(128)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()
        self.connections: set[ViewerConnection] = set()
        self.origins = AsyncOriginPool()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = threading.Event()
        self._stopped.set()
        self._stop_requested = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``shutdown`` (``poll_interval`` is accepted for the servers' common signature)."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._stopped.clear()
        try:
            server = loop.run_until_complete(loop.create_server(lambda: ViewerConnection(self), sock=self.socket))
            if not self._stop_requested:
                loop.run_forever()
            server.close()
            for connection in list(self.connections):
                connection.close()
            self.origins.close()
            loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(asyncio.sleep(0))
        finally:
            loop.close()
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop_requested = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        self._stopped.wait(5)

    def server_close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()


def start_server(cloudfront: CloudFront, host: str, port: int) -> EdgeServer:
    """Bind the viewer-facing server (``PortInUseError`` names ``--port``); call ``serve_in_thread`` to run it."""
    return EdgeServer(cloudfront, host, port, "--port")
