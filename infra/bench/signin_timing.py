#!/usr/bin/env python3
"""Does a wrong password for an existing username take as long as one for an unknown username?

The timing half of issue 13's test (d) (the call sequences are compared by the e2e suite,
`throttling::unknown_and_existing_usernames_make_the_same_store_calls`). For each backend it
starts `oidc-local` (release build) with the bench seed, opens one sign-in form and posts it
`--samples` times for the existing `bench-user` and as many times for an unknown username,
interleaved (each pair in random order, after a warm-up), each with a wrong password, and
reports the medians and quartiles of the POST /login times seen by the client. The sign-in
defence stays on with limits too high to refuse anything (`SIGNIN_FREE_FAILURES`,
`SIGNIN_MAX_FAILURES_PER_IP` = 1,000,000), so every attempt is checked and counted exactly as
a real failure is. `infra/bench/signin_timing.sh` is the entry point (it starts the emulator
without its call record, which would slow it).

  signin_timing.py --bin target/release/oidc-local [--samples 200] [--backends aws,embedded]
                   [--out target/bench]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import signin  # noqa: E402  (infra/bench/signin.py: a cookie-keeping stdlib browser)

SEED = os.path.join(HERE, "seed.toml")
CLIENT_ID = "bench-app"
REDIRECT_URI = "http://127.0.0.1:9/cb"
EXISTING = "bench-user"
UNKNOWN = "bench-nobody"
WARMUP = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, args: list[str], log_path: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(
        os.environ,
        RUST_LOG="warn",
        SIGNIN_FREE_FAILURES="1000000",
        SIGNIN_MAX_FAILURES_PER_IP="1000000",
        AUTH_REQUEST_TTL_SECONDS="86400",
    )
    log = open(log_path, "wb")
    proc = subprocess.Popen([binary, "--no-demo", "--port", str(port), *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"oidc-local exited: {open(log_path).read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("oidc-local did not start")


def open_form(base: str) -> tuple[signin._Browser, str, dict]:
    b = signin._Browser(None)
    q = urllib.parse.urlencode({"response_type": "code", "client_id": CLIENT_ID,
                                "redirect_uri": REDIRECT_URI, "scope": "openid", "state": "s"})
    # /authorize shows the sign-in form itself.
    status, _, body = b.request("GET", f"{base}/authorize?{q}")
    if status != 200:
        raise RuntimeError(f"/authorize answered {status}")
    forms = signin._Forms()
    forms.feed(body)
    form = forms.forms[0]
    return b, form["action"], dict(form["inputs"])


def post(b, action: str, inputs: dict, username: str) -> float:
    form = dict(inputs, username=username, password="not-the-password")
    t0 = time.perf_counter()
    status, _, body = b.request("POST", action, form)
    elapsed = time.perf_counter() - t0
    if status != 200 or "Wrong username or password" not in body:
        raise RuntimeError(f"expected a wrong-password page, got {status}: {body[:300]!r}")
    return elapsed * 1000


def measure(backend: str, binary: str, samples: int, work: str) -> dict:
    if backend == "aws":
        table, key = "signin-timing", "alias/signin-timing"
        aws = ["--backend", "aws", "--table", table, "--signing-keys", key]
        done = subprocess.run([binary, *aws, "--provision", "--setup-only", "--no-demo",
                               "--seed", SEED], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"provisioning failed: {done.stdout}{done.stderr}")
        args = aws + ["--seed", SEED]
    else:
        args = ["--backend", "embedded", "--data-dir", os.path.join(work, "data"),
                "--seed", SEED]
    proc, base = start(binary, args, os.path.join(work, f"{backend}.log"))
    try:
        b, action, inputs = open_form(base)
        for i in range(WARMUP):
            post(b, action, inputs, EXISTING if i % 2 else UNKNOWN)
        times = {EXISTING: [], UNKNOWN: []}
        diffs = []
        rng = random.Random(13)
        for _ in range(samples):
            pair = [EXISTING, UNKNOWN]
            rng.shuffle(pair)
            seen = {name: post(b, action, inputs, name) for name in pair}
            for name, ms in seen.items():
                times[name].append(ms)
            diffs.append(seen[EXISTING] - seen[UNKNOWN])
    finally:
        proc.terminate()
        proc.wait(10)

    def q(xs, p):
        return statistics.quantiles(xs, n=4)[p]

    return {
        "backend": backend,
        "samples": samples,
        "existing": (statistics.median(times[EXISTING]), q(times[EXISTING], 0), q(times[EXISTING], 2)),
        "unknown": (statistics.median(times[UNKNOWN]), q(times[UNKNOWN], 0), q(times[UNKNOWN], 2)),
        "paired_median_diff": statistics.median(diffs),
    }


def report(results: list[dict], profile: str) -> str:
    lines = [
        "## Sign-in time: existing vs unknown username",
        "",
        f"`infra/bench/signin_timing.sh` ({profile} build): POST /login with a wrong password, "
        "one form reused, the two usernames interleaved in random order; times in ms as the "
        "client saw them (median, with the quartiles).",
        "",
        "| backend | samples each | existing username | unknown username | median of paired differences |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        e, u = r["existing"], r["unknown"]
        lines.append(
            f"| {r['backend']} | {r['samples']} | {e[0]:.2f} ({e[1]:.2f}–{e[2]:.2f}) "
            f"| {u[0]:.2f} ({u[1]:.2f}–{u[2]:.2f}) | {r['paired_median_diff']:+.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--backends", default="aws,embedded")
    ap.add_argument("--profile", default="release")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        for backend in a.backends.split(","):
            if backend == "aws" and not os.environ.get("AWS_ENDPOINT_URL"):
                print("signin_timing: no emulator (AWS_ENDPOINT_URL); skipping aws", file=sys.stderr)
                continue
            results.append(measure(backend, a.bin, a.samples, work))
    text = report(results, a.profile)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "signin_timing.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
