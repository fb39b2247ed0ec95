"""The keyed client hash: which side of a canary split a client is on, and an anonymous id for usage counts.

A client is identified by a configured request header (an API key header, say) or, without one, its IP address.
The identity is hashed with BLAKE2b keyed by a secret setting, so neither the canary side nor the id in the logs
reveals the key or the address (an unkeyed hash of an IPv4 address is reversed by trying all 2**32).
"""

from __future__ import annotations

from hashlib import blake2b

from .mapping import BASIS_POINTS

CLIENT_ID_HEX = 16
"""Hex digits of the logged client id (64 bits: collisions are negligible at any realistic client count)."""


def client_digest(identity: str, key: bytes) -> bytes:
    """A stable 8-byte digest of a client identity under ``key``."""
    return blake2b(identity.encode("utf-8", "surrogatepass"), key=key[:64], digest_size=8).digest()


def bucket(digest: bytes) -> int:
    """The client's fixed position in ``range(BASIS_POINTS)``: it is on the canary side when below the share.

    The position never depends on the share, so raising a canary from 5 % to 10 % only moves clients from the
    main side to the canary side, never back.
    """
    return int.from_bytes(digest, "big") % BASIS_POINTS


def client_id(digest: bytes) -> str:
    """The anonymous id logged for distinct-client counts."""
    return digest.hex()[:CLIENT_ID_HEX]
