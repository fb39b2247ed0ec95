"""Errors of the admin tool. Each carries the exit status the CLI returns and a one-line message."""

from __future__ import annotations

from ..errors import RouterError


class AdminError(RouterError):
    """An admin operation could not be done; nothing was written unless the message says otherwise."""

    default_message = "the mapping table could not be changed"
    exit_status = 1


class UsageError(AdminError):
    """The command line (or the environment it falls back to) is missing something or contradicts itself."""

    default_message = "invalid usage"
    exit_status = 2


class ConflictError(AdminError):
    """Optimistic locking refused a write: someone else changed the row since it was read."""

    default_message = "the mapping was changed by someone else; re-read it and try again"
