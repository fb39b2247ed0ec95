#!/usr/bin/env bash
# Smoke-test a deployment (https://<CFDistribution>) or the local stack (http://127.0.0.1:8080) with curl, as the
# post tests it: v1 and v2 reach their backends, a missing or unknown version is a 403 problem of that type, and a
# real-world Accept list picks v2; optionally the default version, a deprecated one and a retired one. One
# PASS/FAIL line per check; exit 1 if any check failed, 2 on a usage error.
set -u

usage() {
  cat <<'EOF'
usage: smoke.sh [options] BASE_URL

  -H, --header-name NAME  version header (default: Accept)
  --v1 VALUE              header value for v1 (default: application/vnd.example.v1+json)
  --v2 VALUE              header value for v2 (default: application/vnd.example.v2+json)
  --unknown VALUE         a value no mapping has (default: application/vnd.example.v99+json)
  --path PATH             resource to request (default: /hello)
  --real-world VALUE      an Accept list that must route to v2
                          (default: application/vnd.example.v2+json, application/json;q=0.9, */*;q=0.8;
                          only checked when the header is Accept)
  --expect-default KEY    a request without a version header is served by the default version KEY
                          (200, api-selected-version: KEY; replaces the "no header -> 403" check)
  --expect-deprecated KEY a request for KEY is served with Deprecation: @... and api-selected-version: KEY
  --expect-gone KEY       a request for KEY answers 410 with the sunset-version problem type
                          (when KEY is the --v1 or --v2 value, that version's 200 check is left out)
  -k, --insecure          do not verify TLS certificates (a distribution behind a test certificate)
  --timeout SECONDS       per request (default: 10)
EOF
}

header_name="Accept"
v1="application/vnd.example.v1+json"
v2="application/vnd.example.v2+json"
unknown="application/vnd.example.v99+json"
resource="/hello"
real_world="application/vnd.example.v2+json, application/json;q=0.9, */*;q=0.8"
insecure=()
timeout=10
base_url=""
expect_default=""
expect_deprecated=""
expect_gone=""

while [ $# -gt 0 ]; do
  case "$1" in
    -H|--header-name) [ $# -ge 2 ] || { usage >&2; exit 2; }; header_name="$2"; shift 2 ;;
    --v1) [ $# -ge 2 ] || { usage >&2; exit 2; }; v1="$2"; shift 2 ;;
    --v2) [ $# -ge 2 ] || { usage >&2; exit 2; }; v2="$2"; shift 2 ;;
    --unknown) [ $# -ge 2 ] || { usage >&2; exit 2; }; unknown="$2"; shift 2 ;;
    --path) [ $# -ge 2 ] || { usage >&2; exit 2; }; resource="$2"; shift 2 ;;
    --real-world) [ $# -ge 2 ] || { usage >&2; exit 2; }; real_world="$2"; shift 2 ;;
    --timeout) [ $# -ge 2 ] || { usage >&2; exit 2; }; timeout="$2"; shift 2 ;;
    --expect-default) [ $# -ge 2 ] || { usage >&2; exit 2; }; expect_default="$2"; shift 2 ;;
    --expect-deprecated) [ $# -ge 2 ] || { usage >&2; exit 2; }; expect_deprecated="$2"; shift 2 ;;
    --expect-gone) [ $# -ge 2 ] || { usage >&2; exit 2; }; expect_gone="$2"; shift 2 ;;
    -k|--insecure) insecure=(--insecure); shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "smoke.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$base_url" ] || { echo "smoke.sh: one BASE_URL only" >&2; exit 2; }; base_url="$1"; shift ;;
  esac
done
if [ -z "$base_url" ]; then
  usage >&2
  exit 2
fi
case "$base_url" in
  http://*|https://*) ;;
  *) echo "smoke.sh: BASE_URL must start with http:// or https://" >&2; exit 2 ;;
esac
url="${base_url%/}${resource}"
command -v curl >/dev/null || { echo "smoke.sh: curl is required" >&2; exit 2; }

passed=0
failed=0
status=""
body=""
content_type=""
headers=""
problem_base="urn:edge-router:problem:"

# request HEADER_ARGS...: fills status, content_type, headers (CR removed) and body (on one line).
request() {
  local out
  out=$(curl --silent --show-error --max-time "$timeout" ${insecure[@]+"${insecure[@]}"} --dump-header - \
    --write-out '\n%{http_code} %{content_type}' "$@" "$url" 2>&1)
  local last=${out##*$'\n'}
  status=${last%% *}
  content_type=${last#* }
  out=${out%$'\n'*}
  headers=""
  if [[ "$out" == *$'\r\n\r\n'* ]]; then
    headers=$(printf '%s' "${out%%$'\r\n\r\n'*}" | tr -d '\r')
    out=${out#*$'\r\n\r\n'}
  fi
  body=$(printf '%s' "$out" | tr -d '\r' | tr '\n' ' ')
}

# header NAME: the value of response header NAME (first occurrence, case-insensitive), empty when absent.
header() {
  printf '%s\n' "$headers" | grep -i -m 1 "^$1:" | sed 's/^[^:]*:[[:space:]]*//'
}

# problem_type: the "type" of a problem+json body.
problem_type() {
  printf '%s' "$body" | sed -n 's/.*"type"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'
}

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# expect_message NAME VERSION_TEXT HEADER_ARGS...: 200 and a body naming the version (e.g. "API v.1: ...").
expect_message() {
  local name="$1" version="$2"
  shift 2
  request "$@"
  local message
  message=$(printf '%s' "$body" | sed -n 's/.*"message"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
  if [ "$status" = "200" ] && printf '%s' "$message" | grep -q "API ${version}:"; then
    pass "$name -> 200 \"$message\""
  elif [ "$status" != "200" ]; then
    fail "$name: expected 200 with \"API ${version}: ...\", got $status ${body:0:200}"
  else
    fail "$name: expected \"API ${version}: ...\", got ${body:0:200}"
  fi
}

# expect_problem NAME STATUS TYPE HEADER_ARGS...: STATUS with an application/problem+json body of problem TYPE.
expect_problem() {
  local name="$1" want_status="$2" want_type="$problem_base$3"
  shift 3
  request "$@"
  local got_type
  got_type=$(problem_type)
  if [ "$status" = "$want_status" ] && [[ "$content_type" == application/problem+json* ]] \
    && [ "$got_type" = "$want_type" ]; then
    pass "$name -> $status application/problem+json $got_type"
  elif [ "$status" != "$want_status" ]; then
    fail "$name: expected $want_status, got $status ${body:0:200}"
  elif [[ "$content_type" != application/problem+json* ]]; then
    fail "$name: expected $want_status application/problem+json, got $status ${content_type:-without a content type}"
  else
    fail "$name: expected problem type $want_type, got ${got_type:-none}"
  fi
}

# expect_selected NAME KEY HEADER_ARGS...: 200 with api-selected-version: KEY (keys compare case-insensitively).
# With DEPRECATED=1 in the environment of the call, a Deprecation: @<seconds> header is required too.
expect_selected() {
  local name="$1" key="$2"
  shift 2
  request "$@"
  local selected deprecation
  selected=$(header api-selected-version)
  deprecation=$(header deprecation)
  shopt -s nocasematch
  local same=0
  [[ "$selected" == "$key" ]] && same=1
  shopt -u nocasematch
  if [ "$status" != "200" ]; then
    fail "$name: expected 200 from $key, got $status ${body:0:200}"
  elif [ "$same" != 1 ]; then
    fail "$name: expected api-selected-version: $key, got ${selected:-no such header}"
  elif [ "${DEPRECATED:-0}" = 1 ] && ! printf '%s' "$deprecation" | grep -Eq '^@[0-9]+$'; then
    fail "$name: expected Deprecation: @<seconds>, got ${deprecation:-no such header}"
  elif [ "${DEPRECATED:-0}" = 1 ]; then
    pass "$name -> 200 api-selected-version: $selected, Deprecation: $deprecation"
  else
    pass "$name -> 200 api-selected-version: $selected"
  fi
}

echo "smoke test of $url (header $header_name)"
# A version expected to be retired (--expect-gone) answers 410, so its "serves its backend" check is left out.
if [ "$v1" != "$expect_gone" ]; then
  expect_message "v1 header" "v.1" -H "$header_name: $v1"
fi
if [ "$v2" != "$expect_gone" ]; then
  expect_message "v2 header" "v.2" -H "$header_name: $v2"
fi
# "NAME:" with no value makes curl send no such header (it would send "Accept: */*" by default).
if [ -n "$expect_default" ]; then
  expect_selected "no header -> default version" "$expect_default" -H "$header_name:"
else
  expect_problem "no header" 403 missing-version -H "$header_name:"
fi
expect_problem "unknown version" 403 unknown-version -H "$header_name: $unknown"
shopt -s nocasematch
if [[ "$header_name" == "accept" ]]; then
  expect_message "real-world Accept list" "v.2" -H "Accept: $real_world"
fi
shopt -u nocasematch
if [ -n "$expect_deprecated" ]; then
  DEPRECATED=1 expect_selected "deprecated version" "$expect_deprecated" -H "$header_name: $expect_deprecated"
fi
if [ -n "$expect_gone" ]; then
  expect_problem "retired version" 410 sunset-version -H "$header_name: $expect_gone"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
