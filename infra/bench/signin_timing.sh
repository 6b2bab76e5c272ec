#!/usr/bin/env bash
# Does a wrong password cost the same time for an existing and an unknown username?
#
#   infra/bench/signin_timing.sh [--debug] [--samples N] [--backends aws,embedded]
#
# Builds oidc-local (release; --debug for a quicker build, slower argon2 and so noisier),
# starts the DynamoDB emulator without its call record (MOTO_COUNT=0: recording would add
# to every call's time) and runs infra/bench/signin_timing.py, which posts one sign-in form
# N (200) times for each username, interleaved, and reports both medians. Writes
# target/bench/signin_timing.md. The call sequences themselves are compared by the e2e
# suite (throttling::unknown_and_existing_usernames_make_the_same_store_calls).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROFILE=release
args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --debug) PROFILE=debug ;;
        --samples|--backends) args+=("$1" "$2"); shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "signin_timing.sh: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

if [ "$PROFILE" = release ]; then
    cargo build --release -q -p oidc-local
else
    cargo build -q -p oidc-local
fi
MOTO_COUNT=0 "$ROOT/infra/with-moto.sh" "$ROOT/.venv-tools/bin/python" \
    "$ROOT/infra/bench/signin_timing.py" --bin "$ROOT/target/$PROFILE/oidc-local" \
    --profile "$PROFILE" ${args[@]+"${args[@]}"}
