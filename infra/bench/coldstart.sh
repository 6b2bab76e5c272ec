#!/usr/bin/env bash
# Cold start of every Lambda function, against two baselines, under a local Lambda Runtime
# API emulator (infra/bench/harness), with DynamoDB and KMS on moto.
#
#   infra/bench/coldstart.sh              # 15 recorded cold starts per target
#   RUNS=5 infra/bench/coldstart.sh       # quicker
#   SKIP_BUILD=1 infra/bench/coldstart.sh # measure the bootstraps already in target/bench/lambda/x86_64
#   CALL_RUNS=0 infra/bench/coldstart.sh  # skip the pass that counts AWS calls (default 3 per target)
#   COLDSTART_FUNCTIONS="federation" infra/bench/coldstart.sh  # some functions only (and the baselines)
#   COLDSTART_FUNCTIONS="login account" SKIP_BUILD=1 infra/bench/coldstart.sh
#       # with SKIP_BUILD, only these, the baselines and their helpers need bootstraps
#
# Writes target/bench/coldstart.md (the "## Cold start" section), coldstart.json (every
# sample), coldstart.svg (copied to infra/bench/charts/coldstart.svg, which the section
# embeds, unless COLDSTART_FUNCTIONS picks some functions only), the events sent
# (target/bench/events/) and the functions' logs (target/bench/logs/).
# Steps: release bootstraps for x86_64 (infra/bench/build.sh, one cargo-lambda invocation per
# package), the harness, oidc-local (seeds the table); then moto, seeding, a sign-in played
# through the functions for realistic tokens, and RUNS rounds of cold starts; then a second,
# untimed pass on a fresh moto that records every AWS call (MOTO_COUNT=1) to count each
# target's calls (recording slows moto down, so it never runs while timing). The federation
# function's requests go to an upstream provider: a second oidc-local (embedded backend,
# release build) on loopback, registered in the table with `oidc-admin providers create`,
# its client secret sealed under a KMS key made on moto (FEDERATION_SECRETS_KEY). The account
# function's request is the signed-in browser's GET /account (its session cookie from that
# sign-in); it gets FEDERATION_SECRETS_KEY too (template.yaml's: it seals TOTP secrets), a
# KMS key made on moto, though a page view never uses it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/bench"
RUNS="${RUNS:-15}"
CALL_RUNS="${CALL_RUNS:-3}"
read -r -a FUNCTIONS <<<"${COLDSTART_FUNCTIONS:-discovery jwks authorize login token userinfo revoke introspect logout register federation account}"
BASELINES=(baseline-hello baseline-sdk)
# Functions that only prepare the measured ones' requests (see the harness's src/fixtures.rs):
# authorize, login and token sign in for the tokens (and the account page's session);
# authorize and federation (start) begin each federated sign-in.
HELPERS=()
needs() { for f in "${FUNCTIONS[@]}"; do for n in "$@"; do [ "$f" = "$n" ] && return 0; done; done; return 1; }
helper() { needs "$1" || [[ " ${HELPERS[*]-} " == *" $1 "* ]] || HELPERS+=("$1"); }
if needs login userinfo revoke introspect logout account; then helper authorize; helper login; helper token; fi
if needs federation; then helper authorize; fi
EMULATOR="$ROOT/target/release/runtime-emulator"
LOCAL="$ROOT/target/debug/oidc-local"
ADMIN="$ROOT/target/release/oidc-admin"
UPSTREAM_LOCAL="$ROOT/target/release/oidc-local"
UPSTREAM_SEED="$ROOT/infra/bench/harness/fixtures/upstream.toml"
TABLE="oidc-bench-coldstart"
SIGNING_KEY="alias/oidc-bench-coldstart-rs256"
SEED="$ROOT/infra/bench/harness/fixtures/seed.toml"

if [ "${1:-}" = "--measure" ] || [ "${1:-}" = "--count" ]; then
    # Inside infra/with-moto.sh: AWS_ENDPOINT_URL and dummy credentials are exported.
    echo "coldstart: provisioning table $TABLE and key $SIGNING_KEY on moto, seeding" >&2
    "$LOCAL" --backend aws --table "$TABLE" --signing-keys "$SIGNING_KEY" \
        --provision --setup-only --no-demo --seed "$SEED" >&2
    args=()
    for t in "${FUNCTIONS[@]}" "${BASELINES[@]}"; do
        args+=(--target "$t=$OUT/lambda/x86_64/$t/bootstrap")
    done
    for t in ${HELPERS[@]+"${HELPERS[@]}"}; do
        args+=(--helper "$t=$OUT/lambda/x86_64/$t/bootstrap")
    done
    federation_env=()
    if needs federation; then
        # The upstream, over plain http: the federation client allows it for loopback hosts
        # only. Its provider id is the harness's upstream::IDP.
        port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
        up_dir="$(mktemp -d "${TMPDIR:-/tmp}/coldstart-upstream.XXXXXX")"
        "$UPSTREAM_LOCAL" --backend embedded --data-dir "$up_dir" --port "$port" \
            --issuer "http://localhost:$port" --no-demo --seed "$UPSTREAM_SEED" \
            >"$up_dir/log" 2>&1 &
        up_pid=$!
        trap 'kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; rm -rf "$up_dir"' EXIT
        for _ in $(seq 1 100); do
            grep -q "OpenID Provider running" "$up_dir/log" 2>/dev/null && break
            kill -0 "$up_pid" 2>/dev/null || { cat "$up_dir/log" >&2; exit 1; }
            sleep 0.1
        done
        echo "coldstart: upstream provider at http://localhost:$port (pid $up_pid)" >&2
        secrets_key="$("$ROOT/.venv-tools/bin/python" -c 'import boto3
print(boto3.client("kms").create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
    Description="oidc-bench: seals upstream client secrets")["KeyMetadata"]["KeyId"])')"
        up_client="$(sed -n 's/^client_id = "\(.*\)"$/\1/p' "$UPSTREAM_SEED" | head -1)"
        sed -n 's/^client_secret = "\(.*\)"$/\1/p' "$UPSTREAM_SEED" | head -1 |
            "$ADMIN" --aws --table "$TABLE" --secrets-key "$secrets_key" providers create \
                --id bench-upstream --issuer "http://localhost:$port" --client-id "$up_client" \
                --client-secret-stdin --name "Bench Upstream" >&2
        federation_env=(--env "FEDERATION_SECRETS_KEY=$secrets_key")
    elif needs account; then
        # The account function's sealing key (template.yaml gives it FederationSecretsKey).
        secrets_key="$("$ROOT/.venv-tools/bin/python" -c 'import boto3
print(boto3.client("kms").create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
    Description="oidc-bench: seals TOTP secrets")["KeyMetadata"]["KeyId"])')"
        federation_env=(--env "FEDERATION_SECRETS_KEY=$secrets_key")
    fi
    # template.yaml's environment (no ISSUER: the functions take https://<API domain> from
    # the request, as a stack without a custom domain does), plus the emulator's endpoint
    # and credentials. Registration is open so that register's request does register; token
    # lifetimes are long enough for any RUNS.
    env_args=()
    for kv in \
        "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" \
        "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" \
        "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
        "AWS_SESSION_TOKEN=bench-session-token" \
        "AWS_REGION=$AWS_REGION" \
        "AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION" \
        "AWS_EC2_METADATA_DISABLED=true" \
        "TABLE_NAME=$TABLE" \
        "SIGNING_KEYS=$SIGNING_KEY" \
        "SIGNING_ALGS=RS256" \
        "CODE_TTL_SECONDS=60" \
        "ACCESS_TOKEN_TTL_SECONDS=86400" \
        "ID_TOKEN_TTL_SECONDS=86400" \
        "AUTH_REQUEST_TTL_SECONDS=86400" \
        "SESSION_TTL_SECONDS=28800" \
        "REFRESH_TOKEN_TTL_SECONDS=2592000" \
        "REGISTRATION=open" \
        "PRODUCT_NAME=OpenID Provider" \
        "ACCENT_COLOR=#2457d6" \
        "RUST_LOG=info"; do
        env_args+=(--env "$kv")
    done
    env_args+=(${federation_env[@]+"${federation_env[@]}"})
    commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [ -n "$(git status --porcelain -- shared functions 2>/dev/null)" ]; then
        commit="$commit (+ uncommitted changes in shared/ or functions/)"
    fi
    meta=(--meta "commit=$commit" --meta "rustc=$(rustc --version)"
        --meta "cargo-lambda=$(cargo-lambda lambda --version 2>/dev/null | awk '{print $2}')")
    if [ "$1" = "--count" ]; then
        "$EMULATOR" bench "${args[@]}" "${env_args[@]}" "${meta[@]}" \
            --runs "$CALL_RUNS" --warmup 0 --memory-mb 256 \
            --count-aws-calls "$AWS_ENDPOINT_URL" --out "$OUT/coldstart-calls.json"
    else
        "$EMULATOR" bench "${args[@]}" "${env_args[@]}" "${meta[@]}" \
            --runs "$RUNS" --warmup 1 --memory-mb 256 \
            --baseline baseline-sdk --goal-ratio 1.3 \
            --out "$OUT/coldstart.json" --events-dir "$OUT/events" --logs-dir "$OUT/logs"
    fi
    exit 0
fi

started=$(date +%s)
mkdir -p "$OUT"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "coldstart: [1/4] release bootstraps (x86_64)" >&2
    "$ROOT/infra/bench/build.sh" x86_64 "${FUNCTIONS[@]}" ${HELPERS[@]+"${HELPERS[@]}"} "${BASELINES[@]}" | tee "$OUT/build-x86_64.txt" >&2
else
    echo "coldstart: [1/4] SKIP_BUILD set: using target/bench/lambda/x86_64 as it is" >&2
fi
# cargo-lambda (its version goes into the report) lives in the tools venv either way.
export PATH="$ROOT/.venv-tools/bin:$PATH"
built=$(date +%s)

echo "coldstart: [2/4] the emulator (release) and oidc-local (seeding)" >&2
cargo build --release -q -p oidc-bench
cargo build -q -p oidc-local
if needs federation; then
    # As awscalls.sh builds them (one invocation: the same features of `shared`, so cached).
    echo "coldstart: [2/4] the upstream provider (oidc-local) and oidc-admin, release" >&2
    cargo build --release -q -p oidc-local -p oidc-admin
fi
tools=$(date +%s)

echo "coldstart: [3/4] cold starts ($RUNS per target) under moto" >&2
MOTO_COUNT=0 "$ROOT/infra/with-moto.sh" "$ROOT/infra/bench/coldstart.sh" --measure
calls_args=()
rm -f "$OUT/coldstart-calls.json"
if [ "$CALL_RUNS" -gt 0 ]; then
    echo "coldstart: [3/4] counting AWS calls ($CALL_RUNS per target, moto recording, untimed)" >&2
    if MOTO_COUNT=1 "$ROOT/infra/with-moto.sh" "$ROOT/infra/bench/coldstart.sh" --count; then
        calls_args=(--calls "$OUT/coldstart-calls.json")
    else
        echo "coldstart: counting AWS calls failed; the section will go without them" >&2
    fi
fi
measured=$(date +%s)

echo "coldstart: [4/4] report" >&2
"$EMULATOR" report --input "$OUT/coldstart.json" "${calls_args[@]}" \
    --md "$OUT/coldstart.md" --svg "$OUT/coldstart.svg" --chart-link infra/bench/charts/coldstart.svg
mkdir -p "$ROOT/infra/bench/charts"
if [ -n "${COLDSTART_FUNCTIONS:-}" ]; then
    # Some functions only: the committed chart (every function) stays as it is.
    echo "coldstart: COLDSTART_FUNCTIONS set: the chart is only in $OUT/coldstart.svg" >&2
else
    cp "$OUT/coldstart.svg" "$ROOT/infra/bench/charts/coldstart.svg"
fi

end=$(date +%s)
echo "coldstart: done in $((end - started)) s (build $((built - started)) s, tools $((tools - built)) s, measuring $((measured - tools)) s)" >&2
echo "coldstart: $OUT/coldstart.md, $OUT/coldstart.json, infra/bench/charts/coldstart.svg" >&2
