#!/usr/bin/env python3
"""What each Lambda artifact ships, derived from template.yaml and the code, and the check that it ships just that.

An artifact is built per function (logical ID), not per ``CodeUri`` folder: the two edge functions share
``edge_router/`` yet the origin-response one imports a few modules of it and no third-party package. A function's
entry point is its ``Handler`` module (an ``edge_router`` module, or a top-level script of its ``CodeUri``); what its
artifact ships of this repository is that entry point plus the static import closure of ``edge_router`` modules it
reaches (``import`` and ``from ... import`` at module or function level, relative imports included,
``if TYPE_CHECKING:`` blocks left out, every parent package's ``__init__.py`` added). Third-party packages come from
the function's requirements file (``REQUIREMENTS``), installed by deploy/Makefile; the check also fails when an
installed requirement is imported by nothing else in the artifact.

    artifact.py functions CODEURI          the template's functions built from CODEURI, one logical ID a line
    artifact.py files FUNCTION             the repository files FUNCTION's artifact ships, one path a line
    artifact.py copy FUNCTION DEST         copy them into DEST (deploy/Makefile's recipes)
    artifact.py requirements FUNCTION      the requirements file deploy/Makefile installs for FUNCTION (nothing
                                           when it has none, or the file names no requirement)
    artifact.py check BUILD_DIR [--bytecode] [--import-python PY]
                                           every function's built artifact holds exactly its own files and
                                           requirements, nothing else, nothing less

Needs only the standard library (``sam build`` may run it with any Python 3): the template is read with a small
scanner of its block-style ``Resources`` section, which tests/unit/test_artifact.py compares with a real YAML parse.
Imports made by name at run time (``importlib.import_module("edge_router.x")``) are not seen; the router has none.
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib.util
import marshal
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
PACKAGE = "edge_router"
LAMBDA_TASK_ROOT = "/var/task"
"""Where Lambda unpacks the code: the bytecode records paths under it, so tracebacks name the deployed file."""

REQUIREMENTS = {
    "EdgeRouterFunction": ROOT / "deploy" / "requirements-edge.txt",
    "InitDbFunction": ROOT / "deploy" / "requirements-init-db.txt",
}
"""Third-party requirements per function (deploy/Makefile's recipes install them, through ``requirements``); no entry
means none.

Keyed by function, not by ``CodeUri``: EdgeResponseFunction is built from the router's folder but needs none of its
packages. The mapping is stated rather than inferred from the code's imports because requirements are installed with
``--no-deps``, so a file also pins what its packages import (init_db's urllib3, idna ...), which no closure shows.
"""

_RESOURCE = re.compile(r"^  ([A-Za-z0-9]+):\s*(?:#.*)?$")
_PROPERTY = re.compile(r"^(\s+)([A-Za-z0-9]+):\s*(.*?)\s*$")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class ArtifactError(Exception):
    """The template, the code or a built artifact is not what an artifact can be built from or should hold."""


@dataclass(frozen=True)
class Function:
    """One ``AWS::Serverless::Function`` of the template, as far as building its artifact goes."""

    logical_id: str
    code_uri: str
    handler: str

    @property
    def entry_module(self) -> str:
        """The module Lambda imports first: the handler without its function name."""
        return self.handler.rpartition(".")[0]


def _scalar(text: str) -> str:
    """A plain or quoted YAML scalar without a trailing comment."""
    if text[:1] in "\"'":
        return text[1 : text.index(text[0], 1)]
    return text.split(" #", 1)[0].strip()


def serverless_functions(template_text: str) -> list[Function]:
    """The template's functions with their ``CodeUri`` and ``Handler`` (block-style YAML, two-space indents)."""
    found: list[Function] = []
    in_resources = False
    current: dict[str, str] = {}

    def flush() -> None:
        if current.get("Type") == "AWS::Serverless::Function":
            if "CodeUri" not in current or "Handler" not in current:
                raise ArtifactError(f"function {current['id']} has no plain CodeUri and Handler in template.yaml")
            found.append(Function(current["id"], current["CodeUri"], current["Handler"]))

    for line in template_text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line and not line[0].isspace():
            if in_resources:
                flush()
                current = {}
            in_resources = line.split("#", 1)[0].strip() == "Resources:"
            continue
        if not in_resources:
            continue
        resource = _RESOURCE.match(line)
        if resource:
            flush()
            current = {"id": resource.group(1)}
            continue
        prop = _PROPERTY.match(line)
        if prop and current:
            indent, key, value = len(prop.group(1)), prop.group(2), prop.group(3)
            if (indent, key) in ((4, "Type"), (6, "CodeUri"), (6, "Handler")) and value:
                current[key] = _scalar(value)
    if in_resources:
        flush()
    return found


def functions_for(code_uri: str) -> list[Function]:
    """The functions built from ``code_uri`` (check-template.sh's edge functions); an error when there is none."""
    functions = [f for f in serverless_functions(TEMPLATE.read_text()) if f.code_uri == code_uri]
    if not functions:
        raise ArtifactError(f"no function in template.yaml has CodeUri {code_uri}")
    return functions


def function_named(logical_id: str) -> Function:
    """The template's function ``logical_id``; an error when there is none."""
    for function in serverless_functions(TEMPLATE.read_text()):
        if function.logical_id == logical_id:
            return function
    raise ArtifactError(f"template.yaml has no function {logical_id}")


# ------------------------------------------------------------------------------------------------ the import closure
def _module_path(root: Path, name: str) -> Path | None:
    """``edge_router.x`` as the file that defines it under ``root``, or None when it is no module there."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Imports:
    """What one module imports: names that must resolve, and names that are submodules only if they exist."""

    required: set[str]
    optional: set[str]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` (imports only type checkers run)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(source: str, module: str, *, is_package: bool, filename: str = "<module>") -> Imports:
    """Absolute names this module's ``import`` statements load.

    ``import X`` and ``from X import a`` must find ``X`` (``required``); ``from X import a`` also names ``X.a``, which
    is loaded when it is a submodule and is otherwise just a name defined in ``X`` (``optional``).
    """
    package = module if is_package else module.rpartition(".")[0]
    imports = Imports(set(), set())
    for node in _runtime_nodes(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            imports.required.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if not package or node.level - 1 >= len(parts):
                    raise ArtifactError(f"{filename}: relative import beyond the top-level package")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            imports.required.add(target)
            imports.optional.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return imports


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def closure(entry_modules: Iterable[str], entry_files: Iterable[Path] = (), root: Path = ROOT) -> list[Path]:
    """The ``edge_router`` files (relative to ``root``) that the entry points import, directly or not, sorted.

    ``entry_modules`` are modules of the package (``edge_router.handler``); ``entry_files`` are top-level scripts
    (``init_db/app.py``, deployed as ``app.py``) whose ``edge_router`` imports count. A module the code imports that
    does not exist is an error: the artifact would fail at import time.
    """
    required: list[tuple[str, str]] = [(name, "a Handler in template.yaml") for name in entry_modules]
    optional: list[str] = []

    def add(imports: Imports, importer: str) -> None:
        required.extend((name, importer) for name in imports.required if _ours(name))
        optional.extend(name for name in imports.optional if _ours(name))

    for path in entry_files:
        add(imported_modules(path.read_text(), path.stem, is_package=False, filename=str(path)), str(path))
    seen: dict[str, Path] = {}
    while required or optional:
        if required:
            name, importer = required.pop()
            found = _module_path(root, name)
            if found is None:
                raise ArtifactError(f"{importer} names {name}, which is not a module in {root}")
        else:
            name = optional.pop()
            found = _module_path(root, name)
            if found is None:
                continue  # `from pkg import NAME`: a name defined in pkg, not a submodule
        path = found
        if name in seen:
            continue
        seen[name] = path
        required.extend((parent, str(path)) for parent in _parents(name))
        add(
            imported_modules(path.read_text(), name, is_package=path.name == "__init__.py", filename=str(path)),
            str(path),
        )
    return sorted(path.relative_to(root) for path in seen.values())


@dataclass(frozen=True)
class Plan:
    """What one function's artifact ships: repository files ``{artifact path: repository path}``, requirements."""

    files: dict[str, Path]
    requirements: Path | None


def plan(function: Function, root: Path = ROOT) -> Plan:
    """What ``function``'s artifact ships: its entry point's closure of this repository, its requirements file."""
    module = function.entry_module
    scripts: dict[str, Path] = {}
    if _ours(module):
        package_entries = [module]
    elif "." in module:
        raise ArtifactError(f"handler module {module} of {function.logical_id} is neither top-level nor {PACKAGE}")
    else:
        package_entries = []
        script = root / function.code_uri / f"{module}.py"
        if not script.is_file():
            raise ArtifactError(f"handler module {module}: {script.relative_to(root)} does not exist")
        scripts[f"{module}.py"] = script
    files = {str(path): root / path for path in closure(package_entries, scripts.values(), root)}
    files.update(scripts)
    return Plan(dict(sorted(files.items())), REQUIREMENTS.get(function.logical_id))


def copy(logical_id: str, dest: Path) -> None:
    """Copy the function's repository files into ``dest`` (which may already hold installed packages)."""
    for relative, source in plan(function_named(logical_id)).files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


# ------------------------------------------------------------------------------------------------ checking a build
def requirements_to_install(logical_id: str) -> Path | None:
    """The function's requirements file, when it names at least one requirement (``None``: nothing to install)."""
    path = plan(function_named(logical_id)).requirements
    return path if requirement_names(path) else None


def requirement_names(path: Path | None) -> set[str]:
    """Normalised project names of a requirements file (``name==version`` lines; comments and blanks skipped)."""
    if path is None:
        return set()
    names = set()
    for line in path.read_text().splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            match = _REQUIREMENT.match(stripped)
            if match is None:
                raise ArtifactError(f"{path}: cannot read requirement {line!r}")
            names.add(_normalise(match.group(1)))
    return names


def _normalise(project: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", project).lower()


def _installed(artifact: Path) -> dict[str, set[str]]:
    """``{project: files its RECORD lists}`` for each ``*.dist-info`` in the artifact (``bin/`` and ``..`` left out)."""
    installed: dict[str, set[str]] = {}
    for info in sorted(artifact.glob("*.dist-info")):
        project = _normalise(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        with (info / "RECORD").open(newline="") as record:
            files = {row[0] for row in csv.reader(record) if row}
        installed[project] = {
            f for f in files if not f.startswith(("bin/", "../")) and not f.endswith(".pyc") and "__pycache__" not in f
        }
    return installed


def _imported_tops(artifact: Path) -> dict[str, set[str]]:
    """``{top-level name: top-level names of the artifact's files that import it}`` (absolute imports only)."""
    importers: dict[str, set[str]] = {}
    for path in artifact.rglob("*.py"):
        relative = path.relative_to(artifact)
        own = relative.parts[0].removesuffix(".py")
        try:
            tree = ast.parse(path.read_bytes(), str(relative))
        except (SyntaxError, ValueError):
            continue  # syntax of a newer Python than this one: its imports are not counted
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                importers.setdefault(name.partition(".")[0], set()).add(own)
    return importers


def _tops(files: set[str]) -> set[str]:
    return {f.split("/", 1)[0].removesuffix(".py") for f in files if not f.split("/", 1)[0].endswith(".dist-info")}


def _pyc_for(relative: str, cache_tag: str) -> str:
    source = Path(relative)
    return str(source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc")


def _bytecode_problems(artifact: Path, relative: str) -> list[str]:
    """Problems with ``relative``'s shipped .pyc: this interpreter's magic, unchecked hash, path under /var/task."""
    pyc = artifact / _pyc_for(relative, sys.implementation.cache_tag or "")
    data = pyc.read_bytes()
    problems = []
    if data[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(f"{pyc.relative_to(artifact)} is not bytecode of this Python ({sys.version.split()[0]})")
    elif int.from_bytes(data[4:8], "little") != 0b01:  # PEP 552: hash-based (bit 0), check_source off (bit 1)
        problems.append(f"{pyc.relative_to(artifact)} is not compiled with --invalidation-mode unchecked-hash")
    else:
        code = marshal.loads(data[16:])  # noqa: S302 - bytecode this build wrote
        expected = f"{LAMBDA_TASK_ROOT}/{relative}"
        if code.co_filename != expected:
            problems.append(f"{pyc.relative_to(artifact)} records {code.co_filename}, not {expected}")
    return problems


def check_artifact(artifact: Path, function: Function, *, bytecode: bool) -> list[str]:
    """Everything wrong with ``function``'s built artifact (empty when it holds exactly what it should)."""
    shipped = plan(function)
    wanted_projects = requirement_names(shipped.requirements)
    installed = _installed(artifact)
    problems = []
    if set(installed) != wanted_projects:
        problems.append(f"installed packages {sorted(installed)}, requirements name {sorted(wanted_projects)}")
    importers = _imported_tops(artifact)
    for project, files in sorted(installed.items()):
        tops = _tops(files)
        if not any(importers.get(top, set()) - tops for top in tops):
            problems.append(f"requirement {project} is installed but nothing else in the artifact imports it")
    present = {str(p.relative_to(artifact)) for p in artifact.rglob("*") if p.is_file() or p.is_symlink()}
    expected = set(shipped.files)
    for files in installed.values():
        expected |= files
    for relative, source in shipped.files.items():
        target = artifact / relative
        if target.is_file() and target.read_bytes() != source.read_bytes():
            problems.append(f"{relative} differs from {source.relative_to(ROOT)}")
    sources = sorted(f for f in expected if f.endswith(".py"))
    pycs = {_pyc_for(f, sys.implementation.cache_tag or "") for f in sources} if bytecode else set()
    metadata = {f for f in present if f.split("/", 1)[0].endswith(".dist-info")}
    for missing in sorted((expected | pycs) - present):
        problems.append(f"missing {missing}")
    for extra in sorted(present - expected - pycs - metadata):
        problems.append(f"not expected: {extra}")
    if bytecode:
        for relative in sources:
            if _pyc_for(relative, sys.implementation.cache_tag or "") in present:
                problems.extend(_bytecode_problems(artifact, relative))
    return problems


_IMPORT_CHECK = """
import importlib, os, sys
root = sys.argv[1]
tops = {name.partition(".")[0] for name in os.listdir(root)} - {"__pycache__"}
for name in sys.argv[2:]:
    module = importlib.import_module(name)
    assert callable(module.lambda_handler), name + " has no lambda_handler"
for name, module in list(sys.modules.items()):
    file = getattr(module, "__file__", None)
    if name.partition(".")[0] in tops and file and not file.startswith(root + os.sep):
        raise SystemExit(name + " was imported from " + file + ", not from the artifact")
"""


def check_imports(artifact: Path, modules: Iterable[str], python: str) -> str | None:
    """Import the entry modules from the artifact alone (botocore from ``python``'s site, as the runtime's)."""
    root = str(artifact.resolve())
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [python, "-c", _IMPORT_CHECK, root, *modules],
        cwd="/",
        capture_output=True,
        text=True,
        env={"PYTHONPATH": root, "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")},
        check=False,
    )
    if result.returncode == 0:
        return None
    return result.stderr.strip() or f"exit status {result.returncode}"


def check_build(build_dir: Path, *, bytecode: bool, import_python: str | None) -> list[str]:
    """Check every function's artifact under ``build_dir`` (``sam build``'s ``.aws-sam/build``)."""
    problems = []
    for function in serverless_functions(TEMPLATE.read_text()):
        artifact = build_dir / function.logical_id
        if not artifact.is_dir():
            problems.append(f"{function.logical_id}: not built ({artifact} is missing)")
            continue
        problems += [f"{function.logical_id}: {p}" for p in check_artifact(artifact, function, bytecode=bytecode)]
        if import_python:
            failure = check_imports(artifact, [function.entry_module], import_python)
            if failure:
                problems.append(
                    f"{function.logical_id}: {function.entry_module} does not import from its artifact:\n{failure}"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    functions = commands.add_parser("functions", help="the functions built from CODEURI")
    functions.add_argument("code_uri")
    files = commands.add_parser("files", help="the repository files FUNCTION's artifact ships")
    files.add_argument("function", help="a logical ID of template.yaml")
    copying = commands.add_parser("copy", help="copy FUNCTION's repository files into DEST")
    copying.add_argument("function", help="a logical ID of template.yaml")
    copying.add_argument("dest", type=Path)
    requirements = commands.add_parser("requirements", help="the requirements file to install for FUNCTION")
    requirements.add_argument("function", help="a logical ID of template.yaml")
    checking = commands.add_parser("check", help="check every function's built artifact")
    checking.add_argument("build_dir", type=Path)
    checking.add_argument(
        "--bytecode",
        action="store_true",
        help="every .py must have this interpreter's unchecked-hash .pyc (run it with python3.13)",
    )
    checking.add_argument("--import-python", help="interpreter that imports each entry point from its artifact")
    args = parser.parse_args(argv)
    try:
        if args.command == "functions":
            print("\n".join(f.logical_id for f in functions_for(args.code_uri)))
        elif args.command == "files":
            print("\n".join(plan(function_named(args.function)).files))
        elif args.command == "copy":
            copy(args.function, args.dest)
        elif args.command == "requirements":
            path = requirements_to_install(args.function)
            if path is not None:
                print(path)
        else:
            problems = check_build(args.build_dir, bytecode=args.bytecode, import_python=args.import_python)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            what = "with" if args.bytecode else "without"
            print(
                f"every artifact holds exactly its entry point, its imports and requirements ({what} bytecode "
                f"for {sys.implementation.cache_tag})"
            )
    except (ArtifactError, OSError, SyntaxError) as error:
        print(f"artifact.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
