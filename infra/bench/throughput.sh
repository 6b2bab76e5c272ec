#!/usr/bin/env bash
# Part 3 of the benchmark: throughput and latency of our provider against panva's
# oidc-provider, one core each, wrk on the other core, RS256 then ES256, plus the raw
# signing rate of one core (aws-lc-rs).
#
#   infra/bench/throughput.sh
#
# Writes target/bench/throughput.md (section "## Throughput and latency"),
# target/bench/throughput.json and infra/bench/charts/throughput.svg.
# Installs what it needs (apt: wrk; npm ci in infra/bench/node), builds oidc-local and
# bench-signrate in release. Idempotent. Settings from the environment:
#   BENCH_DURATION (10, seconds per measured run), BENCH_WARMUP (2), BENCH_CONNECTIONS (16),
#   BENCH_ALGS (RS256,ES256).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
start=$(date +%s)

if [ "$(nproc)" -lt 2 ]; then
  echo "throughput.sh: needs 2 cores (one for the server, one for wrk)" >&2
  exit 1
fi

# --- tools
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v taskset >/dev/null || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[throughput] installing ${need_apt[*]} (apt)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v node >/dev/null || { echo "throughput.sh: node (v20+) is required" >&2; exit 1; }

# --- oidc-provider (pinned in infra/bench/node/package-lock.json)
if [ ! -f infra/bench/node/node_modules/oidc-provider/package.json ] \
   || ! cmp -s infra/bench/node/package-lock.json infra/bench/node/node_modules/.package-lock.json.ci 2>/dev/null; then
  echo "[throughput] npm ci in infra/bench/node" >&2
  mkdir -p target/bench
  if ! (cd infra/bench/node && npm ci --no-audit --no-fund --loglevel=error) > target/bench/npm-ci.log 2>&1; then
    cat target/bench/npm-ci.log >&2
    echo "throughput.sh: npm ci failed" >&2
    exit 1
  fi
  cp infra/bench/node/package-lock.json infra/bench/node/node_modules/.package-lock.json.ci
fi
test -f infra/bench/node/node_modules/oidc-provider/package.json \
  || { echo "throughput.sh: npm ci failed" >&2; exit 1; }

# --- our side, release
echo "[throughput] cargo build --release -p oidc-local -p bench-signrate" >&2
cargo build --release --quiet -p oidc-local -p bench-signrate

# --- run (throughput.py starts and stops the servers; the trap stops it and them)
py_pid=""
cleanup() {
  if [ -n "$py_pid" ] && kill -0 "$py_pid" 2>/dev/null; then
    kill -TERM "$py_pid" 2>/dev/null || true
    wait "$py_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 infra/bench/throughput.py "$@" &
py_pid=$!
wait "$py_pid"
py_pid=""

echo "[throughput] done in $(( $(date +%s) - start )) s (with install and build)" >&2
