"""The ``edge-router`` command. Each module in this package that defines ``register(subparsers)`` adds a command.

Nothing here is packaged into the Lambda@Edge artifact: the build copies only the router's own modules.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-router", description="Header-based API versioning router tools.")
    parser.add_argument("--version", action="version", version=f"edge-router {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status
