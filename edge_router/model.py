"""The mapping table's PynamoDB model, shared by the admin CLI and the seeding custom resource.

The edge router does not use it: ``edge_router.store`` reads the table without botocore or PynamoDB (cold starts).

Schema (unchanged from the original sample): hash key ``hk`` (the version value), ``dn`` (origin domain), ``dp``
(optional origin path). The other attributes are optional, so rows written by the sample stay readable: the
lifecycle and canary attributes ``mapping.mapping_from_row`` reads (``mapping.ROW_ATTRIBUTES``), and the admin
tool's bookkeeping (``updated_by``, ``updated_at``, ``revision``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model


class VersionMappingModel(Model):
    """One row: which origin serves one version value. Bind it to a table with ``bind_model``."""

    class Meta:
        table_name = "unbound"

    hk = UnicodeAttribute(hash_key=True)
    dn = UnicodeAttribute()
    dp = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    revision = VersionAttribute(null=True)
    is_default = BooleanAttribute(null=True)
    """The version for requests that name none (at most one row; the admin tool refuses a second)."""
    deprecated_at = UnicodeAttribute(null=True)
    """Instants are stored as text in the canonical ``YYYY-MM-DDTHH:MM:SSZ`` (``lifecycle.format_instant``), not
    as PynamoDB datetimes, so that an admin reading the table in the console sees the same form the CLI takes."""
    sunset_at = UnicodeAttribute(null=True)
    successor = UnicodeAttribute(null=True)
    info_url = UnicodeAttribute(null=True)
    canary_dn = UnicodeAttribute(null=True)
    canary_dp = UnicodeAttribute(null=True)
    canary_percent = NumberAttribute(null=True)
    """0 to 100 with at most two decimals (``12.5``)."""


@lru_cache(maxsize=64)
def bind_model(
    table_name: str,
    region: str | None,
    host: str | None = None,
    *,
    connect_timeout: float = 1.0,
    read_timeout: float = 2.0,
    max_retry_attempts: int = 1,
) -> type[VersionMappingModel]:
    """A subclass of the model bound to one table, region and endpoint, with explicit timeouts.

    PynamoDB keeps one connection per model class, so each (table, region, endpoint) gets its own class and
    reuses its connection across calls. ``host`` is an endpoint URL (DynamoDB Local, the embedded emulator);
    ``None`` lets botocore resolve it, which honours ``AWS_ENDPOINT_URL_DYNAMODB``.
    """
    meta: dict[str, Any] = {
        "table_name": table_name,
        "region": region,
        "host": host,
        "connect_timeout_seconds": connect_timeout,
        "read_timeout_seconds": read_timeout,
        "max_retry_attempts": max_retry_attempts,
    }
    return type("BoundVersionMappingModel", (VersionMappingModel,), {"Meta": type("Meta", (), meta)})


def row_attributes(item: VersionMappingModel) -> dict[str, Any]:
    """The plain attribute dict of a model instance (what validation and the CLI work on)."""
    return {name: getattr(item, name) for name in item.get_attributes()}
