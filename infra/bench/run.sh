#!/usr/bin/env bash
# The benchmark command: every part in one run on this machine, then BENCHMARKS.md.
#
#   infra/bench/run.sh            # all parts (~45-60 min on 2 cores from a cold target dir)
#   PARTS="sizes coldstart" infra/bench/run.sh
#
# Parts (each a standalone script writing target/bench/<part>.md):
#   sizes      stripped bootstrap sizes, x86_64 and arm64, and what each function links
#   coldstart  spawn -> first response under a Lambda Runtime API emulator, vs two baselines
#   throughput the local server vs panva's oidc-provider, and the raw signing rate
#   awscalls   DynamoDB and KMS calls per operation at the emulator, and the cost
# Not part of the test suite: release builds and timing belong here, not in CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PARTS="${PARTS:-sizes coldstart throughput awscalls}"
OUT=target/bench
mkdir -p "$OUT"
started=$(date +%s)

# REPORT_ONLY=1 rewrites BENCHMARKS.md from the parts' last outputs without measuring.
for part in $([ "${REPORT_ONLY:-0}" = 1 ] || echo "$PARTS"); do
    echo "=== $part ($(date -u +%H:%M:%S))" >&2
    t0=$(date +%s)
    case "$part" in
        # sizes builds both architectures; coldstart then measures the x86_64 builds as they are.
        coldstart) SKIP_BUILD="${SKIP_BUILD:-$([[ " $PARTS " == *" sizes "* ]] && echo 1 || echo 0)}" \
            infra/bench/coldstart.sh ;;
        sizes | throughput | awscalls) "infra/bench/$part.sh" ;;
        *) echo "unknown part: $part" >&2; exit 64 ;;
    esac
    echo "=== $part took $(( $(date +%s) - t0 )) s" >&2
done

commit=$(git rev-parse --short HEAD)
# The charts are rewritten by the run itself.
dirty=$(git status --porcelain --untracked-files=no -- . ':!infra/bench/charts' ':!BENCHMARKS.md' \
    | grep -q . && echo " (with local changes)" || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Benchmarks"
    echo
    if [ "${REPORT_ONLY:-0}" = 1 ]; then
        echo "Written by \`infra/bench/run.sh\` from its last measurements (each section names the"
        echo "commit it measured), on $(date -u +%Y-%m-%d) at commit \`$commit\`$dirty,"
    else
        echo "Measured by \`infra/bench/run.sh\` on $(date -u +%Y-%m-%d), commit \`$commit\`$dirty,"
    fi
    echo "on one machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB. The machine is shared"
    echo "and noisy, so every comparison is made in the same run, side by side, and read as a"
    echo "ratio. How each part measures is in [infra/bench/README.md](infra/bench/README.md)."
    echo
    echo "## Goals"
    echo
    echo "What each part below printed as PASS or MISS (a MISS says by how much; the part's"
    echo "section says why):"
    echo
    for part in $PARTS; do
        [ -f "$OUT/$part.md" ] && python3 infra/bench/goals.py "$OUT/$part.md"
    done
    echo
    cat infra/bench/analysis.md
    echo
    for part in $PARTS; do
        [ -f "$OUT/$part.md" ] && { cat "$OUT/$part.md"; echo; }
        [ "$part" = awscalls ] && [ -f "$OUT/cost.md" ] && { cat "$OUT/cost.md"; echo; }
    done
    echo "---"
    [ "${REPORT_ONLY:-0}" = 1 ] || echo "All parts took $(( ($(date +%s) - started) / 60 )) min."
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
