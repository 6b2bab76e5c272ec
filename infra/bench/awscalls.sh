#!/usr/bin/env bash
# Benchmark parts 4 and 5: AWS calls per operation, and cost per million operations.
#
#   infra/bench/awscalls.sh [--debug] [--repeat N] [--modes rs256,es256[,envelope]]
#
# Builds oidc-local (release by default; --debug for a quicker build: the call counts are the
# same, the CPU times and so the Lambda duration estimates are not), starts moto through
# infra/with-moto.sh with call counting on (MOTO_COUNT=1, see infra/moto_serial.py), and runs
# infra/bench/awscalls.py, which provisions a table and signing key per mode, starts
# `oidc-local --backend aws` (issuer http://localhost:PORT), and counts the DynamoDB and KMS
# calls of a first sign-in, a refresh_token grant, a client_credentials grant, a first and a
# returning federated sign-in through an upstream provider, adding a passkey on the account
# page and a first sign-in with it, turning on an authenticator app there and signing in with
# a code and with a recovery code (one warm-up, then N measured runs). Writes awscalls.md,
# cost.md and awscalls.json under target/bench; re-render the markdown from the JSON (e.g.
# after changing a price in awscalls.py) with: python3 infra/bench/awscalls.py report
#
# Environment: AWSCALLS_PROFILE=release|debug, AWSCALLS_REPEAT (5), AWSCALLS_MODES,
# AWSCALLS_LATENCY_MS (20: emulated latency, shows concurrent calls as overlapping),
# AWSCALLS_FEDERATION=0 / AWSCALLS_PASSKEY=0 / AWSCALLS_TOTP=0 (skip those scenarios; the
# last two also skipped on a build without the account page), CARGO (cargo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROFILE="${AWSCALLS_PROFILE:-release}"
REPEAT="${AWSCALLS_REPEAT:-5}"
MODES="${AWSCALLS_MODES:-rs256,es256}"
LATENCY_MS="${AWSCALLS_LATENCY_MS:-20}"
OUT="$ROOT/target/bench"
CARGO="${CARGO:-cargo}"

inner=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --debug) PROFILE=debug ;;
        --release) PROFILE=release ;;
        --repeat) REPEAT="$2"; shift ;;
        --modes) MODES="$2"; shift ;;
        --inner) inner=1 ;;  # internal: already inside with-moto
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "awscalls.sh: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

BIN_DIR="$ROOT/target/$PROFILE"
LOCAL="$BIN_DIR/oidc-local"
ADMIN="$BIN_DIR/oidc-admin"
VENV_PY="$ROOT/.venv-tools/bin/python"

# --- envelope signing ------------------------------------------------------------------------
# Opt-in "envelope" signing (a KMS-wrapped private key in the table, decrypted once per
# container; `--signing-keys envelope:<id>` after `oidc-admin keys envelope-create`) is measured
# as a third mode when this build's oidc-admin has that command; awscalls.py creates the key
# (see measure_mode). AWSCALLS_ENVELOPE=0 skips it; AWSCALLS_ENVELOPE_ALG picks rs256 / es256.
envelope_available() {
    [ "${AWSCALLS_ENVELOPE:-1}" != 0 ] &&
        "$ADMIN" keys --help 2>/dev/null | grep -q 'envelope-create'
}

if [ -z "$inner" ]; then
    start=$(date +%s)
    if [ "$PROFILE" = release ]; then
        echo "awscalls: cargo build --release -p oidc-local -p oidc-admin" >&2
        "$CARGO" build --release -q -p oidc-local -p oidc-admin
    else
        echo "awscalls: cargo build -p oidc-local -p oidc-admin" >&2
        "$CARGO" build -q -p oidc-local -p oidc-admin
    fi
    built=$(date +%s)
    mkdir -p "$OUT"
    # with-moto installs moto on first use, stops it however this ends; MOTO_COUNT turns the
    # call record on for this emulator only.
    MOTO_COUNT=1 MOTO_COUNT_LATENCY_MS="$LATENCY_MS" \
        "$ROOT/infra/with-moto.sh" "$0" --inner --repeat "$REPEAT" --modes "$MODES" \
        "$([ "$PROFILE" = debug ] && echo --debug || echo --release)"
    done_at=$(date +%s)
    echo "awscalls: wrote $OUT/awscalls.md, $OUT/cost.md, $OUT/awscalls.json" \
        "(build $((built - start)) s, measurement $((done_at - built)) s)" >&2
    exit 0
fi

# --- inside with-moto ----------------------------------------------------------------------------
# The federated sign-ins: oidc-admin registers the upstream provider (awscalls.py starts it).
federation_args=()
if [ "${AWSCALLS_FEDERATION:-1}" != 0 ]; then
    federation_args=(--federation-admin "$ADMIN")
fi
envelope_args=()
if envelope_available; then
    case ",$MODES," in *,envelope,*) ;; *) MODES="$MODES,envelope" ;; esac
    envelope_args=(--envelope-admin "$ADMIN" --envelope-alg "${AWSCALLS_ENVELOPE_ALG:-rs256}")
fi
exec "$VENV_PY" "$ROOT/infra/bench/awscalls.py" run --bin "$LOCAL" --profile "$PROFILE" \
    --out "$OUT" --repeat "$REPEAT" --modes "$MODES" ${envelope_args[@]+"${envelope_args[@]}"} \
    ${federation_args[@]+"${federation_args[@]}"}
