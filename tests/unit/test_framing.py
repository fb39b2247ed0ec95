"""HTTP/1.1 framing of the local CloudFront: request heads, body lengths, response framing, chunked decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_router.local.framing import (
    ChunkedDecoder,
    FramingError,
    RequestError,
    head_end,
    parse_request_head,
    parse_response_head,
    request_body_length,
    request_bytes,
    response_framing,
)


def test_request_heads() -> None:
    request = parse_request_head(b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  v1 \r\nConnection: close\r\n\r\n")
    assert (request.method, request.target, request.version) == ("GET", "/hello?x=1", "HTTP/1.1")
    assert request.headers == [("Host", "a"), ("Accept", "v1"), ("Connection", "close")]
    assert not request.keep_alive and not request.folded
    old = parse_request_head(b"\r\nGET / HTTP/1.0\nConnection: keep-alive\n\n")
    assert old.keep_alive and old.version == "HTTP/1.0"
    assert parse_request_head(b"GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n").folded


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2\r\n\r\n", 400),
        (b"G(T / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20_480 + b"\r\n\r\n", 413),
    ],
)
def test_bad_request_heads_carry_the_status_to_answer(head: bytes, status: int) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request_head(head)
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"", None),
        (b"Content-Length: 5\r\n", 5),
        (b"Transfer-Encoding: chunked\r\n", -1),
        (b"Content-Length: 5\r\nContent-Length: 5\r\n", 5),
    ],
)
def test_request_body_lengths(headers: bytes, expected: int | None) -> None:
    assert request_body_length(parse_request_head(b"POST / HTTP/1.1\r\n" + headers + b"\r\n")) == expected


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: -1\r\n",
        b"Transfer-Encoding: gzip\r\n",
    ],
)
def test_ambiguous_or_unsupported_bodies_are_refused(headers: bytes) -> None:
    with pytest.raises(RequestError):
        request_body_length(parse_request_head(b"POST / HTTP/1.1\r\n" + headers + b"\r\n"))


def test_head_end_and_request_bytes() -> None:
    assert head_end(b"GET / HTTP/1.1\r\n\r\nrest") == 18
    assert head_end(b"GET / HTTP/1.1\n\nrest") == 16
    assert head_end(b"GET / HTTP/1.1\r\n") == -1
    assert (
        request_bytes("POST", "/p", [("Host", "h")], b"xy")
        == b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy"
    )
    assert request_bytes("GET", "/", [], None) == b"GET / HTTP/1.1\r\n\r\n"


def test_response_heads_and_framing() -> None:
    status, reason, headers = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX:  y\r\n")
    assert (status, reason, headers) == (200, "OK", [("Content-Length", "3"), ("X", "y")])
    assert response_framing("GET", 200, headers).length == 3
    assert response_framing("HEAD", 200, headers).no_body
    assert response_framing("GET", 304, []).no_body
    chunked = response_framing("GET", 200, [("Transfer-Encoding", "chunked")])
    assert chunked.chunked and chunked.reusable
    until_close = response_framing("GET", 200, [])
    assert until_close.until_close and not until_close.reusable
    assert not response_framing("GET", 200, [("Content-Length", "1"), ("Connection", "close")]).reusable
    with pytest.raises(FramingError):
        parse_response_head(b"SSH-2.0-OpenSSH\r\n")


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out = b""
    position = 0
    for size in sizes:
        piece = body[position : position + size]
        if piece:
            out += b"%x;ext=1\r\n%s\r\n" % (len(piece), piece)
        position += size
    if position < len(body):
        out += b"%x\r\n%s\r\n" % (len(body) - position, body[position:])
    return out + b"0\r\nTrailer: x\r\n\r\n"


@given(
    body=st.binary(max_size=300),
    sizes=st.lists(st.integers(min_value=1, max_value=50), max_size=10),
    cuts=st.lists(st.integers(min_value=1, max_value=20), max_size=30),
)
def test_chunked_bodies_decode_whatever_the_reads(body: bytes, sizes: list[int], cuts: list[int]) -> None:
    encoded = chunked(body, sizes) + b"NEXT"
    decoder = ChunkedDecoder()
    out = b""
    position = 0
    done = False
    for cut in [*cuts, len(encoded)]:
        piece, done = decoder.feed(encoded[position : position + cut])
        out += piece
        position += cut
        if done:
            break
    assert done and out == body
    assert (decoder.rest + encoded[position:]).endswith(b"NEXT")


@pytest.mark.parametrize("encoded", [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n0\r\n\r\n", b"F" * 2000])
def test_malformed_chunked_bodies_fail(encoded: bytes) -> None:
    with pytest.raises(FramingError):
        ChunkedDecoder().feed(encoded)


def test_chunked_limit() -> None:
    with pytest.raises(FramingError, match="too large"):
        ChunkedDecoder(limit=4).feed(b"5\r\nabcde\r\n0\r\n\r\n")
