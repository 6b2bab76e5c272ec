#!/usr/bin/env bash
# Runs a command against a throwaway moto server (DynamoDB + KMS emulator) on loopback.
#
#   infra/with-moto.sh cargo test -p shared --features embedded,aws
#   infra/with-moto.sh env OIDC_REQUIRE_AWS=1 cargo test --workspace
#
# Installs moto into .venv-tools at the repo root on first use (about a minute), starts it on a
# free 127.0.0.1 port, exports the AWS_* variables the SDKs read (dummy credentials, no
# metadata probing), runs the command and stops moto however the command ends. The command's
# exit status is the script's. moto's state is in memory only: every run starts empty.
#
# The emulator records every AWS call without item sizes (MOTO_COUNT=calls, see
# moto_serial.py: the e2e suite reads the record to compare sign-in call sequences), keeping
# the last MOTO_COUNT_KEEP (20000). MOTO_COUNT=1 records sizes too (the cost benchmark);
# MOTO_COUNT=0 turns the record off (timing benchmarks).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 64
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-tools"
MOTO_VERSION="5.2.5"

if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "with-moto: installing moto[server]==$MOTO_VERSION into $VENV (about a minute)..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "moto[server]==$MOTO_VERSION"
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
LOG="$(mktemp "${TMPDIR:-/tmp}/moto.XXXXXX.log")"

# One request at a time: see moto_serial.py for why.
MOTO_COUNT="${MOTO_COUNT-calls}" MOTO_COUNT_KEEP="${MOTO_COUNT_KEEP-20000}" \
    "$VENV/bin/python" "$ROOT/infra/moto_serial.py" 127.0.0.1 "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!

cleanup() {
    if kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ready=""
for _ in $(seq 1 150); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        break
    fi
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "with-moto: moto did not come up on 127.0.0.1:$PORT; its log:" >&2
    cat "$LOG" >&2 || true
    exit 1
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "with-moto: moto ready at $AWS_ENDPOINT_URL" >&2

# Not exec: the EXIT trap must run to stop moto after the command.
status=0
"$@" || status=$?
exit "$status"
