"""A taken port is one ``PortInUseError`` naming the option to change, whichever emulator binds it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from edge_router.local.cloudfront import CloudFront
from edge_router.local.http import PortInUseError, QuietHandler, bind, bound_socket
from edge_router.local.server import start_server
from edge_router.local.stack import _check_port_free

HOST = "127.0.0.1"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        yield int(busy.getsockname()[1])


BINDERS: dict[str, Callable[[int], object]] = {
    "--api-port": lambda port: bind(HOST, port, QuietHandler, "--api-port"),
    "--port": lambda port: start_server(CloudFront(lambda _event, _context: {}, {}), HOST, port),
    "--dynamodb-port": lambda port: _check_port_free(HOST, port, "--dynamodb-port"),
}


@pytest.mark.parametrize("option", BINDERS)
def test_a_taken_port_names_the_option(busy_port: int, option: str) -> None:
    with pytest.raises(PortInUseError, match=f"^port {busy_port} is already in use; pass {option}$"):
        BINDERS[option](busy_port)


def test_a_free_port_binds_with_reuse_address() -> None:
    sock = bound_socket(HOST, 0, "--port")
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()
