"""The package's exception hierarchy: one base, specific subclasses that keep their cause."""

from __future__ import annotations


class RouterError(Exception):
    """Base for every error this package raises on purpose."""

    default_message = "edge router error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(RouterError):
    """A setting (origin custom header, CLI option, environment variable) has an invalid value."""

    default_message = "invalid configuration"

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.detail = message


class MappingError(RouterError):
    """A mapping row (or a mapping an admin wants to write) breaks the routing rules."""

    default_message = "invalid mapping"


class StoreUnavailableError(RouterError):
    """DynamoDB could not be read in any configured replica region."""

    default_message = "the mapping table could not be read"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
