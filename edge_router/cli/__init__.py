"""The ``edge-router`` command. Each module in this package that defines ``register(subparsers)`` adds a command.

Nothing here is packaged into the Lambda@Edge artifact: the build copies only the router's own modules.
Whatever happens, the command never shows a traceback: a failure is one ``edge-router: error: ...`` line on stderr
(``cli.errors``; a partial import lists its keys after it) and an exit status: usage errors exit 2, failures 1, an
interrupt 130 (``local`` included, while it starts too; its API Gateway child reports its own failures in one line
that the error passes on). ``EDGE_ROUTER_DEBUG=1`` adds the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__
from .errors import print_error

DEBUG_ENV = "EDGE_ROUTER_DEBUG"


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line in the tool's own form (subcommand parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"edge-router: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="edge-router", description="Header-based API versioning router tools.")
    parser.add_argument("--version", action="version", version=f"edge-router {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def _unexpected(error: BaseException) -> int:
    """The last line of defence: name the exception in one line (the traceback only when debugging)."""
    if os.environ.get(DEBUG_ENV) == "1":
        traceback.print_exception(error, file=sys.stderr)
    detail = str(error).strip()
    hint = "" if os.environ.get(DEBUG_ENV) == "1" else f" ({DEBUG_ENV}=1 shows the traceback)"
    print_error(f"unexpected {type(error).__name__}{': ' if detail else ''}{detail}", hint)
    return 1


def _stdout_closed() -> int:
    """``edge-router mappings list | head``: the reader left; exit quietly, and keep Python's exit flush silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; its return value is the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
        args.command_line = ["edge-router", *arguments]
        status: int = args.run(args)
    except SystemExit as exit_request:  # argparse (usage errors, --help) and commands that exit
        code = exit_request.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
        return code if isinstance(code, int) else 0 if code is None else 1
    except KeyboardInterrupt:
        print("edge-router: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as error:
        return _unexpected(error)
    return status
