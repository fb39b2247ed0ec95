"""``edge-router mappings``: list, get, put, delete, export and import version mappings safely."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..admin.connection import actor, add_connection_options, connect
from ..admin.diff import ChangeKind, plan_import
from ..admin.errors import AdminError, UsageError
from ..admin.files import FORMATS, dump_document, export_document, format_for, read_specs
from ..admin.guards import deletion_problems, facts, table_facts, write_problems
from ..admin.render import flags, render_detail, render_table
from ..admin.rows import CANARY_ATTRIBUTES, LIFECYCLE_ATTRIBUTES, MappingRow, MappingSpec, put_attributes
from ..admin.table import MappingTable
from ..errors import MappingError
from .errors import Command, guarded


def _list(args: argparse.Namespace) -> int:
    target, rules = connect(args)
    rows = MappingTable(target).rows()
    if args.json:
        print(json.dumps([row.as_json(rules) for row in rows], indent=2))
    elif rows:
        print(render_table(rows, rules, time.time()))
    else:
        print("no mappings")
    return 0


def _require(table: MappingTable, key: str, rows: Sequence[MappingRow] | None = None) -> MappingRow:
    row = table.find(key, rows)
    if row is None:
        raise AdminError(f"no mapping for key {key!r} in {table.target.describe()}")
    return row


def _get(args: argparse.Namespace) -> int:
    target, rules = connect(args)
    table = MappingTable(target)
    row = _require(table, args.key)
    print(json.dumps(row.as_json(rules), indent=2) if args.json else render_detail(row, rules, time.time()))
    return 0


_CANARY_OPTIONS = ("canary_domain", "canary_path", "canary_percent")


def _put_row(args: argparse.Namespace, existing: MappingRow | None) -> dict[str, Any]:
    """The row the router will read after this ``put``: options not given keep the row's values, an empty value
    (``--path ''``) clears one."""
    if existing is None and args.domain is None:
        raise UsageError(f"there is no mapping {args.key!r} yet: pass --domain (and --path) to add it")
    given = {
        "dn": args.domain,
        "dp": args.path,
        "is_default": args.default,
        "deprecated_at": args.deprecated_at,
        "sunset_at": args.sunset_at,
        "successor": args.successor,
        "info_url": args.info_url,
        "canary_dn": args.canary_domain,
        "canary_dp": args.canary_path,
        "canary_percent": args.canary_percent,
    }
    clear = [*(LIFECYCLE_ATTRIBUTES if args.no_deprecation else ()), *(CANARY_ATTRIBUTES if args.no_canary else ())]
    row = put_attributes(existing, args.key, given, clear=clear)
    if any(getattr(args, name) is not None for name in _CANARY_OPTIONS) and (
        row.get("canary_dn") in (None, "") or row.get("canary_percent") in (None, "")
    ):
        raise UsageError("a canary needs a domain and a percent (--canary-domain, --canary-percent)")
    return row


def _put(args: argparse.Namespace) -> int:
    target, rules = connect(args)
    table = MappingTable(target)
    rows = table.rows()
    existing = table.find(args.key, rows)
    try:
        spec = MappingSpec.from_row(_put_row(args, existing), rules)
    except MappingError as error:
        raise AdminError(f"refusing to write: {error.message}") from None
    after = table_facts(row for row in rows if row is not existing)
    after[spec.key] = facts(spec)
    problems = write_problems(after, [after[spec.key]], time.time())
    if problems:
        raise AdminError(f"refusing to write: {'; '.join(problems)}")
    row, changed = table.put(spec, actor=actor(args.actor), expected_revision=args.if_revision, rows=rows)
    verb = "unchanged" if not changed else "updated" if existing else "added"
    noted = flags(row.attributes(), time.time())
    details = f"revision {row.revision}" + (f"; {', '.join(noted)}" if noted else "")
    print(f"{verb}: {row.key} -> {row.target} ({details})")
    return 0


def _confirm(prompt: str) -> bool:
    """Ask on stderr, so standard output stays the command's result."""
    print(f"{prompt} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _may_proceed(args: argparse.Namespace, what: str, prompt: str) -> bool:
    """``--yes``, or the answer on a terminal; without either, a usage error (scripts must say ``--yes``)."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"refusing to {what} without --yes (not a terminal)")
    return _confirm(prompt)


def _delete(args: argparse.Namespace) -> int:
    target, _rules = connect(args)
    table = MappingTable(target)
    rows = table.rows()
    row = _require(table, args.key, rows)
    problems = deletion_problems(table_facts(other for other in rows if other is not row), [facts(row)])
    if problems and not args.force:
        raise AdminError(f"refusing to delete: {'; '.join(problems)}; pass --force to delete it anyway")
    if not _may_proceed(args, "delete", f"delete {row.key} -> {row.target} from {table.target.describe()}?"):
        print("not deleted", file=sys.stderr)
        return 1
    table.delete(row, expected_revision=args.if_revision)
    print(f"deleted: {row.key}")
    return 0


def _export(args: argparse.Namespace) -> int:
    target, rules = connect(args)
    rows = MappingTable(target).rows()
    for row in rows:
        problem = row.problem(rules)
        if problem is not None:
            print(f"edge-router: warning: the router skips {problem}; import refuses it until fixed", file=sys.stderr)
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
    target, rules = connect(args)
    specs = read_specs(args.file, rules, args.format, stdin_text)
    table = MappingTable(target)
    rows = table.rows()
    plan = plan_import(rows, specs, prune=args.prune)
    print(plan.render())
    removed = {change.key for change in plan.changes if change.kind is ChangeKind.REMOVED}
    after = table_facts(row for row in rows if row.key not in removed)
    after.update((spec.key, facts(spec)) for spec in specs)
    written = [after[change.after.key] for change in plan.changes if change.after is not None]
    problems = write_problems(after, written, time.time())
    if problems:
        raise AdminError(f"refusing to import: {'; '.join(problems)}")
    gone = [facts(row) for row in rows if row.key in removed]
    problems = deletion_problems(after, gone)
    if problems and not args.force:
        raise AdminError(f"refusing to import: {'; '.join(problems)}; pass --force to delete anyway")
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    if not plan.changes:
        return 0
    if removed:
        if args.file == "-" and not args.yes:
            raise UsageError("the file came from standard input, so there is no one to ask: pass --yes to delete rows")
        prompt = f"apply {len(plan.changes)} change(s) to {table.target.describe()}, deleting {len(removed)} row(s)?"
        if not _may_proceed(args, f"delete {len(removed)} row(s)", prompt):
            print("nothing written", file=sys.stderr)
            return 1
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


def _put_options(put: argparse.ArgumentParser) -> None:
    origin = put.add_argument_group("origin (options not given keep the row's values; '' clears one)")
    origin.add_argument("--domain", help="origin domain, e.g. abc123.execute-api.us-east-1.amazonaws.com")
    origin.add_argument("--path", help="origin path, e.g. /Prod/v1")
    marks = origin.add_mutually_exclusive_group()
    marks.add_argument("--default", action="store_true", default=None, help="the version for requests naming none")
    marks.add_argument(
        "--no-default", dest="default", action="store_false", default=None, help="no longer the default version"
    )
    life = put.add_argument_group("lifecycle (instants: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC, no offset)")
    life.add_argument("--deprecated-at", metavar="WHEN", help="from then on, responses carry Deprecation and Link")
    life.add_argument("--sunset-at", metavar="WHEN", help="responses carry Sunset; from then on requests get 410")
    life.add_argument("--successor", metavar="KEY", help="the version to move to (an existing mapping)")
    life.add_argument("--info-url", metavar="URL", help="page about the deprecation (Link rel=deprecation)")
    life.add_argument(
        "--no-deprecation", action="store_true", help="clear the deprecation, sunset, successor and info URL"
    )
    canary = put.add_argument_group("canary (a second origin for a sticky share of this version's clients)")
    canary.add_argument("--canary-domain", metavar="DOMAIN", help="canary origin domain")
    canary.add_argument("--canary-path", metavar="PATH", help="canary origin path")
    canary.add_argument("--canary-percent", metavar="N", help="share of clients, 0 to 100, up to 2 decimals")
    canary.add_argument("--no-canary", action="store_true", help="remove the canary")
    put.add_argument("--if-revision", type=int, metavar="N", help="write only if the row is still at revision N")
    _writer_options(put)


def _check_put(args: argparse.Namespace) -> None:
    """Contradictory options are a usage error before anything is read."""
    if args.no_deprecation and any(
        value is not None for value in (args.deprecated_at, args.sunset_at, args.successor, args.info_url)
    ):
        raise UsageError(
            "--no-deprecation clears the lifecycle: do not combine it with --deprecated-at, --sunset-at, "
            "--successor or --info-url"
        )
    if args.no_canary and any(getattr(args, name) is not None for name in _CANARY_OPTIONS):
        raise UsageError("--no-canary removes the canary: do not combine it with the other --canary-* options")


def _checked_put(args: argparse.Namespace) -> int:
    _check_put(args)
    return _put(args)


def register(subparsers: Any) -> None:
    """Add ``mappings`` and its subcommands."""
    group = subparsers.add_parser("mappings", help="administer the version mapping table")
    commands = group.add_subparsers(dest="mappings_command", required=True, metavar="SUBCOMMAND")
    _add(commands, "list", _list, "list every mapping", json_option=True)
    _add(commands, "get", _get, "show one mapping", key=True, json_option=True)
    put = _add(
        commands, "put", _checked_put, "add a mapping or change it (validated with the router's rules)", key=True
    )
    _put_options(put)
    delete = _add(commands, "delete", _delete, "delete a mapping (asks first on a terminal)", key=True)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--force", action="store_true", help="also delete the last mapping, the default one or a successor"
    )
    delete.add_argument("--if-revision", type=int, metavar="N", help="delete only if the row is still at revision N")
    export = _add(commands, "export", _export, "write every mapping to FILE (default: standard output)")
    export.add_argument("file", metavar="FILE", nargs="?", help="output file; .json writes JSON, else YAML")
    export.add_argument("--format", choices=FORMATS, help="file format (default: from the extension, else yaml)")
    imp = _add(
        commands,
        "import",
        _import,
        "apply FILE to the table (--prune also deletes rows not in it): shows the diff, then writes it in "
        "transactions of up to 100 changes",
    )
    imp.add_argument("file", metavar="FILE", help="YAML or JSON file as written by export ('-': standard input)")
    imp.add_argument("--format", choices=FORMATS, help="file format (default: from the extension, else yaml)")
    imp.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    imp.add_argument("--prune", action="store_true", help="also delete rows that are not in the file")
    imp.add_argument("--yes", action="store_true", help="do not ask before deleting rows (--prune)")
    imp.add_argument(
        "--force", action="store_true", help="also delete the last mappings, the default one or a successor"
    )
    _writer_options(imp)
