#!/usr/bin/env bash
# Runs the official Engine.IO and Socket.IO protocol test suites against the
# conformance fixture (internal/conformance). The suites are not vendored: pass
# local copies of the two public repositories (a checkout, or a bare git
# directory), e.g. as fetched with the project's tooling:
#
#   scripts/run-official.sh /path/to/engine.io-protocol /path/to/socket.io-protocol
#
# Environment: PORT (default 3000; the suites hard-code localhost:3000, so any
# other port is patched into a temporary copy), RUNS (default 1), SUITES
# (default "engine socket").
set -euo pipefail

eng_repo=${1:?usage: run-official.sh ENGINE_IO_PROTOCOL_REPO SOCKET_IO_PROTOCOL_REPO}
sio_repo=${2:?usage: run-official.sh ENGINE_IO_PROTOCOL_REPO SOCKET_IO_PROTOCOL_REPO}
port=${PORT:-3000}
runs=${RUNS:-1}
suites=${SUITES:-engine socket}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
fixture_pid=
cleanup() {
  [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null && wait "$fixture_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# export copies test-suite/ of repository $1 into directory $2.
export_suite() {
  mkdir -p "$2"
  if [ -d "$1/test-suite" ]; then
    cp -r "$1/test-suite/." "$2/"
  else
    git --git-dir="$1" archive HEAD test-suite | tar -x -C "$2" --strip-components=1
  fi
  if [ "$port" != 3000 ]; then
    sed -i "s#http://localhost:3000#http://localhost:$port#" "$2/test-suite.js"
  fi
  (cd "$2" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

export_suite "$eng_repo" "$work/engine"
export_suite "$sio_repo" "$work/socket"

go build -o "$work/fixture" "$root/internal/conformance"
"$work/fixture" -port "$port" >"$work/fixture.log" 2>&1 &
fixture_pid=$!
for _ in $(seq 50); do grep -q LISTENING "$work/fixture.log" && break; sleep 0.1; done

status=0
for run in $(seq "$runs"); do
  for suite in $suites; do
    out="$work/$suite-$run.txt"
    if (cd "$work/$suite" && npx mocha --reporter dot test-suite.js) >"$out" 2>&1; then :; else status=1; fi
    passing=$(grep -Eo '[0-9]+ passing' "$out" | head -1 || true)
    failing=$(grep -Eo '[0-9]+ failing' "$out" | head -1 || true)
    echo "run $run $suite suite: ${passing:-0 passing}${failing:+, $failing}"
    if [ -n "$failing" ]; then sed -n '/failing/,$p' "$out" | head -60; fi
  done
done
exit $status
