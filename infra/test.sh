#!/usr/bin/env bash
# Every test, on a fresh machine: the README's test command, and what CI runs.
#
# Installs what it needs (moto in .venv-tools), starts the DynamoDB/KMS emulator on a free
# loopback port, and runs the whole workspace suite against the embedded backend and the
# AWS backends (OIDC_REQUIRE_AWS=1: a missing emulator is a failure, not a skip). The last
# thing printed is the test runner's summary.
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
export PATH="$PWD/.venv-tools/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# nextest runs each test in its own process and holds no cargo lock while tests run, which
# the `cargo lambda watch` test needs (it builds the functions with cargo itself).
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi
exec infra/with-moto.sh cargo nextest run --workspace --no-fail-fast
