#!/usr/bin/env bash
# Builds every Lambda function of template.yaml with `sam build` (cargo-lambda, release,
# arm64 by default; no Docker), then prints each .aws-sam/build/<Function>/bootstrap with its
# size and the total wall time.
#
#   infra/sam-build.sh                      # arm64 (the template's default)
#   infra/sam-build.sh --parameter-overrides Architecture=x86_64
#   TEMPLATE=examples/protected-api/template.yaml infra/sam-build.sh -b .aws-sam/example
#
# Extra arguments go to `sam build`. Tools are kept in the repository's own venvs:
#   .venv-tools  cargo-lambda + ziglang (the linker cargo-lambda cross-compiles with)
#   .venv-sam    aws-sam-cli + cfn-lint (a separate venv: SAM pins older boto3/click)
# .venv-tools/bin goes first on PATH: cargo-lambda finds zig as `python3 -m ziglang` with the
# first python3 on PATH, so that must be the venv that has ziglang; .venv-sam (whose python
# has no ziglang) comes after it, only for `sam`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0

step() { printf '==> %s\n' "$*"; }

# --- cargo-lambda + zig ------------------------------------------------------------------
if [[ ! -x .venv-tools/bin/python ]]; then
  step "creating .venv-tools"
  python3 -m venv .venv-tools
fi
have() { .venv-tools/bin/pip show "$1" 2>/dev/null | awk '/^Version:/ {print $2}'; }
if [[ "$(have cargo-lambda)" != "$CARGO_LAMBDA_VERSION" || "$(have ziglang)" != "$ZIGLANG_VERSION" ]]; then
  step "installing cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION into .venv-tools"
  .venv-tools/bin/pip install -q "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
fi

# --- SAM CLI -------------------------------------------------------------------------------
if [[ ! -x .venv-sam/bin/sam ]]; then
  step "creating .venv-sam with aws-sam-cli==$SAM_CLI_VERSION cfn-lint==$CFN_LINT_VERSION"
  python3 -m venv .venv-sam
  .venv-sam/bin/pip install -q "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION"
fi

export PATH="$ROOT/.venv-tools/bin:$PATH:$ROOT/.venv-sam/bin"
export SAM_CLI_TELEMETRY=0
# SAM reads AWS_DEFAULT_REGION (not AWS_REGION); the build itself calls no AWS API.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

# --- Rust targets ----------------------------------------------------------------------------
# Without the target's std installed, cargo-lambda asks rustup to download it mid-build.
for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu; do
  if ! rustup target list --installed | grep -qx "$target"; then
    step "rustup target add $target"
    rustup target add "$target"
  fi
done

step "cargo-lambda $(have cargo-lambda), ziglang $(have ziglang), sam $(sam --version | awk '{print $NF}'), $(rustc --version)"

# --- build -----------------------------------------------------------------------------------
step "sam build (cargo lambda build --release, one function after the other)"
build_start=$(date +%s)
sam build --template-file "${TEMPLATE:-template.yaml}" "$@"
build_end=$(date +%s)

# --- report ----------------------------------------------------------------------------------
step "artifacts"
total_bytes=0
count=0
build_dir=.aws-sam/build
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in -b|--build-dir) build_dir="${args[$((i + 1))]:-$build_dir}" ;; esac
done
for dir in "$build_dir"/*/; do
  bin="${dir}bootstrap"
  [[ -f "$bin" ]] || continue
  bytes=$(stat -c %s "$bin")
  total_bytes=$((total_bytes + bytes))
  count=$((count + 1))
  arch=$(file -b "$bin" 2>/dev/null | cut -d, -f2 | sed 's/^ *//') || arch=""
  printf '  %-55s %10d bytes (%5.1f MiB)  %s\n' "$bin" "$bytes" "$(echo "$bytes / 1048576" | bc -l)" "$arch"
done
if [[ $count -eq 0 ]]; then
  echo "no bootstrap found under $build_dir" >&2
  exit 1
fi
end=$(date +%s)
printf '  %d functions, %.1f MiB in total\n' "$count" "$(echo "$total_bytes / 1048576" | bc -l)"
printf 'sam build: %dm%02ds; whole script: %dm%02ds\n' \
  $(((build_end - build_start) / 60)) $(((build_end - build_start) % 60)) \
  $(((end - start) / 60)) $(((end - start) % 60))
