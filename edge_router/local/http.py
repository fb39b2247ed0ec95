"""HTTP plumbing shared by the local emulators: loopback servers with keep-alive, request bodies, port errors."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any, Protocol

MAX_BODY = 10 * 1024 * 1024
"""Largest request body the emulators read (API Gateway's payload limit is 10 MB)."""
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""RFC 9110 section 7.6.1 connection-specific headers: never forwarded by a proxy."""
NO_BODY_STATUSES = frozenset({204, 304})
"""Statuses whose responses never carry a body (RFC 9110 sections 15.3.5 and 15.4.5)."""


class PortInUseError(OSError):
    """The port an emulator was asked to listen on is taken."""

    def __init__(self, host: str, port: int, option: str) -> None:
        super().__init__(f"port {port} is already in use; pass {option}")
        self.host = host
        self.port = port
        self.option = option


class BodyError(Exception):
    """A request body that cannot be read; ``status`` is what a front door answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server; request threads are daemons so a stuck client never blocks shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, no Nagle delay, no per-request stderr lines (the router logs its own decisions)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes; Nagle would delay the body 40 ms

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the banner stays readable."""


@contextmanager
def binding(host: str, port: int, option: str) -> Iterator[None]:
    """Around a bind to ``host:port``: a taken port becomes a ``PortInUseError`` naming the option to change."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port, option) from None
        raise


def bound_socket(host: str, port: int, option: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEADDR``, as the servers bind (port 0 = a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        with binding(host, port, option):
            sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def bind(host: str, port: int, handler: type[BaseHTTPRequestHandler], option: str) -> LoopbackServer:
    """Bind a server (port 0 = a free one); a taken port is a ``PortInUseError`` naming the option to change."""
    with binding(host, port, option):
        return LoopbackServer((host, port), handler)


class Serving(Protocol):
    """A server loop that ``serve_in_thread`` can run (``LoopbackServer``, the CloudFront emulator's server)."""

    def serve_forever(self, poll_interval: float = 0.5) -> None: ...


def serve_in_thread(server: Serving, name: str) -> threading.Thread:
    """Run ``serve_forever`` in a daemon thread (stopped with ``server.shutdown()``)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True)
    thread.start()
    return thread


def read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body (``None`` when there is none), from ``Content-Length`` or chunked transfer coding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        return read_chunked(handler.rfile)
    length_text = handler.headers.get("Content-Length")
    if length_text is None:
        return None
    if not length_text.strip().isdigit():
        raise BodyError(400, "invalid Content-Length")
    length = int(length_text)
    if length > MAX_BODY:
        raise BodyError(413, "request body too large")
    return handler.rfile.read(length)


def read_chunked(rfile: BufferedIOBase) -> bytes:
    """A chunked body (RFC 9112 §7.1) up to ``MAX_BODY``; trailer fields are read and dropped."""
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = rfile.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise BodyError(400, "invalid chunked body") from None
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise BodyError(413, "request body too large")
        chunks.append(rfile.read(size))
        rfile.readline(1024)  # the CRLF after each chunk
    while rfile.readline(1024).strip():  # trailer fields, dropped
        pass
    return b"".join(chunks)


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The options of the ``Connection`` lines among ``headers``, lowercase: ``close``, ``keep-alive`` and the
    header names that are hop-by-hop for this connection only (RFC 9110 section 7.6.1)."""
    values = [value for name, value in headers if name.lower() == "connection"]
    return {token.strip().lower() for value in values for token in value.split(",") if token.strip()}


def send_simple(handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """Write a complete response with an exact ``Content-Length`` (no body for HEAD, 204 or 304)."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    no_body = handler.command == "HEAD" or status in NO_BODY_STATUSES
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if not no_body:
        handler.wfile.write(body)
