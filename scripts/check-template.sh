#!/usr/bin/env bash
# Offline checks of the deployable stack: lint, SAM validation, samconfig.toml, `sam build` (no Docker), artifact
# contents and bytecode, and the size limits. Run by `make template` (SAM points at the SAM CLI, PATH starts with the
# project venv, so python3 has botocore as the Lambda runtime does).
set -euo pipefail
cd "$(dirname "$0")/.."

SAM="${SAM:-sam}"
if ! command -v "$SAM" >/dev/null 2>&1; then
    echo "check-template: no SAM CLI at '$SAM': run 'make template' (it installs one in .venv-sam), or set SAM" >&2
    exit 1
fi
SAM_PYTHON="${SAM_PYTHON:-$(dirname "$(command -v "$SAM")")/python}"
BUILD_DIR=.aws-sam/build
EDGE_ZIP_LIMIT=$((50 * 1024 * 1024))     # origin-request and origin-response: 50 MB zipped (CloudFront quotas)
UNZIPPED_LIMIT=$((250 * 1024 * 1024))    # Lambda: 250 MB unzipped, every function

echo "== cfn-lint"
cfn-lint template.yaml

echo "== sam validate --lint"
SAM_CLI_TELEMETRY=0 "$SAM" validate --lint --region us-east-1

echo "== samconfig.toml, read by SAM's own parser"
if [ -x "$SAM_PYTHON" ]; then
    "$SAM_PYTHON" - <<'PY'
"""`sam deploy` reads samconfig.toml: every parameter it overrides exists in template.yaml, every key is one SAM knows."""
import sys

from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig
from samcli.yamlhelper import yaml_parse

config = SamConfig(".")
deploy = config.get_all(["deploy"], "parameters")
known = {"stack_name", "region", "capabilities", "confirm_changeset", "resolve_s3", "s3_prefix",
         "fail_on_empty_changeset", "parameter_overrides"}
overrides = CfnParameterOverridesType().convert(deploy["parameter_overrides"], None, None)
with open("template.yaml") as f:
    template = yaml_parse(f.read())
unknown = sorted(set(overrides) - set(template["Parameters"]))
problems = [f"parameter_overrides names {unknown}, not parameters of template.yaml"] if unknown else []
problems += [f"deploy.parameters has unexpected key {k}" for k in sorted(set(deploy) - known)]
if deploy.get("region") != "us-east-1" or "CAPABILITY_IAM" not in str(deploy.get("capabilities")):
    problems.append("samconfig.toml must deploy to us-east-1 with CAPABILITY_IAM")
print("\n".join(problems) or f"samconfig.toml: stack {deploy['stack_name']}, overrides {sorted(overrides)}")
sys.exit(1 if problems else 0)
PY
else
    echo "no Python next to $SAM: skipped (tests/unit/test_template.py checks samconfig.toml too)"
fi

echo "== sam build (makefile builds: Lambda-platform wheels, no Docker, no local python3.13 needed)"
rm -rf "$BUILD_DIR"
SAM_CLI_TELEMETRY=0 "$SAM" build --region us-east-1

echo "== artifact contents, per function: its entry point, its edge_router imports, its pinned requirements, bytecode"
# The same python3.13 the build compiled with (deploy/Makefile finds it); without one the artifacts ship no .pyc.
if ! PY313=$(make -s --no-print-directory -C deploy python313); then
    echo "check-template: 'make -C deploy python313' failed, so the interpreter the build compiled with is unknown" >&2
    exit 1
fi
if [ -n "$PY313" ]; then
    "$PY313" deploy/artifact.py check "$BUILD_DIR" --bytecode --import-python python3
else
    echo "(no python3.13 on this machine: checking that no artifact ships bytecode)"
    python3 deploy/artifact.py check "$BUILD_DIR" --import-python python3
fi

echo "== artifact sizes"
edge_functions=" $(python3 deploy/artifact.py functions edge_router/ | tr '\n' ' ') "
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
    if [[ "$edge_functions" == *" $name "* ]] && [ "$zipped" -gt "$EDGE_ZIP_LIMIT" ]; then
        echo "$name is over the Lambda@Edge limit of 50 MB zipped" >&2
        exit 1
    fi
done
echo "template checks passed"
