"""The HTTP/1.1 client against a real fault-injecting server on 127.0.0.1: framing, bounds, keep-alive, the
deadline, TLS, and endpoint parsing. Every failure must be a ``WireError``."""

from __future__ import annotations

import gc
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_router.wire import MAX_HEADER_BYTES, Endpoint, HttpClient, Response, WireError, parse_endpoint
from tests.fault_server import (
    FaultServer,
    hang_up,
    raw,
    refused_url,
    reply,
    reset,
    response_bytes,
    silence,
    tls_server_context,
    trickle,
)

MAX_BODY = 1 << 20


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[HttpClient]:
    http = HttpClient()
    yield http
    http.close()


def call(client: HttpClient, url: str, *, seconds: float = 5.0, max_body: int = MAX_BODY) -> Response:
    return client.request(
        parse_endpoint(url),
        "POST",
        [("host", "test"), ("x-test", "1")],
        b'{"TableName":"t"}',
        deadline=time.monotonic() + seconds,
        max_body=max_body,
    )


# ------------------------------------------------------------------------------------------------ endpoints
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", Endpoint("http", "127.0.0.1", 8000, "/")),
        ("https://dynamodb.us-east-1.amazonaws.com", Endpoint("https", "dynamodb.us-east-1.amazonaws.com", 443, "/")),
        ("HTTP://localhost/", Endpoint("http", "localhost", 80, "/")),
        ("http://[::1]:8000/prefix/v1", Endpoint("http", "[::1]", 8000, "/prefix/v1")),
        ("https://my_ddb.local:443", Endpoint("https", "my_ddb.local", 443, "/")),
    ],
)
def test_endpoints_parse(url: str, expected: Endpoint) -> None:
    assert parse_endpoint(url) == expected


def test_host_header_names_the_port_only_when_not_the_default() -> None:
    assert parse_endpoint("https://h.example:443").host_header == "h.example"
    assert parse_endpoint("http://h.example:80").host_header == "h.example"
    assert parse_endpoint("http://h.example:8000").host_header == "h.example:8000"
    assert parse_endpoint("https://[::1]:8443").host_header == "[::1]:8443"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:8000", "must start with http:// or https://"),
        ("ftp://host", "must start with http:// or https://"),
        ("", "must start with"),
        ("http://", "no valid host name"),
        ("http://ho st:80", "no valid host name"),
        ("http://host:", "no valid host name"),
        ("http://host:0", "invalid port"),
        ("http://host:65536", "invalid port"),
        ("http://host:8o", "invalid port"),
        ("http://host:\u00b2", "invalid port"),
        ("http://[::1", "malformed IPv6"),
        ("http://[]:80", "malformed IPv6"),
        ("http://[::1]x", "malformed IPv6"),
        ("http://host/a?b=1", "a path may hold only"),
        ("http://host/a#frag", "a path may hold only"),
        ("http://host/../x", "no dot segments"),
        ("http://host/a/.", "no dot segments"),
    ],
)
def test_malformed_endpoints_are_refused_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(WireError, match=says):
        parse_endpoint(url)


def test_user_information_in_an_endpoint_is_refused_and_never_echoed() -> None:
    with pytest.raises(WireError) as caught:
        parse_endpoint("https://AKIDEXAMPLE:hunter2@dynamodb.us-east-1.amazonaws.com")
    assert "user information" in caught.value.message and "hunter2" not in caught.value.message


# ------------------------------------------------------------------------------------------------ framing
def test_content_length_body_and_request_on_the_wire(server: FaultServer, client: HttpClient) -> None:
    server.then(reply(200, b'{"Items":[]}', [("X-Amz-Crc32", "1"), ("X-Dup", "a"), ("X-Dup", "b")], crc=False))
    response = call(client, server.url)
    assert (response.status, response.body) == (200, b'{"Items":[]}')
    assert response.headers["x-amz-crc32"] == "1" and response.headers["x-dup"] == "a, b"
    request = server.received[0]
    assert request.request_line == "POST / HTTP/1.1"
    assert request.headers["content-length"] == "17" and request.headers["x-test"] == "1"
    assert request.body == b'{"TableName":"t"}'


def test_chunked_body_with_extensions_and_trailers(server: FaultServer, client: HttpClient) -> None:
    body = b"0123456789" * 1000
    server.then(reply(200, body, chunk_size=777), reply(200, b"next"))
    assert call(client, server.url).body == body
    assert call(client, server.url).body == b"next"  # the connection was left clean for the next answer
    assert server.connections == 1


def test_a_large_body_arrives_whole(server: FaultServer, client: HttpClient) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB, many recv calls
    server.then(reply(200, body))
    assert call(client, server.url, max_body=len(body)).body == body


def test_body_until_close_when_unframed(server: FaultServer, client: HttpClient) -> None:
    server.then(raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"))
    assert call(client, server.url).body == b"until the end"


def test_interim_responses_are_skipped(server: FaultServer, client: HttpClient) -> None:
    server.then(raw(b"HTTP/1.1 100 Continue\r\n\r\n" + response_bytes(200, b"final"), close=False))
    assert call(client, server.url).body == b"final"


def test_no_content_has_no_body_and_keeps_the_connection(server: FaultServer, client: HttpClient) -> None:
    server.then(raw(b"HTTP/1.1 204 No Content\r\n\r\n", close=False), reply(200, b"x"))
    assert call(client, server.url).body == b""
    assert call(client, server.url).body == b"x"
    assert server.connections == 1


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 2OO OK\r\n\r\n", "malformed status line"),
        (b"HTTP/2 200\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 200OK\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\n", "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n", "not followed by CRLF"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", "closed after 5 of 10 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-", "closed by the server while reading the response header"),
        (b"", "closed by the server while reading the response header"),
        (b"\xff\xfe\x00garbage\r\n\r\n", "malformed status line"),
    ],
)
def test_malformed_answers_are_wire_errors(server: FaultServer, client: HttpClient, answer: bytes, says: str) -> None:
    server.then(raw(answer))
    with pytest.raises(WireError, match=says):
        call(client, server.url)


def test_both_framings_answer_but_never_reuse_the_connection(server: FaultServer, client: HttpClient) -> None:
    smuggled = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    server.then(raw(smuggled, close=False), reply(200, b"x"))
    assert call(client, server.url).body == b"ok"
    assert call(client, server.url).body == b"x"
    assert server.connections == 2


def test_trailers_are_bounded(server: FaultServer, client: HttpClient) -> None:
    trailers = b"".join(b"X-T%d: %s\r\n" % (n, b"t" * 1000) for n in range(70))
    server.then(raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + trailers + b"\r\n"))
    with pytest.raises(WireError, match="trailers are larger than 65536 bytes"):
        call(client, server.url)


def test_bytes_beyond_the_response_make_the_connection_unusable(server: FaultServer, client: HttpClient) -> None:
    server.then(raw(response_bytes(200, b"one") + response_bytes(200, b"two"), close=False), reply(200, b"three"))
    assert call(client, server.url).body == b"one"
    assert call(client, server.url).body == b"three"  # not the stray second answer
    assert server.connections == 2


# ------------------------------------------------------------------------------------------------ bounds
def test_header_larger_than_64_kib_is_refused(server: FaultServer, client: HttpClient) -> None:
    server.then(reply(200, b"", [("X-Big", "a" * MAX_HEADER_BYTES)]))
    with pytest.raises(WireError, match="more than 65536 bytes while reading the response header"):
        call(client, server.url)


def test_header_just_under_the_bound_is_read(server: FaultServer, client: HttpClient) -> None:
    server.then(reply(200, b"ok", [("X-Big", "a" * (MAX_HEADER_BYTES - 200))]))
    assert call(client, server.url).body == b"ok"


@pytest.mark.parametrize(
    "answer",
    [
        response_bytes(200, b"x" * 2000),
        response_bytes(200, b"x" * 2000, chunk_size=100),
        b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2000,
    ],
    ids=["content-length", "chunked", "until-close"],
)
def test_body_larger_than_the_bound_is_refused(server: FaultServer, client: HttpClient, answer: bytes) -> None:
    server.then(raw(answer))
    with pytest.raises(WireError, match="larger than 1000 bytes"):
        call(client, server.url, max_body=1000)


def test_a_header_that_is_not_latin_1_is_never_sent(server: FaultServer, client: HttpClient) -> None:
    with pytest.raises(WireError, match="not Latin-1"):
        client.request(
            parse_endpoint(server.url), "POST", [("x-a", "\u20ac")], b"", deadline=time.monotonic() + 1, max_body=1
        )
    assert server.connections == 0


def test_a_header_with_a_line_break_is_never_sent(server: FaultServer, client: HttpClient) -> None:
    with pytest.raises(WireError, match="line break"):
        client.request(
            parse_endpoint(server.url),
            "POST",
            [("x-amz-security-token", "abc\r\nX-Injected: 1")],
            b"",
            deadline=time.monotonic() + 1,
            max_body=10,
        )
    assert server.connections == 0


# ------------------------------------------------------------------------------------------------ keep-alive
def test_keep_alive_reuses_one_connection(server: FaultServer, client: HttpClient) -> None:
    server.always(reply(200, b"{}"))
    for _ in range(5):
        call(client, server.url)
    assert server.connections == 1 and len(server.received) == 5


def test_connection_close_is_honoured(server: FaultServer, client: HttpClient) -> None:
    server.always(reply(200, b"{}", [("Connection", "close")]))
    call(client, server.url)
    call(client, server.url)
    assert server.connections == 2


def test_an_idle_connection_the_server_closed_is_not_used(server: FaultServer, client: HttpClient) -> None:
    server.then(reply(200, b"first", close=True), reply(200, b"second"))
    assert call(client, server.url).body == b"first"
    time.sleep(0.05)  # let the server's FIN arrive: the pool must notice it before sending
    assert call(client, server.url).body == b"second"
    assert server.connections == 2 and len(server.received) == 2


def test_an_idle_connection_select_cannot_watch_is_replaced(
    server: FaultServer, client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise ValueError("filedescriptor out of range in select()")  # a descriptor above FD_SETSIZE

    server.always(reply(200, b"{}"))
    call(client, server.url)
    monkeypatch.setattr("edge_router.wire.select.select", refuse)
    assert call(client, server.url).status == 200
    assert server.connections == 2


def test_a_reused_connection_failing_before_any_byte_is_retried_once(server: FaultServer, client: HttpClient) -> None:
    # The server keeps the first connection open, then drops the next request on it without a byte of answer,
    # as a server does that times the connection out just as the request arrives.
    server.then(reply(200, b"first"), hang_up(), reply(200, b"second"))
    assert call(client, server.url).body == b"first"
    assert call(client, server.url).body == b"second"
    assert server.connections == 2
    assert [request.connection for request in server.received] == [1, 1, 2]


def test_a_reused_connection_failing_after_response_bytes_is_not_retried(
    server: FaultServer, client: HttpClient
) -> None:
    server.then(reply(200, b"first"), raw(b"HTTP/1.1 200 OK\r\nContent-Le"), reply(200, b"never"))
    call(client, server.url)
    with pytest.raises(WireError, match="closed by the server"):
        call(client, server.url)
    assert len(server.received) == 2


def test_a_fresh_connection_is_never_retried(server: FaultServer, client: HttpClient) -> None:
    server.then(hang_up(), reply(200, b"never"))
    with pytest.raises(WireError) as caught:
        call(client, server.url)
    assert caught.value.transient and len(server.received) == 1


def test_concurrent_callers_leave_one_idle_connection_and_close_the_other(server: FaultServer) -> None:
    both_arrived = threading.Barrier(2, timeout=5)

    def answer_when_both_are_waiting(sock: socket.socket, request: object) -> bool:
        both_arrived.wait()
        sock.sendall(response_bytes(200, b"{}"))
        return True

    server.then(answer_when_both_are_waiting, answer_when_both_are_waiting)
    client = HttpClient()
    callers = [threading.Thread(target=call, args=(client, server.url)) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(5)
    assert server.connections == 2
    deadline = time.monotonic() + 2
    while server.hangups < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.hangups == 1  # the second connection back was closed at once, not left for the collector
    client.close()
    gc.collect()


def test_a_reset_connection_is_transient(server: FaultServer, client: HttpClient) -> None:
    server.then(reset())
    with pytest.raises(WireError, match="connection failed while reading the response header") as caught:
        call(client, server.url)
    assert caught.value.transient


def test_a_reset_in_the_middle_of_the_body_is_transient(server: FaultServer, client: HttpClient) -> None:
    whole = response_bytes(200, b"x" * 100_000)
    server.then(reset(whole[:60_000]))
    with pytest.raises(WireError, match=r"connection (failed|closed).* while reading the body") as caught:
        call(client, server.url)
    assert caught.value.transient


# ------------------------------------------------------------------------------------------------ the deadline
def test_a_trickled_body_cannot_outlive_the_deadline(server: FaultServer, client: HttpClient) -> None:
    server.then(trickle(response_bytes(200, b"x" * 400), interval=0.02))  # about 10 s in all
    started = time.monotonic()
    with pytest.raises(WireError, match=r"deadline passed|timed out") as caught:
        call(client, server.url, seconds=0.4)
    assert time.monotonic() - started < 1.5
    assert not caught.value.transient


def test_a_body_that_stops_arriving_times_out(server: FaultServer, client: HttpClient) -> None:
    whole = response_bytes(200, b"x" * 100_000)

    def half_then_silence(sock: socket.socket, request: object) -> bool:
        sock.sendall(whole[:50_000])
        server.wait_closed(30)
        return False

    server.then(half_then_silence)
    with pytest.raises(WireError, match="timed out reading the body"):
        call(client, server.url, seconds=0.3)


def test_a_silent_server_times_out_at_the_deadline(server: FaultServer, client: HttpClient) -> None:
    server.then(silence(server))
    started = time.monotonic()
    with pytest.raises(WireError, match="timed out reading the response header"):
        call(client, server.url, seconds=0.3)
    assert 0.25 < time.monotonic() - started < 1.5


def test_a_deadline_already_passed_sends_nothing(server: FaultServer, client: HttpClient) -> None:
    with pytest.raises(WireError, match="deadline passed"):
        call(client, server.url, seconds=-1)
    assert server.connections == 0


def test_sending_into_a_server_that_never_reads_times_out(server: FaultServer, client: HttpClient) -> None:
    server.then(silence(server))
    started = time.monotonic()
    with pytest.raises(WireError, match="timed out"):
        client.request(
            parse_endpoint(server.url), "POST", [], b"x" * (64 << 20), deadline=time.monotonic() + 0.3, max_body=1
        )
    assert time.monotonic() - started < 1.5


def test_a_server_resetting_while_the_request_is_sent_is_transient(client: HttpClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def reset_early() -> None:
            connection, _ = listener.accept()
            connection.recv(1024)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

        threading.Thread(target=reset_early, daemon=True).start()
        with pytest.raises(WireError, match="connection failed while sending") as caught:
            client.request(
                parse_endpoint(f"http://127.0.0.1:{listener.getsockname()[1]}"),
                "POST",
                [],
                b"x" * (64 << 20),
                deadline=time.monotonic() + 5,
                max_body=1,
            )
    assert caught.value.transient


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A listener whose accept queue is full: new connections are never completed (a blackholed endpoint)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=1)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    filler.close()
    listener.close()


def test_connect_is_capped_below_the_deadline(full_backlog: str) -> None:
    started = time.monotonic()
    with pytest.raises(WireError, match="timed out connecting") as caught:
        call(HttpClient(connect_timeout=0.2), full_backlog, seconds=5)
    assert 0.15 < time.monotonic() - started < 1.0
    assert not caught.value.transient


def test_connect_never_outlives_the_deadline(full_backlog: str) -> None:
    started = time.monotonic()
    with pytest.raises(WireError, match="timed out connecting"):
        call(HttpClient(connect_timeout=30), full_backlog, seconds=0.2)
    assert time.monotonic() - started < 1.0


class SteppingClock:
    """Answers the scripted times in turn (then the last one forever): a deadline passing at a chosen step."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


def test_the_deadline_is_checked_before_every_read(server: FaultServer) -> None:
    server.then(silence(server))
    client = HttpClient(clock=SteppingClock(0.0, 0.0, 10.0))  # connect, send, then the first read is too late
    with pytest.raises(WireError, match="deadline passed while reading the response header"):
        client.request(parse_endpoint(server.url), "POST", [], b"", deadline=5.0, max_body=1)


def test_connection_refused_is_transient() -> None:
    with pytest.raises(WireError, match="cannot connect") as caught:
        call(HttpClient(), refused_url())
    assert caught.value.transient


def test_an_unresolvable_host_is_a_wire_error() -> None:
    with pytest.raises(WireError, match="cannot resolve"):
        call(HttpClient(), "http://does-not-exist.invalid:80")


# ------------------------------------------------------------------------------------------------ TLS
@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    bundle, context = tls_server_context(tmp_path, dns=("localhost",), ips=("127.0.0.1",))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    with FaultServer(tls=context) as running:
        yield running


def test_tls_with_aws_ca_bundle_and_keep_alive(tls_server: FaultServer, client: HttpClient) -> None:
    tls_server.always(reply(200, b"secure"))
    assert call(client, tls_server.url).body == b"secure"
    time.sleep(0.05)  # TLS 1.3 session tickets arrive after the handshake; they must not look like a dead connection
    assert call(client, tls_server.url).body == b"secure"
    assert tls_server.connections == 1


def test_tls_sends_the_host_name_as_sni(tls_server: FaultServer, client: HttpClient) -> None:
    tls_server.always(reply(200, b"named"))
    assert call(client, f"https://localhost:{tls_server.port}").body == b"named"
    assert tls_server.tls_names == ["localhost"]


def test_tls_refuses_an_untrusted_certificate(
    tls_server: FaultServer, client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE")
    with pytest.raises(WireError, match=r"certificate of 127\.0\.0\.1 refused") as caught:
        call(client, tls_server.url)
    assert not caught.value.transient


def test_tls_checks_the_host_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: HttpClient) -> None:
    bundle, context = tls_server_context(tmp_path, dns=("dynamodb.example",))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    with FaultServer(tls=context) as running, pytest.raises(WireError, match="refused"):
        call(client, running.url)


def test_a_server_that_never_speaks_tls_times_out_the_handshake(server: FaultServer, client: HttpClient) -> None:
    server.then(silence(server))
    with pytest.raises(WireError, match="timed out in the TLS handshake"):
        call(client, f"https://127.0.0.1:{server.port}", seconds=0.3)


def test_a_plain_http_server_fails_the_handshake_for_good(client: HttpClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer_in_plain_http() -> None:
            connection, _ = listener.accept()
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            connection.close()

        threading.Thread(target=answer_in_plain_http, daemon=True).start()
        with pytest.raises(WireError, match=r"TLS handshake with 127\.0\.0\.1 failed") as caught:
            call(client, f"https://127.0.0.1:{listener.getsockname()[1]}")
    assert not caught.value.transient


def test_a_reset_during_the_handshake_is_transient(client: HttpClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def reset_after_the_client_hello() -> None:
            connection, _ = listener.accept()
            connection.recv(1024)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

        threading.Thread(target=reset_after_the_client_hello, daemon=True).start()
        with pytest.raises(WireError, match=r"TLS handshake with 127\.0\.0\.1 cut") as caught:
            call(client, f"https://127.0.0.1:{listener.getsockname()[1]}")
    assert caught.value.transient


def test_the_deadline_bounds_the_handshake_too(tls_server: FaultServer) -> None:
    client = HttpClient(clock=SteppingClock(0.0, 10.0))  # connect in time, then too late for the handshake
    with pytest.raises(WireError, match="deadline passed while in the TLS handshake"):
        client.request(parse_endpoint(tls_server.url), "POST", [], b"", deadline=5.0, max_body=1)


def test_a_missing_ca_bundle_is_named(tls_server: FaultServer, client: HttpClient, tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_CA_BUNDLE", str(missing))
        with pytest.raises(WireError, match="cannot load the CA certificates"):
            call(client, tls_server.url)


def test_running_out_of_sockets_is_a_wire_error(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_descriptors(*_args: object) -> socket.socket:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr("edge_router.wire.socket.socket", no_descriptors)
    with pytest.raises(WireError, match="cannot open a socket: Too many open files"):
        call(HttpClient(), server.url)
