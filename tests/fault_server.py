"""A fault-injecting HTTP/1.1 server on 127.0.0.1 (real sockets, a thread per connection) for the wire and store tests.

Each request is answered by the next scripted action, or by the default one when the script is empty. An action
writes whatever bytes it likes (a good answer, garbage, half an answer, nothing) and says whether the connection
stays open for another request.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

API = "abc123.execute-api.us-east-1.amazonaws.com"


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    connection: int
    request_line: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def region(self) -> str:
        """The region of the SigV4 credential scope (``Credential=AKID/date/REGION/dynamodb/aws4_request``)."""
        return self.headers.get("authorization", "").split("Credential=", 1)[-1].split("/")[2]


Action = Callable[[socket.socket, Received], bool]
"""Answer one request on the socket; return True to keep the connection open for the next one."""


class FaultServer:
    """Serves scripted actions. ``received`` lists every request; ``connections`` counts accepted connections."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.script: deque[Action] = deque()
        self.default: Action = reply(500, b'{"__type":"#InternalServerError","message":"nothing scripted"}')
        self.received: list[Received] = []
        self.connections = 0
        self.hangups = 0
        """Connections the client closed (the server read end of stream where a request would start)."""
        self.tls_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.tls_names.append(name)  # type: ignore[assignment]
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def then(self, *actions: Action) -> FaultServer:
        """Answer the next requests with these actions, in order."""
        self.script.extend(actions)
        return self

    def always(self, action: Action) -> FaultServer:
        """Answer every request beyond the script with ``action``."""
        self.default = action
        return self

    def wait_closed(self, timeout: float) -> None:
        self._closed.wait(timeout)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock, self.connections), daemon=True)
            thread.start()
            self._threads.append(thread)  # only started threads: close() joins them

    def _serve(self, sock: socket.socket, number: int) -> None:
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_side=True)
            except OSError:
                sock.close()
                return
        self._sockets.append(sock)
        buffer = b""
        try:
            while not self._closed.is_set():
                request, buffer = _read_request(sock, buffer)
                if request is None:
                    self.hangups += 1
                    return
                received = Received(number, *request)
                self.received.append(received)
                action = self.script.popleft() if self.script else self.default
                if not action(sock, received):
                    return
        except OSError:
            return
        finally:
            sock.close()


def _read_request(sock: socket.socket, buffer: bytes) -> tuple[tuple[str, dict[str, str], bytes] | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    return (request_line, headers, buffer[:length]), buffer[length:]


def response_bytes(
    status: int = 200,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    crc: bool | int = True,
    chunk_size: int | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """A complete response. ``crc``: True sends the right ``x-amz-crc32``, an int sends that value, False none."""
    lines = [f"{version} {status} Whatever", "Content-Type: application/x-amz-json-1.0"]
    lines += [f"{name}: {value}" for name, value in headers]
    if crc is not False:
        lines.append(f"x-amz-crc32: {zlib.crc32(body) if crc is True else crc}")
    if chunk_size is None:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    else:
        lines.append("Transfer-Encoding: chunked")
        chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        payload = (
            b"".join(b"%x;ext=1\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\nX-Trailer: 1\r\n\r\n"
        )
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def reply(
    status: int = 200,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    crc: bool | int = True,
    chunk_size: int | None = None,
    close: bool = False,
) -> Action:
    """Answer with one well-formed response; ``close`` hangs up afterwards without saying so in a header."""
    data = response_bytes(status, body, headers, crc=crc, chunk_size=chunk_size)

    def act(sock: socket.socket, _: Received) -> bool:
        sock.sendall(data)
        return not close

    return act


def raw(data: bytes, *, close: bool = True) -> Action:
    """Send these bytes as they are (garbage, half a response, two responses)."""

    def act(sock: socket.socket, _: Received) -> bool:
        sock.sendall(data)
        return not close

    return act


def trickle(data: bytes, interval: float) -> Action:
    """Send one byte every ``interval`` seconds, as a slow or hostile server would."""

    def act(sock: socket.socket, _: Received) -> bool:
        for index in range(len(data)):
            sock.sendall(data[index : index + 1])
            time.sleep(interval)
        return False

    return act


def reset(data: bytes = b"") -> Action:
    """Send ``data``, then abort the connection with a TCP reset (SO_LINGER 0) instead of a clean close."""

    def act(sock: socket.socket, _: Received) -> bool:
        sock.sendall(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    return act


def hang_up() -> Action:
    """Close the connection without a byte of answer."""
    return lambda _sock, _request: False


def silence(server: FaultServer) -> Action:
    """Read the request and never answer (until the server closes)."""

    def act(_sock: socket.socket, _request: Received) -> bool:
        server.wait_closed(30)
        return False

    return act


def by_region(actions: dict[str, Action]) -> Action:
    """Answer as the replica in the request's signing region would."""
    return lambda sock, request: actions[request.region](sock, request)


def item(key: str, path: str = "/Prod/v1", **extra: Any) -> dict[str, Any]:
    """A mapping row in DynamoDB JSON."""
    return {"hk": {"S": key}, "dn": {"S": API}, "dp": {"S": path}, **extra}


def scan_body(items: list[Any], last_key: Any = None) -> bytes:
    """A Scan page as DynamoDB sends it."""
    page: dict[str, Any] = {"Count": len(items), "Items": items, "ScannedCount": len(items)}
    if last_key is not None:
        page["LastEvaluatedKey"] = last_key
    return json.dumps(page).encode()


def scan_page(items: list[Any], last_key: Any = None, **options: Any) -> Action:
    return reply(200, scan_body(items, last_key), **options)


def endless_pages() -> Action:
    """Every page names a next one: the chain never ends."""

    def act(sock: socket.socket, request: Received) -> bool:
        start = request.json.get("ExclusiveStartKey", {"hk": {"S": "0"}})
        number = int(start["hk"]["S"]) + 1
        sock.sendall(response_bytes(200, scan_body([item(f"v{number}")], {"hk": {"S": str(number)}})))
        return True

    return act


def tls_server_context(
    directory: Path, *, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()
) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for these names (its PEM file, to trust) and a server context serving it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-router test")])
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ips]
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


def refused_url() -> str:
    """An http URL where nothing listens."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"
