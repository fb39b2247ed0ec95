#!/usr/bin/env bash
# CI: start `edge-router local` on free ports, wait until it is ready, run scripts/smoke.sh against it, stop it.
# Exits with smoke.sh's status. The stack is stopped on every exit path (trap EXIT), so no process is left behind.
set -u

here=$(cd "$(dirname "$0")" && pwd)
workdir=$(mktemp -d)
ready_file="$workdir/ready"
log_file="$workdir/stack.log"
pid=""
startup_seconds=${STARTUP_SECONDS:-60}

stop_stack() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$workdir"
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

edge-router local --port 0 --api-port 0 --dynamodb-port 0 --ready-file "$ready_file" "$@" >"$log_file" 2>&1 &
pid=$!

for _ in $(seq 1 $((startup_seconds * 10))); do
  [ -s "$ready_file" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "ci-smoke: edge-router local exited before it was ready:" >&2
    cat "$log_file" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$ready_file" ]; then
  echo "ci-smoke: edge-router local not ready after ${startup_seconds}s:" >&2
  cat "$log_file" >&2
  exit 1
fi

base_url=$(head -n 1 "$ready_file")
bash "$here/smoke.sh" "$base_url"
