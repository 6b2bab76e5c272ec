#!/usr/bin/env bash
# Every test, on a fresh machine: the README's test command, and what CI runs.
#
# Installs what it needs (moto in .venv-tools, oidc-provider in tests/upstream-node), starts
# the DynamoDB/KMS emulator on a free loopback port, and runs the whole workspace suite
# against the embedded backend and the AWS backends (OIDC_REQUIRE_AWS=1: a missing emulator
# is a failure, not a skip; likewise OIDC_REQUIRE_BROWSER and OIDC_REQUIRE_NODE for Chromium
# and Node). The last thing printed is the test runner's summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OIDC_REQUIRE_AWS=1

# cargo-lambda (for the `cargo lambda watch` test) lives in the same venv as moto.
if [ ! -x .venv-tools/bin/cargo-lambda ]; then
    [ -x .venv-tools/bin/python ] || python3 -m venv .venv-tools
    .venv-tools/bin/pip install -q "cargo-lambda==1.9.2"
fi
# cfn-lint and SAM CLI (template checks) in their own venv: they pin older boto3 than moto.
if [ ! -x .venv-sam/bin/sam ] || [ ! -x .venv-sam/bin/cfn-lint ]; then
    python3 -m venv .venv-sam
    .venv-sam/bin/pip install -q "aws-sam-cli==1.170.0" "cfn-lint==1.58.0"
fi
export SAM_CLI_TELEMETRY=0

# Headless Chromium and its WebDriver for the browser tests (Debian packages).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
export OIDC_REQUIRE_BROWSER=1

# panva's oidc-provider, the independent upstream of the federation tests (Node 20+, npm).
command -v node >/dev/null && command -v npm >/dev/null \
    || { echo "infra/test.sh: node (v20.19+) and npm are required" >&2; exit 1; }
if [ ! -f tests/upstream-node/node_modules/oidc-provider/package.json ] \
    || [ tests/upstream-node/package-lock.json -nt tests/upstream-node/node_modules/.package-lock.json ]; then
    npm ci --prefix tests/upstream-node --no-audit --no-fund --loglevel=error
fi
export OIDC_REQUIRE_NODE=1
export PATH="$PWD/.venv-tools/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# nextest runs each test in its own process and holds no cargo lock while tests run, which
# the `cargo lambda watch` test needs (it builds the functions with cargo itself).
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi
exec infra/with-moto.sh cargo nextest run --workspace --no-fail-fast
