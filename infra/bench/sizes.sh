#!/usr/bin/env bash
# Binary size of every Lambda function for x86_64 and arm64, plus the two cold-start
# baselines, and what each binary links (DynamoDB client, KMS client, argon2).
#
#   infra/bench/sizes.sh              # builds what is missing or stale, then measures
#   SKIP_BUILD=1 infra/bench/sizes.sh # measure the bootstraps already in target/bench/lambda/
#   SIZES_FUNCTIONS="login account" infra/bench/sizes.sh  # some functions only (and the baselines)
#
# A function whose bootstrap is missing gets "not built" (and "–" sizes); a marker check
# whose binaries are missing is skipped, not failed.
#
# Writes target/bench/sizes.md (the "## Binary size" section) and target/bench/sizes.json.
# Builds with infra/bench/build.sh: `cargo lambda build --release [--arm64] -p <package>`,
# one invocation per package so each function keeps its own features of `shared`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/bench"
read -r -a FUNCTIONS <<<"${SIZES_FUNCTIONS:-discovery jwks authorize login token userinfo revoke introspect logout register federation account}"
BASELINES=(baseline-hello baseline-sdk)
ARCHS=(x86_64 arm64)

started=$(date +%s)
mkdir -p "$OUT"
for arch in "${ARCHS[@]}"; do
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        echo "sizes: release bootstraps ($arch)" >&2
        t=$(date +%s)
        "$ROOT/infra/bench/build.sh" "$arch" "${FUNCTIONS[@]}" "${BASELINES[@]}" | tee "$OUT/build-$arch.txt" >&2
        echo "sizes: $arch built in $(($(date +%s) - t)) s" >&2
    fi
done
built=$(date +%s)

echo "sizes: measuring" >&2
python3 - "$ROOT" "$OUT" "${FUNCTIONS[*]}" "${BASELINES[*]}" "${ARCHS[*]}" <<'PY'
import json, os, re, struct, subprocess, sys, time

root, out, functions, baselines, archs = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split()
MIB = 1024 * 1024
GOAL_BYTES = 8 * MIB          # each function's arm64 bootstrap
GOAL_ARCH = "arm64"

# Strings only the code in question carries: what each binary links, after LTO and dead-code
# elimination (unused code, and its strings, are gone from a release build).
MARKERS = {
    "dynamodb": ("DynamoDB client", b"DynamoDB_20120810",
                 "the DynamoDB JSON protocol's target prefix (aws-sdk-dynamodb)"),
    "kms": ("KMS client", b"TrentService",
            "KMS's JSON protocol target prefix (aws-sdk-kms)"),
    "sts": ("STS client", b"AssumeRoleWithWebIdentity",
            "the STS operation of aws-config's web-identity credentials provider (aws-sdk-sts): "
            "in a binary that calls aws-config's default chain"),
    "argon2": ("argon2", b"invalid Blake2bVar out length",
               "a panic message in the argon2 crate's H' function (`blake2b_long.rs`), "
               "the core of every argon2 hash"),
}

def elf_sections(data):
    """Section names of a 64-bit little-endian ELF file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shnum == 0:
        return []
    def header(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    strtab = header(shstrndx)
    names_off, names_size = strtab[4], strtab[5]
    names = data[names_off:names_off + names_size]
    result = []
    for i in range(shnum):
        n = header(i)[0]
        result.append(names[n:names.index(b"\0", n)].decode(errors="replace"))
    return result

def shared_features(pkg):
    path = os.path.join(root, "functions", pkg, "Cargo.toml")
    try:
        text = open(path).read()
    except OSError:
        return None
    try:
        import tomllib
        dep = tomllib.loads(text).get("dependencies", {}).get("shared", {})
        return list(dep.get("features", [])) if isinstance(dep, dict) else []
    except ImportError:
        m = re.search(r'^shared\s*=\s*\{[^}]*features\s*=\s*\[([^\]]*)\]', text, re.M)
        return re.findall(r'"([^"]+)"', m.group(1)) if m else []

def measure(arch, name):
    path = os.path.join(out, "lambda", arch, name, "bootstrap")
    if not os.path.isfile(path):
        return None
    data = open(path, "rb").read()
    sections = elf_sections(data) or []
    stripped = ".symtab" not in sections
    size = len(data)
    if not stripped:
        # cargo-lambda's release profile strips; if a binary still has symbols, measure a
        # stripped copy (zig's objcopy handles both architectures).
        copy = path + ".stripped"
        subprocess.run([sys.executable, "-m", "ziglang", "objcopy", "--strip-all", path, copy], check=True)
        size = os.path.getsize(copy)
        os.remove(copy)
    links = {k: data.count(m[1]) > 0 for k, m in MARKERS.items()}
    return {"path": os.path.relpath(path, root), "bytes": size, "was_stripped": stripped,
            "mtime_epoch": int(os.path.getmtime(path)), "links": links}

targets = []
for name in functions + baselines:
    t = {"name": name, "kind": "function" if name in functions else "baseline",
         "shared_features": shared_features(name) if name in functions else None,
         "arch": {a: measure(a, name) for a in archs}}
    if name in functions:
        m = t["arch"].get(GOAL_ARCH)
        t["goal_met"] = None if m is None else m["bytes"] <= GOAL_BYTES
        t["goal_margin_bytes"] = None if m is None else GOAL_BYTES - m["bytes"]
    targets.append(t)

# The argon2 marker must be in a binary that certainly links argon2 (login verifies
# passwords) and absent from one that certainly does not (the hello baseline).
checks = []
def links(name, key):
    t = next((t for t in targets if t["name"] == name), None)
    for a in archs:
        m = t and t["arch"].get(a)
        if m is not None:
            return m["links"][key]
    return None
for key, must_have, must_not in [("argon2", "login", "baseline-hello"),
                                 ("dynamodb", "baseline-sdk", "baseline-hello"),
                                 ("kms", "baseline-sdk", "baseline-hello"),
                                 ("sts", "baseline-sdk", "baseline-hello")]:
    have, have_not = links(must_have, key), links(must_not, key)
    if have is None or have_not is None:
        # A binary it needs was not measured (SIZES_FUNCTIONS, or not built): no verdict.
        checks.append({"marker": key, "present_in": must_have, "absent_from": must_not, "ok": None})
        print(f"sizes: the {key} marker is unchecked: {must_have} or {must_not} not measured", file=sys.stderr)
        continue
    ok = have is True and have_not is False
    checks.append({"marker": key, "present_in": must_have, "absent_from": must_not, "ok": ok})
    if not ok:
        print(f"sizes: WARNING: the {key} marker does not tell {must_have} from {must_not}", file=sys.stderr)

def git(*a):
    try:
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
commit = git("rev-parse", "--short", "HEAD") or "unknown"
if git("status", "--porcelain", "--", "shared", "functions"):
    commit += " (+ uncommitted changes in shared/ or functions/)"

data = {"generated_at_epoch": int(time.time()), "goal": {"arch": GOAL_ARCH, "max_bytes": GOAL_BYTES},
        "markers": {k: {"label": m[0], "string": m[1].decode(), "what": m[2]} for k, m in MARKERS.items()},
        "marker_checks": checks, "commit": commit, "targets": targets}
with open(os.path.join(out, "sizes.json"), "w") as f:
    json.dump(data, f, indent=2)

def mib(b):
    return "–" if b is None else f"{b / MIB:.2f} MiB"

fns = [t for t in targets if t["kind"] == "function"]
passed = sum(1 for t in fns if t["goal_met"])
md = ["## Binary size", ""]
md.append("Size of each `bootstrap` as `cargo lambda build --release` makes it (the workspace's "
          "release profile: fat LTO, codegen-units 1, `panic = \"abort\"`, symbols stripped, the AWS SDK "
          "crates at `opt-level = \"z\"`; `target-cpu` haswell / neoverse-n1), "
          "built one package per cargo invocation so each function keeps its own features of `shared`. "
          "This is the file Lambda loads; the deployment zip is smaller.")
md.append("")
md.append(f"**Goal**: each function's arm64 binary ≤ 8 MiB: **{passed} of {len(fns)} PASS**.")
md.append("")
md.append("| target | `shared` features | x86_64 | arm64 | arm64 ≤ 8 MiB |")
md.append("|---|---|---:|---:|---|")
for t in targets:
    x, a = t["arch"].get("x86_64"), t["arch"].get("arm64")
    feats = t["shared_features"]
    feats = "–" if feats is None else (", ".join(f"`{f}`" for f in feats) or "(none)")
    if t["kind"] != "function":
        verdict = "–"
    elif t["goal_met"] is None:
        verdict = "not built"
    elif t["goal_met"]:
        verdict = f"PASS ({t['goal_margin_bytes'] / MIB:.2f} MiB to spare)"
    else:
        over = -t["goal_margin_bytes"]
        verdict = f"**MISS** by {over / MIB:.2f} MiB (+{over / GOAL_BYTES * 100:.0f}%)"
    md.append(f"| {t['name']} | {feats} | {mib(x and x['bytes'])} | {mib(a and a['bytes'])} | {verdict} |")
unstripped = [f"{t['name']} ({a})" for t in targets for a, m in t["arch"].items() if m and not m["was_stripped"]]
if unstripped:
    md.append("")
    md.append("Not stripped as built (measured after `objcopy --strip-all`): " + ", ".join(unstripped) + ".")
md.append("")
md.append("### What each links")
md.append("")
md.append("Detected in the stripped binaries by strings that only the code in question carries "
          "(after LTO, code a function never calls is gone, with its strings): "
          + "; ".join(f"{m[0]}: `{m[1].decode()}`, {m[2]}" for m in MARKERS.values()) + ". "
          + ("**Warning**: a marker failed its check in this run: "
             + ", ".join(c["marker"] for c in checks if c["ok"] is False) + "."
             if any(c["ok"] is False for c in checks) else
             "Checked in this run: each marker is in a binary that certainly links it and absent from the hello baseline."
             if all(c["ok"] for c in checks) else
             "Checked in this run, where both binaries were measured: "
             + ", ".join(c["marker"] for c in checks if c["ok"]) + " (unchecked: "
             + ", ".join(c["marker"] for c in checks if c["ok"] is None) + ")."))
md.append("")
md.append("| target | " + " | ".join(m[0] for m in MARKERS.values()) + " |")
md.append("|---|" + ":-:|" * len(MARKERS))
for t in targets:
    per_arch = {a: m["links"] for a, m in t["arch"].items() if m}
    if not per_arch:
        md.append(f"| {t['name']} |" + " – |" * len(MARKERS))
        continue
    cells = []
    for key in MARKERS:
        vals = {a: l[key] for a, l in per_arch.items()}
        if len(set(vals.values())) == 1:
            cells.append("yes" if next(iter(vals.values())) else "–")
        else:
            cells.append(", ".join(f"{a}: {'yes' if v else 'no'}" for a, v in vals.items()))
    md.append(f"| {t['name']} | " + " | ".join(cells) + " |")
md.append("")
md.append(f"Raw numbers: `target/bench/sizes.json`. Measured at commit `{commit}`.")
with open(os.path.join(out, "sizes.md"), "w") as f:
    f.write("\n".join(md) + "\n")
print("\n".join(md))
PY

end=$(date +%s)
echo "sizes: done in $((end - started)) s (building $((built - started)) s)" >&2
echo "sizes: $OUT/sizes.md, $OUT/sizes.json" >&2
