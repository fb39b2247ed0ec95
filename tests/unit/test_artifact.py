"""deploy/artifact.py: each function's artifact ships its entry point, its import closure and requirements, no more.

The closure is computed on small packages written here (every import form), on the real code (per function: the two
edge functions share a CodeUri, not a file list), and through the real deploy/Makefile recipes and `artifact.py check`
run against a scratch repository (no network: its requirements file is empty).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "deploy" / "Makefile"


def _load_artifact() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_artifact", ROOT / "deploy" / "artifact.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


artifact = _load_artifact()


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def closure_of(root: Path, *entries: str, files: tuple[Path, ...] = ()) -> list[str]:
    return [str(p) for p in artifact.closure(entries, files, root)]


def plan_of(logical_id: str) -> Any:
    """The real template's function's plan."""
    return artifact.plan(artifact.function_named(logical_id))


# ------------------------------------------------------------------------------------------------ reading the template
class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_scanner_reads_the_functions_a_yaml_parser_reads() -> None:
    """The build cannot count on PyYAML, so the scanner must agree with a real parse of template.yaml."""
    text = (ROOT / "template.yaml").read_text()
    parsed = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    expected = {
        name: (body["Properties"]["CodeUri"], body["Properties"]["Handler"])
        for name, body in parsed["Resources"].items()
        if body["Type"] == "AWS::Serverless::Function"
    }
    scanned = {f.logical_id: (f.code_uri, f.handler) for f in artifact.serverless_functions(text)}
    assert scanned == expected
    assert {"EdgeRouterFunction", "EdgeResponseFunction", "InitDbFunction"} <= set(scanned)


def test_the_scanner_takes_quotes_and_comments_and_ignores_other_sections() -> None:
    text = textwrap.dedent("""\
        Parameters:
          Handler:
            Type: String
        Resources:
          # a comment
        # a comment at the margin
          Fn: # trailing comment
            Type: "AWS::Serverless::Function"
            Properties:
              CodeUri: 'edge_router/'
              Handler: edge_router.handler.lambda_handler # the router
              Events:
                Handler: {Type: Api}
          Other:
            Type: AWS::S3::Bucket
            Properties:
              Handler: not-a-function
        Outputs:
          Fn:
            Value: x
        """)
    (function,) = artifact.serverless_functions(text)
    assert function == artifact.Function("Fn", "edge_router/", "edge_router.handler.lambda_handler")
    assert function.entry_module == "edge_router.handler"


def test_a_function_without_a_plain_handler_is_an_error() -> None:
    text = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: x/\n"
    with pytest.raises(artifact.ArtifactError, match="Fn has no plain CodeUri and Handler"):
        artifact.serverless_functions(text)


# ------------------------------------------------------------------------------------------------ the closure
def test_every_import_form_is_followed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "edge_router/__init__.py": '"""pkg"""\n',
            "edge_router/handler.py": """\
            from __future__ import annotations
            import json
            from .router import Router
            from . import problems
            from edge_router import VERSION_NAME_NOT_A_MODULE

            def lambda_handler(event, context):
                import edge_router.late
                from .sub.deep import thing
                return Router
            """,
            "edge_router/router.py": "import edge_router.config as config\n",
            "edge_router/config.py": "from .errors import *\n",
            "edge_router/errors.py": "",
            "edge_router/problems.py": "",
            "edge_router/late.py": "",
            "edge_router/sub/__init__.py": "",
            "edge_router/sub/deep.py": "from .. import shared\nfrom ..sub import sibling\n",
            "edge_router/shared.py": "",
            "edge_router/sub/sibling.py": "",
            "edge_router/unused.py": "import edge_router.handler\n",
            "edge_router/cli/__init__.py": "",
        },
    )
    assert closure_of(tmp_path, "edge_router.handler") == [
        "edge_router/__init__.py",
        "edge_router/config.py",
        "edge_router/errors.py",
        "edge_router/handler.py",
        "edge_router/late.py",
        "edge_router/problems.py",
        "edge_router/router.py",
        "edge_router/shared.py",
        "edge_router/sub/__init__.py",
        "edge_router/sub/deep.py",
        "edge_router/sub/sibling.py",
    ]


def test_type_checking_imports_are_not_shipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "edge_router/__init__.py": "",
            "edge_router/handler.py": """\
            import typing
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from .typed_only import T
            else:
                from .runtime import R
            if typing.TYPE_CHECKING:
                import edge_router.typed_too
            """,
            "edge_router/typed_only.py": "",
            "edge_router/typed_too.py": "",
            "edge_router/runtime.py": "",
        },
    )
    assert closure_of(tmp_path, "edge_router.handler") == [
        "edge_router/__init__.py",
        "edge_router/handler.py",
        "edge_router/runtime.py",
    ]


def test_an_entry_file_brings_its_edge_router_imports(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "init_db/app.py": "import requests\nfrom edge_router.mapping import rules\nimport edge_router.model\n",
            "edge_router/__init__.py": "",
            "edge_router/mapping.py": "from .errors import E\n",
            "edge_router/errors.py": "",
            "edge_router/model.py": "",
            "edge_router/handler.py": "",
        },
    )
    assert closure_of(tmp_path, files=(tmp_path / "init_db" / "app.py",)) == [
        "edge_router/__init__.py",
        "edge_router/errors.py",
        "edge_router/mapping.py",
        "edge_router/model.py",
    ]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("import edge_router.gone\n", "imports edge_router.gone|names edge_router.gone"),
        ("from .gone import x\n", "names edge_router.gone"),
        ("from ... import x\n", "relative import beyond the top-level package"),
    ],
)
def test_an_import_that_cannot_load_is_an_error(tmp_path: Path, handler: str, message: str) -> None:
    write(tmp_path, {"edge_router/__init__.py": "", "edge_router/handler.py": handler})
    with pytest.raises(artifact.ArtifactError, match=message):
        closure_of(tmp_path, "edge_router.handler")


def test_a_handler_module_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"edge_router/__init__.py": ""})
    with pytest.raises(artifact.ArtifactError, match=r"a Handler in template\.yaml names edge_router\.response"):
        closure_of(tmp_path, "edge_router.response")


RUNTIME_PROVIDED = {"botocore", "boto3"}
"""Packages the python3.13 Lambda runtime provides, so no requirements file lists them (sigv4.py imports botocore)."""


def third_party_imports(files: dict[str, Path]) -> set[str]:
    """Top-level packages the shipped modules import that the artifact must install.

    That is every import but the standard library, the shipped modules themselves and what the runtime provides.
    """
    shipped = {relative.split("/", 1)[0].removesuffix(".py") for relative in files}
    names: set[str] = set()
    for relative, source in files.items():
        module = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        imports = artifact.imported_modules(source.read_text(), module, is_package=relative.endswith("__init__.py"))
        names |= {name.partition(".")[0] for name in imports.required}
    return names - shipped - set(sys.stdlib_module_names) - RUNTIME_PROVIDED


def test_the_router_artifact_of_the_real_code_leaves_the_workstation_parts_out() -> None:
    plan = plan_of("EdgeRouterFunction")
    shipped = set(plan.files)
    assert {"edge_router/__init__.py", "edge_router/handler.py", "edge_router/store.py"} <= shipped
    assert all(f.startswith("edge_router/") and f.count("/") == 1 for f in shipped)  # no cli/, local/, admin/
    assert not {"edge_router/cf_events.py", "edge_router/validator.py"} & shipped  # tests and emulators only
    assert "edge_router/response.py" not in shipped  # the other edge function's entry point
    assert plan.requirements == ROOT / "deploy" / "requirements-edge.txt"
    assert artifact.requirement_names(plan.requirements) == {"pynamodb", "cachetools"}
    assert third_party_imports(plan.files) == {"pynamodb", "cachetools"}  # store.py and cache.py


def test_the_response_artifact_of_the_real_code_is_its_closure_and_no_third_party_package() -> None:
    """origin-response shares the router's CodeUri, but not its store, signing, wire client or their packages."""
    response, router = artifact.function_named("EdgeResponseFunction"), artifact.function_named("EdgeRouterFunction")
    assert response.code_uri == router.code_uri == "edge_router/"
    plan = artifact.plan(response)
    assert list(plan.files) == [str(path) for path in artifact.closure([response.entry_module])]
    assert list(plan.files) == [
        "edge_router/__init__.py",
        "edge_router/cache_control.py",
        "edge_router/context.py",
        "edge_router/lifecycle.py",
        "edge_router/response.py",
    ]
    assert plan.files == {relative: ROOT / relative for relative in plan.files}
    assert plan.requirements is None
    assert third_party_imports(plan.files) == set()


def test_requirements_name_functions_of_the_template() -> None:
    functions = {f.logical_id for f in artifact.serverless_functions((ROOT / "template.yaml").read_text())}
    assert set(artifact.REQUIREMENTS) <= functions
    assert all(path.is_file() for path in artifact.REQUIREMENTS.values())


def test_the_recipes_install_the_requirements_file_of_each_function_that_has_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for function in artifact.serverless_functions((ROOT / "template.yaml").read_text()):
        assert artifact.main(["requirements", function.logical_id]) == 0
        shown = capsys.readouterr().out.strip()
        expected = artifact.REQUIREMENTS.get(function.logical_id)
        assert shown == (str(expected) if expected else ""), function.logical_id
    assert artifact.main(["requirements", "EdgeFunction"]) == 2


def test_the_init_db_and_backend_artifacts_of_the_real_code() -> None:
    init_db = plan_of("InitDbFunction")
    assert init_db.files["app.py"] == ROOT / "init_db" / "app.py"
    assert "edge_router/mapping.py" in init_db.files
    assert not any(f.startswith("edge_router/") and "/" in f[len("edge_router/") :] for f in init_db.files)
    assert init_db.requirements == ROOT / "deploy" / "requirements-init-db.txt"
    for backend in ("HelloWorldFunctionV1", "HelloWorldFunctionV2"):
        plan = plan_of(backend)
        assert plan.files == {"app.py": ROOT / "backends" / "app.py"}
        assert plan.requirements is None


def test_a_function_the_template_does_not_have_is_an_error() -> None:
    with pytest.raises(artifact.ArtifactError, match=r"template\.yaml has no function EdgeFunction"):
        artifact.function_named("EdgeFunction")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", set()),
        ("# only comments\n\n   # and blanks\n", set()),
        ("pynamodb==6.1.0\ncachetools==8.0.1  # why\n", {"pynamodb", "cachetools"}),
        ("Charset_Normalizer==3.5.2\n", {"charset-normalizer"}),
    ],
)
def test_requirement_names(tmp_path: Path, text: str, names: set[str]) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    assert artifact.requirement_names(path) == names


# ------------------------------------------------------------------------------------------------ the real recipe
def _scratch_repository(tmp_path: Path) -> Path:
    """A repository with the real deploy/ tooling, a template with two edge functions and no requirements."""
    repo = tmp_path / "repo"
    write(
        repo,
        {
            "template.yaml": """\
            Resources:
              EdgeRouterFunction:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: edge_router/
                  Handler: edge_router.handler.lambda_handler
              EdgeResponseFunction:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: edge_router/
                  Handler: edge_router.response.lambda_handler
            """,
            "edge_router/__init__.py": "",
            "edge_router/handler.py": "from .shared import ANSWER\n\n\ndef lambda_handler(e, c):\n    return ANSWER\n",
            "edge_router/response.py": "def lambda_handler(event, context):\n    return event\n",
            "edge_router/shared.py": "ANSWER = {}\n",
            "edge_router/admin_only.py": "import edge_router.handler\n",
            "deploy/requirements-edge.txt": "# nothing: the runtime provides all\n",
        },
    )
    shutil.copy(ROOT / "deploy" / "artifact.py", repo / "deploy" / "artifact.py")
    return repo


ROUTER_SOURCES = {"edge_router/__init__.py", "edge_router/handler.py", "edge_router/shared.py"}
RESPONSE_SOURCES = {"edge_router/__init__.py", "edge_router/response.py"}


def _make(
    repo: Path, out: Path, python: str, function: str = "EdgeRouterFunction", **env: str
) -> subprocess.CompletedProcess[str]:
    """The real deploy/Makefile recipe of one edge function, against the scratch repository."""
    environment = {**os.environ, **env}
    environment.pop("MAKEFLAGS", None)
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", str(MAKEFILE), f"ROOT={repo}", f"PYTHON={python}",
         f"ARTIFACTS_DIR={out}", f"build-{function}"],
        capture_output=True, text=True, env=environment, check=False, timeout=120,
    )  # fmt: skip


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _no_python313_path(tmp_path: Path) -> dict[str, str]:
    """PATH without any python3.13 (a directory of this Python only), HOME without pyenv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}


@pytest.mark.skipif(sys.version_info[:2] == (3, 13), reason="needs an interpreter that is not 3.13")
def test_recipe_without_python313_ships_sources_and_says_so_once(tmp_path: Path) -> None:
    repo, out = _scratch_repository(tmp_path), tmp_path / "out"
    out.mkdir()
    result = _make(repo, out, sys.executable, "EdgeResponseFunction", **_no_python313_path(tmp_path))
    assert result.returncode == 0, result.stderr
    assert _files(out) == RESPONSE_SOURCES
    lines = [line for line in result.stdout.splitlines() if "python3.13" in line]
    assert lines == [
        "build-EdgeResponseFunction: no python3.13 found (PYTHON, python3.13 on PATH, ~/.pyenv/versions/3.13*): "
        "the artifact ships no bytecode, so Lambda compiles its modules at every cold start"
    ]


def _python313() -> str | None:
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(ROOT / "deploy"), "python313"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


@pytest.mark.skipif(_python313() is None, reason="no python3.13 on this machine")
def test_recipe_with_python313_ships_unchecked_hash_bytecode_for_lambda_paths(tmp_path: Path) -> None:
    repo, out = _scratch_repository(tmp_path), tmp_path / "out"
    out.mkdir()
    python313 = _python313()
    assert python313
    result = _make(repo, out, python313, HOME=str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    pycs = {f"edge_router/__pycache__/{Path(s).stem}.cpython-313.pyc" for s in ROUTER_SOURCES}
    assert _files(out) == ROUTER_SOURCES | pycs
    check = """
import importlib.util, marshal, sys
data = open(sys.argv[1], "rb").read()
assert data[:4] == importlib.util.MAGIC_NUMBER
assert int.from_bytes(data[4:8], "little") == 1, "unchecked-hash"
print(marshal.loads(data[16:]).co_filename)
"""
    shown = subprocess.run(
        [python313, "-c", check, str(out / "edge_router/__pycache__/handler.cpython-313.pyc")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "/var/task/edge_router/handler.py"


def _build_both(repo: Path, build_dir: Path, tmp_path: Path) -> None:
    """Both edge functions' recipes into ``build_dir/<logical ID>``, as `sam build` lays them out (this Python only)."""
    environment = _no_python313_path(tmp_path)
    for function in ("EdgeRouterFunction", "EdgeResponseFunction"):
        (build_dir / function).mkdir(parents=True)
        result = _make(repo, build_dir / function, sys.executable, function, **environment)
        assert result.returncode == 0, result.stderr


def _check(repo: Path, build_dir: Path) -> subprocess.CompletedProcess[str]:
    """The scratch repository's `artifact.py check`, with bytecode when this Python is the one the recipes compile."""
    bytecode = ["--bytecode"] if sys.version_info[:2] == (3, 13) else []
    return subprocess.run(
        [sys.executable, str(repo / "deploy" / "artifact.py"), "check", str(build_dir), *bytecode,
         "--import-python", sys.executable],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_each_edge_function_is_built_and_checked_against_its_own_closure(tmp_path: Path) -> None:
    """Sharing edge_router/ does not make the artifacts share files, and the check holds each to its own."""
    repo, build_dir = _scratch_repository(tmp_path), tmp_path / "build"
    _build_both(repo, build_dir, tmp_path)
    sources = {path for path in _files(build_dir / "EdgeRouterFunction") if path.endswith(".py")}
    assert sources == ROUTER_SOURCES
    sources = {path for path in _files(build_dir / "EdgeResponseFunction") if path.endswith(".py")}
    assert sources == RESPONSE_SOURCES
    result = _check(repo, build_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("every artifact holds exactly its entry point")


def test_the_check_refuses_a_file_of_the_other_function(tmp_path: Path) -> None:
    """The router's shared.py is not expected in the response artifact (it was when artifacts were per CodeUri)."""
    repo, build_dir = _scratch_repository(tmp_path), tmp_path / "build"
    _build_both(repo, build_dir, tmp_path)
    shutil.copy(repo / "edge_router" / "shared.py", build_dir / "EdgeResponseFunction" / "edge_router")
    result = _check(repo, build_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["EdgeResponseFunction: not expected: edge_router/shared.py"]
