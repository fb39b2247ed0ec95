"""``edge-router mappings``: list, get, put, delete, export and import version mappings safely."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..admin.connection import actor, add_connection_options, origin_rules, table_target
from ..admin.diff import plan_import
from ..admin.errors import AdminError, UsageError
from ..admin.files import FORMATS, dump_document, export_document, format_for, read_specs
from ..admin.rows import MappingRow, MappingSpec
from ..admin.table import MappingTable, PartialApplyError
from ..errors import MappingError, RouterError

Command = Callable[[argparse.Namespace], int]


def guarded(command: Command) -> Command:
    """Run a command, turning every expected failure into one line on stderr and its exit status."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except PartialApplyError as error:
            print(f"edge-router: error: {error.message}", file=sys.stderr)
            for key in error.applied:
                print(f"  applied: {key}", file=sys.stderr)
            for key in error.not_applied:
                print(f"  not applied: {key}", file=sys.stderr)
            return error.exit_status
        except AdminError as error:
            print(f"edge-router: error: {error.message}", file=sys.stderr)
            return error.exit_status
        except RouterError as error:
            print(f"edge-router: error: {error.message}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("edge-router: interrupted", file=sys.stderr)
            return 130

    return run


def _table(args: argparse.Namespace) -> MappingTable:
    return MappingTable(table_target(args))


def _format_time(row: MappingRow) -> str:
    return row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") if row.updated_at else "-"


def render_table(rows: Sequence[MappingRow]) -> str:
    """An aligned text table, one row per mapping."""
    header = ("KEY", "DOMAIN", "PATH", "UPDATED BY", "UPDATED AT", "REVISION")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        key = row.key + (" (default)" if row.is_default else "")
        revision = "-" if row.revision is None else str(row.revision)
        lines.append((key, row.domain, row.path or "-", row.updated_by or "-", _format_time(row), revision))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _list(args: argparse.Namespace) -> int:
    rows = _table(args).rows()
    if args.json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
    elif rows:
        print(render_table(rows))
    else:
        print("no mappings")
    return 0


def _require(table: MappingTable, key: str, rows: Sequence[MappingRow] | None = None) -> MappingRow:
    row = table.find(key, rows)
    if row is None:
        raise AdminError(f"no mapping for key {key!r} in {table.target.describe()}")
    return row


def _get(args: argparse.Namespace) -> int:
    table = _table(args)
    row = _require(table, args.key)
    if args.json:
        print(json.dumps(row.as_json(), indent=2))
    else:
        print(render_table([row]))
    return 0


def _put(args: argparse.Namespace) -> int:
    rules = origin_rules(args)
    try:
        spec = MappingSpec.validated(args.key, args.domain, args.path, rules)
    except MappingError as error:
        raise AdminError(f"refusing to write: {error.message}") from None
    table = _table(args)
    existing = table.find(spec.key)
    if existing is not None and existing.is_default:
        spec = MappingSpec(spec.key, spec.domain, spec.path, is_default=True)  # put never clears the default mark
    row, changed = table.put(spec, actor=actor(args.actor), expected_revision=args.if_revision)
    if not changed:
        print(f"unchanged: {row.key} -> {row.target} (revision {row.revision})")
    else:
        verb = "updated" if existing else "added"
        print(f"{verb}: {row.key} -> {row.target} (revision {row.revision})")
    return 0


def _confirm(prompt: str) -> bool:
    """Ask on stderr, so standard output stays the command's result."""
    print(f"{prompt} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _delete(args: argparse.Namespace) -> int:
    table = _table(args)
    rows = table.rows()
    row = _require(table, args.key, rows)
    if args.if_revision is not None and row.revision != args.if_revision:
        raise AdminError(f"mapping {row.key!r} is at revision {row.revision}, not {args.if_revision}; re-read it")
    if row.is_default and not args.force:
        raise AdminError(f"{row.key!r} is marked as the default version; pass --force to delete it anyway")
    if len(rows) == 1 and not args.force:
        raise AdminError(f"{row.key!r} is the last mapping: every request would be refused; pass --force to delete it")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without --yes (not a terminal)")
        if not _confirm(f"delete {row.key} -> {row.target} from {table.target.describe()}?"):
            print("not deleted", file=sys.stderr)
            return 1
    table.delete(row)
    print(f"deleted: {row.key}")
    return 0


def _export(args: argparse.Namespace) -> int:
    rows = _table(args).rows()
    text = dump_document(export_document(rows), format_for(args.file, args.format))
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        Path(args.file).write_text(text, encoding="utf-8")
    except OSError as error:
        raise AdminError(f"cannot write {args.file}: {error.strerror or error}") from None
    print(f"exported {len(rows)} mapping(s) to {args.file}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    stdin_text = sys.stdin.read() if args.file == "-" else None
    specs = read_specs(args.file, origin_rules(args), args.format, stdin_text)
    table = _table(args)
    plan = plan_import(table.rows(), specs, prune=args.prune)
    print(plan.render())
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    if not plan.changes:
        return 0
    report = table.apply(plan, actor=actor(args.actor))
    print(f"applied {len(report.applied)} change(s) in {report.transactions} transaction(s)")
    return 0


def _add(
    commands: Any, name: str, run: Command, help_text: str, *, key: bool = False, json_option: bool = False
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    if key:
        parser.add_argument("key", metavar="KEY", help="the version value (header value or media type)")
    if json_option:
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_connection_options(parser)
    parser.set_defaults(run=guarded(run))
    return parser


def _writer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="actor", metavar="NAME", help="recorded as updated_by (env EDGE_ROUTER_ADMIN)")


def register(subparsers: Any) -> None:
    """Add ``mappings`` and its subcommands."""
    group = subparsers.add_parser("mappings", help="administer the version mapping table")
    commands = group.add_subparsers(dest="mappings_command", required=True, metavar="SUBCOMMAND")
    _add(commands, "list", _list, "list every mapping", json_option=True)
    _add(commands, "get", _get, "show one mapping", key=True, json_option=True)
    put = _add(commands, "put", _put, "add a mapping or move it to another origin (validated first)", key=True)
    put.add_argument("--domain", required=True, help="origin domain, e.g. abc123.execute-api.us-east-1.amazonaws.com")
    put.add_argument("--path", default="", help="origin path, e.g. /Prod (default: none)")
    put.add_argument("--if-revision", type=int, metavar="N", help="write only if the row is still at revision N")
    _writer_options(put)
    delete = _add(commands, "delete", _delete, "delete a mapping (asks first on a terminal)", key=True)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--force", action="store_true", help="also delete the last mapping or the default one")
    delete.add_argument("--if-revision", type=int, metavar="N", help="delete only if the row is still at revision N")
    export = _add(commands, "export", _export, "write every mapping to FILE (default: standard output)")
    export.add_argument("file", metavar="FILE", nargs="?", help="output file; .json writes JSON, else YAML")
    export.add_argument("--format", choices=FORMATS, help="file format (default: from the extension, else yaml)")
    imp = _add(commands, "import", _import, "make the table match FILE: shows the diff, then applies it atomically")
    imp.add_argument("file", metavar="FILE", help="YAML or JSON file as written by export ('-': standard input)")
    imp.add_argument("--format", choices=FORMATS, help="file format (default: from the extension, else yaml)")
    imp.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    imp.add_argument("--prune", action="store_true", help="also delete rows that are not in the file")
    _writer_options(imp)
