"""A lean threaded HTTP/1.1 server for the local CloudFront: its own request parsing, keep-alive, one write per answer.

The viewer side of the emulator must cost little next to the API Gateway emulator behind it (``make load`` compares
the two paths), so requests are read straight from the socket's buffered reader (request line, header lines, body
by ``Content-Length`` or chunked coding) instead of through ``http.server`` and ``email.parser``. What must be
refused while reading (a header section over CloudFront's 20,480 bytes, a malformed line or body) is a
``RequestError`` carrying the status the front door answers.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from io import BufferedReader
from typing import Protocol, cast

from .http import MAX_BODY, BodyError, PortInUseError, connection_tokens, read_chunked

MAX_REQUEST_HEAD = 20_480
"""CloudFront's limit on a request without its body (request line and headers); beyond it, 413."""
IDLE_TIMEOUT = 60.0
"""Seconds an idle keep-alive viewer connection is kept (the emulator's choice; it bounds idle threads)."""
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class RequestError(Exception):
    """A request the front door refuses while reading it; the connection is closed after the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Request:
    """One parsed request head. ``folded`` marks obsolete line folding (RFC 9112 §5.2), which CloudFront refuses."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    folded: bool
    keep_alive: bool

    def values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


def _is_token(text: str) -> bool:
    return bool(text) and all(char in _TOKEN for char in text)


class Connection:
    """One viewer connection: read requests, write answers (whole, or head then streamed body)."""

    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.client_ip = address[0]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the head and a streamed body are separate writes
        # The kernel's receive timeout instead of Python's: a socket with a Python timeout polls before every
        # read and write, two system calls more per request. An idle connection then reads as closed.
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", int(IDLE_TIMEOUT), 0))
        self.rfile = cast(BufferedReader, sock.makefile("rb", 65536))

    def read_request(self) -> Request | None:
        """The next request head, ``None`` when the viewer closed the connection between requests."""
        line = self.rfile.readline(MAX_REQUEST_HEAD + 1)
        if line in (b"\r\n", b"\n"):  # RFC 9112 §2.2: an empty line before a request line is ignored
            line = self.rfile.readline(MAX_REQUEST_HEAD + 1)
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise RequestError(413, "the request line is longer than CloudFront's request limit")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not _is_token(parts[0]) or not parts[1]:
            raise RequestError(400, "malformed request line")
        method, target, version = parts
        size = len(line)
        headers: list[tuple[str, str]] = []
        folded = False
        while True:
            line = self.rfile.readline(MAX_REQUEST_HEAD + 1)
            size += len(line)
            if size > MAX_REQUEST_HEAD:
                raise RequestError(413, f"the request headers are larger than CloudFront's {MAX_REQUEST_HEAD} bytes")
            if not line.endswith(b"\n"):
                raise RequestError(400, "the header section ended early")
            if line in (b"\r\n", b"\n"):
                break
            text = line.decode("latin-1").rstrip("\r\n")
            if text[0] in " \t":
                folded = True  # the front door answers 400; the section is read to its end first
                continue
            name, colon, value = text.partition(":")
            if not colon or not _is_token(name):  # RFC 9112 §5.1: no whitespace before the colon
                raise RequestError(400, "malformed header line")
            headers.append((name, value.strip(" \t")))
        tokens = connection_tokens([value for name, value in headers if name.lower() == "connection"])
        keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        return Request(method, target, version, headers, folded, keep_alive)

    def read_body(self, request: Request) -> bytes | None:
        """The request body (``None`` when there is none), answering ``Expect: 100-continue`` first."""
        codings = ",".join(request.values("transfer-encoding")).lower()
        lengths = {value.strip() for value in request.values("content-length")}
        if codings and lengths:
            raise RequestError(400, "both Content-Length and Transfer-Encoding")  # RFC 9112 §6.1: a smuggling sign
        if not codings and not lengths:
            return None
        if "100-continue" in ",".join(request.values("expect")).lower():
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if codings:
            if codings.rsplit(",", 1)[-1].strip() != "chunked":
                raise RequestError(400, "unsupported transfer coding")
            return self._read_chunked()
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise RequestError(400, "invalid Content-Length")
        length = int(next(iter(lengths)))
        if length > MAX_BODY:
            raise RequestError(413, "request body too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise RequestError(400, "the body ended early")
        return body

    def _read_chunked(self) -> bytes:
        try:
            return read_chunked(self.rfile)
        except BodyError as error:
            raise RequestError(error.status, str(error)) from None

    @staticmethod
    def head(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def send(
        self, status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes, *, head_only: bool = False
    ) -> None:
        """A complete answer in one write, with an exact ``Content-Length`` (no body for HEAD, 204 or 304)."""
        framing = [] if status in (204, 304) else [("Content-Length", str(len(body)))]
        data = self.head(status, reason, [*headers, *framing])
        self.sock.sendall(data if head_only or status in (204, 304) else data + body)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


class App(Protocol):
    """What the server runs for each connection's requests."""

    def handle(self, connection: Connection, request: Request) -> bool:
        """Answer one request; false closes the connection."""
        ...

    def reject(self, connection: Connection, error: RequestError) -> None:
        """Answer a request that could not be read (the connection is closed afterwards)."""
        ...


class LeanServer:
    """Accepts connections on one socket and serves each in its own daemon thread until ``shutdown``."""

    def __init__(self, host: str, port: int, app: App, option: str) -> None:
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError as error:
            self.socket.close()
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port, option) from None
            raise
        self.socket.listen(128)
        self.server_address: tuple[str, int] = self.socket.getsockname()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()  # nothing to wait for until serve_forever runs
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.socket], [], [], poll_interval)
                if not ready:
                    continue
                try:
                    sock, address = self.socket.accept()
                except OSError:
                    continue
                threading.Thread(target=self._serve, args=(sock, address), daemon=True).start()
        finally:
            self._stopped.set()

    def _serve(self, sock: socket.socket, address: tuple[str, int]) -> None:
        connection = Connection(sock, address)
        with self._lock:
            self._connections.add(connection)
        try:
            while not self._stop.is_set():
                try:
                    request = connection.read_request()
                except RequestError as error:
                    self.app.reject(connection, error)
                    break
                if request is None or not self.app.handle(connection, request):
                    break
        except OSError:
            pass  # the viewer went away or idled out
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait(5)

    def server_close(self) -> None:
        self.socket.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
