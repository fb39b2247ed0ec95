#!/usr/bin/env bash
# Offline checks of the deployable stack: lint, SAM validation, `sam build` (no Docker), artifact contents and the
# Lambda@Edge size limit. Run by `make template` (SAM points at the SAM CLI, PATH starts with the project venv).
set -euo pipefail
cd "$(dirname "$0")/.."

SAM="${SAM:-sam}"
BUILD_DIR=.aws-sam/build
EDGE_ZIP_LIMIT=$((50 * 1024 * 1024))     # origin-request: 50 MB zipped (shared/docs/lambda-edge-rules.md)
UNZIPPED_LIMIT=$((250 * 1024 * 1024))    # Lambda: 250 MB unzipped, every function

echo "== cfn-lint"
cfn-lint template.yaml

echo "== sam validate --lint"
SAM_CLI_TELEMETRY=0 "$SAM" validate --lint --region us-east-1

echo "== sam build (makefile builds: Lambda-platform wheels, no Docker, no local python3.13 needed)"
rm -rf "$BUILD_DIR"
SAM_CLI_TELEMETRY=0 "$SAM" build --region us-east-1

echo "== artifact contents"
python3 - "$BUILD_DIR" <<'PY'
"""Each artifact holds exactly what its function imports, and the entry points import from the artifact alone."""
import subprocess
import sys
from pathlib import Path

build = Path(sys.argv[1])
expected = {
    "EdgeRouterFunction": {"edge_router", "pynamodb", "cachetools"},
    "InitDbFunction": {"app.py", "edge_router", "pynamodb", "requests", "urllib3", "idna",
                       "charset_normalizer", "certifi"},
    "HelloWorldFunctionV1": {"app.py"},
    "HelloWorldFunctionV2": {"app.py"},
}
failed = False
for function, wanted in expected.items():
    root = build / function
    found = {p.name for p in root.iterdir() if not p.name.endswith(".dist-info")}
    if found != wanted:
        print(f"{function}: expected {sorted(wanted)}, found {sorted(found)}")
        failed = True
    router = root / "edge_router"
    if router.exists():
        extra = sorted(p.name for p in router.iterdir() if p.is_dir() or p.name == "cf_events.py")
        if extra:
            print(f"{function}: edge_router carries workstation-only parts {extra}")
            failed = True
# Import each entry point and its bundled packages from the artifact (botocore from this venv stands in for the
# runtime's), proving the artifact is complete and nothing resolves to the repository or the venv instead.
for function, modules in (("EdgeRouterFunction", "edge_router.handler pynamodb cachetools"),
                          ("InitDbFunction", "app edge_router.mapping requests pynamodb"),
                          ("HelloWorldFunctionV1", "app")):
    root = str((build / function).resolve())
    code = ("import importlib, sys\n"
            "for name in sys.argv[2:]:\n"
            "    module = importlib.import_module(name)\n"
            "    assert module.__file__.startswith(sys.argv[1]), module.__file__\n"
            "assert callable(importlib.import_module(sys.argv[2]).lambda_handler)\n")
    result = subprocess.run([sys.executable, "-c", code, root, *modules.split()], cwd="/", capture_output=True,
                            text=True, env={"PYTHONPATH": root, "PYTHONDONTWRITEBYTECODE": "1"})
    if result.returncode:
        print(f"{function}: does not import from its artifact:\n{result.stderr}")
        failed = True
sys.exit(1 if failed else 0)
PY

echo "== artifact sizes"
for dir in "$BUILD_DIR"/*/; do
    name=$(basename "$dir")
    zip_path=".aws-sam/$name.zip"
    rm -f "$zip_path"
    (cd "$dir" && python3 -m zipfile -c "$OLDPWD/$zip_path" .)
    zipped=$(stat -c %s "$zip_path")
    unzipped=$(du -sb "$dir" | cut -f1)
    echo "$name: ${zipped} bytes zipped, ${unzipped} bytes unzipped"
    if [ "$unzipped" -gt "$UNZIPPED_LIMIT" ]; then
        echo "$name is over Lambda's 250 MB unzipped limit" >&2
        exit 1
    fi
    if [ "$name" = EdgeRouterFunction ] && [ "$zipped" -gt "$EDGE_ZIP_LIMIT" ]; then
        echo "$name is over the Lambda@Edge origin-request limit of 50 MB zipped" >&2
        exit 1
    fi
done
echo "template checks passed"
