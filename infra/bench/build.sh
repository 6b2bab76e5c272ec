#!/usr/bin/env bash
# Builds Lambda bootstraps exactly as `cargo lambda build --release` makes them (the
# workspace's release profile, target-cpu haswell / neoverse-n1), one cargo
# invocation per package: each function enables its own features of `shared`, and one
# invocation for several packages would unify them.
#
#   infra/bench/build.sh x86_64|arm64 PACKAGE...
#
# Each bootstrap lands in target/bench/lambda/<arch>/<package>/bootstrap: a directory per
# architecture, so an arm64 build never overwrites the x86_64 binaries that the cold-start
# benchmark runs (cargo-lambda's default target/lambda/ is shared by both). Installs
# cargo-lambda and zig into .venv-tools if missing. Cargo's own caching makes a rebuild of an
# unchanged tree take seconds. Prints "<package> <seconds>s <bytes>" per package on stdout.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 x86_64|arm64 PACKAGE..." >&2
    exit 64
fi
ARCH="$1"
shift

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-tools"
CARGO_LAMBDA_VERSION="1.9.2"
ZIG_VERSION="0.17.1"

case "$ARCH" in
    x86_64) FLAG="--x86-64"; TRIPLE="x86_64-unknown-linux-gnu"; ELF_MACHINE=62 ;;
    arm64) FLAG="--arm64"; TRIPLE="aarch64-unknown-linux-gnu"; ELF_MACHINE=183 ;;
    *) echo "build.sh: unknown architecture '$ARCH' (x86_64 or arm64)" >&2; exit 64 ;;
esac

# cargo-lambda and zig in one venv, first on PATH: cargo-lambda finds zig by running
# `python3 -m ziglang` with the first python3 on PATH (see TOOLCHAIN.md).
if [ ! -x "$VENV/bin/python3" ]; then
    echo "build.sh: creating $VENV" >&2
    python3 -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/cargo-lambda" ]; then
    echo "build.sh: installing cargo-lambda==$CARGO_LAMBDA_VERSION into $VENV" >&2
    "$VENV/bin/pip" install -q "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
if ! "$VENV/bin/python3" -c 'import ziglang' 2>/dev/null; then
    echo "build.sh: installing ziglang==$ZIG_VERSION into $VENV" >&2
    "$VENV/bin/pip" install -q "ziglang==$ZIG_VERSION"
fi
export PATH="$VENV/bin:$PATH"

# The Rust standard library for the target. cargo-lambda would otherwise run
# `rustup target add` itself (a download); check here and skip its check.
if ! rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE"; then
    echo "build.sh: the $TRIPLE standard library is not installed; trying rustup target add" >&2
    if ! rustup target add "$TRIPLE"; then
        echo "build.sh: cannot build for $ARCH without it (rustup target add $TRIPLE)" >&2
        exit 1
    fi
fi

OUT="$ROOT/target/bench/lambda/$ARCH"
mkdir -p "$OUT"
cd "$ROOT"

elf_machine() {
    # e_machine: 2 bytes little-endian at offset 18 of the ELF header.
    od -An -t u2 -j 18 -N 2 "$1" | tr -d ' '
}

for pkg in "$@"; do
    start=$(date +%s)
    echo "build.sh: [$ARCH] cargo lambda build --release $FLAG -p $pkg" >&2
    cargo lambda build --release "$FLAG" --skip-target-check --lambda-dir "$OUT" -p "$pkg" >&2
    bin="$OUT/$pkg/bootstrap"
    if [ ! -f "$bin" ]; then
        echo "build.sh: no $bin after the build (is the binary named like its package?)" >&2
        ls -R "$OUT" >&2 || true
        exit 1
    fi
    machine="$(elf_machine "$bin")"
    if [ "$machine" != "$ELF_MACHINE" ]; then
        echo "build.sh: $bin is not an $ARCH binary (ELF machine $machine)" >&2
        exit 1
    fi
    echo "$pkg $(($(date +%s) - start))s $(stat -c %s "$bin")"
done
