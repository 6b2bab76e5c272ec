#!/usr/bin/env bash
# Fuzzes the provider with cargo-fuzz (libFuzzer): builds every target of fuzz/ and runs each
# for SECONDS_PER_TARGET seconds (default 60), then prints executions and crashes per target.
# Exits non-zero if any target crashed; crash inputs are in fuzz/artifacts/<target>/.
# Not part of infra/test.sh. See infra/FUZZING.md.
#
#   infra/fuzz.sh [SECONDS_PER_TARGET]
#   FUZZ_TARGETS="jwt_verify seed_parse" infra/fuzz.sh 30     # a subset
#   FUZZ_SANITIZER=none infra/fuzz.sh                          # skip the AddressSanitizer attempt
set -uo pipefail

secs="${1:-60}"
case "$secs" in ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz" || exit 2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz is missing: installing it (about 4 minutes)"
    cargo install --locked cargo-fuzz || exit 2
fi

# Only a stable toolchain here: cargo-fuzz passes nightly-only -Z flags, which RUSTC_BOOTSTRAP
# allows. It is set for the cargo-fuzz commands only, never exported.
fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }

targets="${FUZZ_TARGETS:-$(fuzz list)}"
sanitizer="${FUZZ_SANITIZER:-auto}"
logs="$root/fuzz/logs"
mkdir -p "$logs"

if [ "$sanitizer" = auto ]; then
    echo "== building all targets with AddressSanitizer"
    if fuzz build --sanitizer address >"$logs/build-address.log" 2>&1; then
        sanitizer=address
    else
        echo "   AddressSanitizer build failed (see fuzz/logs/build-address.log); falling back to --sanitizer none"
        sanitizer=none
    fi
fi
if [ "$sanitizer" != address ] || [ -n "${FUZZ_SANITIZER:-}" ]; then
    echo "== building all targets (--sanitizer $sanitizer)"
    fuzz build --sanitizer "$sanitizer" >"$logs/build-$sanitizer.log" 2>&1 || {
        tail -40 "$logs/build-$sanitizer.log"; echo "build failed" >&2; exit 2; }
fi

rows=()
failed=0
for t in $targets; do
    mkdir -p "artifacts/$t" "corpus/$t"
    before=$(ls "artifacts/$t" | wc -l)
    echo "== $t: ${secs}s (log: fuzz/logs/$t.log)"
    start=$(date +%s)
    fuzz run --sanitizer "$sanitizer" "$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=25 >"$logs/$t.log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | tail -1 | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$logs/$t.log" | tail -1 | grep -o '[0-9]*$')
    crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
    status=ok
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        status="CRASH (rc=$rc)"
        failed=1
        grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$logs/$t.log" | sed 's/^/   /'
        grep -A2 -m1 "panicked at" "$logs/$t.log" | tail -n +2 | sed 's/^/   /'
        ls -t "artifacts/$t" | head -3 | sed "s|^|   input: fuzz/artifacts/$t/|"
    fi
    rows+=("$(printf '%-20s %6ss %14s %10s  %s' "$t" "$elapsed" "${execs:-?}" "${rate:-?}" "$status")")
done

echo
echo "sanitizer: $sanitizer, ${secs}s per target"
echo "(wall: cargo's up-to-date check + libFuzzer start-up + run; exec/s: libFuzzer's own average)"
printf '%-20s %7s %14s %10s  %s\n' target wall executions exec/s result
for r in "${rows[@]}"; do echo "$r"; done
if [ "$failed" -ne 0 ]; then
    echo
    echo "Crashes found. Reproduce one with:"
    echo "  cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer TARGET artifacts/TARGET/crash-..."
    echo "then turn each input into a regression test in shared/ before fixing it."
    exit 1
fi
