"""How every ``edge-router`` command reports a failure: one ``edge-router: error: ...`` line and an exit status."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable

from ..admin.errors import AdminError
from ..admin.table import PartialApplyError
from ..errors import RouterError

Command = Callable[[argparse.Namespace], int]
MAX_MESSAGE = 2000
"""Longest error message printed (a message quoting a huge bad value stays readable)."""


def print_error(message: str, suffix: str = "") -> None:
    """``edge-router: error: MESSAGE`` on one line (whitespace folded, at most ``MAX_MESSAGE`` characters), then
    ``suffix`` as it is."""
    text = " ".join(message.split())
    print(f"edge-router: error: {text[:MAX_MESSAGE]}{suffix}", file=sys.stderr)


def _report_partial(error: PartialApplyError, args: argparse.Namespace) -> None:
    """Every key by outcome, then how to finish: the same import again, which is safe."""
    print_error(error.message)
    for label, keys in (("applied", error.applied), ("unknown", error.unknown), ("not applied", error.not_applied)):
        for key in keys:
            print(f"  {label}: {key}", file=sys.stderr)
    if error.unknown:
        print(
            "DynamoDB may or may not have written the 'unknown' changes: no answer came, and reading the rows back "
            "did not show them.",
            file=sys.stderr,
        )
    command_line: list[str] = getattr(args, "command_line", [])
    if getattr(args, "file", None) == "-":
        how = "run the same command with the same file on standard input"
    else:
        how = "run:\n  " + (shlex.join(command_line) if command_line else "the same import command")
    print(
        "Running the same import again is safe: it compares the file with the table again and writes only what is "
        f"still different (what was written shows as unchanged). To finish, {how}",
        file=sys.stderr,
    )


def guarded(command: Command) -> Command:
    """Run a command, turning every expected failure into one line on stderr and its exit status."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except PartialApplyError as error:
            _report_partial(error, args)
            return error.exit_status
        except AdminError as error:
            print_error(error.message)
            return error.exit_status
        except RouterError as error:
            print_error(error.message)
            return 1

    return run
