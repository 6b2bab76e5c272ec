#!/usr/bin/env python3
"""AWS calls per operation, and what an operation costs: parts 4 and 5 of the benchmark.

Drives `oidc-local --backend aws` (DynamoDB + KMS through the real AWS SDK) against moto
started by `MOTO_COUNT=1 infra/with-moto.sh`, whose `infra/moto_serial.py` records every AWS
call (service, operation, arrival before its serialising lock, completion, sizes, items).
`infra/bench/awscalls.sh` is the entry point; this file does the work:

  awscalls.py run    --bin target/release/oidc-local --out target/bench [--repeat 5]
                     [--modes rs256,es256[,envelope]]
      (inside with-moto) provisions a table and key per mode, starts the server, records
      its start-up calls, then per operation one warm-up and --repeat measured runs, each
      HTTP request's calls fetched from moto and its CPU time from /proc; writes
      awscalls.json, then the two markdown fragments.
  awscalls.py report --json target/bench/awscalls.json --out target/bench
      re-renders awscalls.md and cost.md from the JSON (e.g. after changing a price).

Operations: `signin` (a person's first sign-in to an app: authorize (the sign-in form) ->
credentials -> consent page -> consent -> token -> userinfo, one new user per run so the
consent page is shown every time), `refresh` (refresh_token grant, a rotation chain),
`client_credentials`, and with --federation-admin the federated sign-ins through an upstream
provider (a second oidc-local, embedded backend, on 127.0.0.1): `federated` (a first one: the
account is made just in time; one new upstream user per run) and `federated_returning` (the
same people again, each in a new browser: their accounts are linked). Then, when the build
has the account page (GET /account is not 404) and AWSCALLS_PASSKEY is not 0,
`passkey_enrol` (a person opens the account page, signs in with their password and adds a
passkey; one new person per run) and `passkey_signin` (each of them signs in to the app with
that passkey in a new browser: the `signin` flow with POST /login/passkey instead of POST
/login, and a consent page, as theirs is a first sign-in to the app too). Then, when
the account page offers an authenticator app and AWSCALLS_TOTP is not 0, `totp_enrol` (a
person signs in on the account page and turns on an authenticator app: the secret, then the
secret back with a code; one new person per run), one wait for the next 30-second step (the
confirming code is spent), `totp_signin` (each of them signs in to the app in a new browser:
the `signin` flow with the code page as the password's answer, then POST /login/totp) and
`recovery_signin` (the same people again with a recovery code: the code page's "Use a
recovery code" link, then POST /login/totp with `recovery`). The TOTP secret is sealed
under FEDERATION_SECRETS_KEY, a symmetric KMS key made on moto (the federation scenarios'
key when they run). The scripted browser is infra/bench/signin.py, the software passkey
infra/bench/passkey.py, the authenticator app infra/bench/totp.py (imported). The provider
runs with the issuer `http://localhost:PORT`: passkeys need a host name.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

CLIENT_ID = "awscalls-app"
CLIENT_SECRET = "awscalls-app-secret-0123456789abcdef0123"
REDIRECT_URI = "http://127.0.0.1:9/cb"
SIGNIN_SCOPE = "openid profile email offline_access"
API_SCOPE = "api:read"
PASSWORD = "awscalls-user-password"
PASSKEY_USER = "awscalls-pk"  # the people of the passkey scenarios: awscalls-pk-<i>
TOTP_USER = "awscalls-totp"  # the people of the authenticator-app scenarios
# The upstream provider of the federated sign-ins, and our client there.
UPSTREAM_IDP = "upstream"
UPSTREAM_CLIENT = ("awscalls-downstream", "awscalls-downstream-secret-0123456789abcdef")
UPSTREAM_PASSWORD = "awscalls-upstream-password"
# The provider's issuer host. A host name, not 127.0.0.1: passkeys are scoped to it (RP ID).
# The same length as "127.0.0.1", so items that hold a URL keep their sizes.
ISSUER_HOST = "localhost"
SETTLE_S = 0.05  # after a response, before reading the calls: late calls are still counted

# --- prices (us-east-1), used by the cost section -----------------------------------------
PRICES = {
    "as_of": "list prices as of November 2026, as stated in the issue this benchmark comes "
    "from (the bench machine cannot reach aws.amazon.com, so they were not re-read live)",
    "region": "us-east-1",
    "kms_symmetric_per_10k": 0.03,  # Decrypt, Encrypt, GenerateDataKey...
    "kms_rsa2048_per_10k": 0.03,  # asymmetric requests on RSA_2048 keys (Sign, GetPublicKey)
    "kms_asymmetric_other_per_10k": 0.15,  # asymmetric requests except RSA 2048 (ECC_NIST_P256)
    "dynamodb_wru_per_million": 0.625,  # on-demand, after the 1 Nov 2024 cut
    "dynamodb_rru_per_million": 0.125,
    "lambda_arm64_gb_second": 0.0000133334,  # first 7.5 billion GB-s / month
    "lambda_per_million_requests": 0.20,
    "apigw_http_per_million": 1.00,  # HTTP API, first 300 million / month, per 512 KB
    "cloudwatch_logs_ingest_per_gb": 0.50,
}
# Duration model: billed ms = ceil(cpu_ms * cpu_scale + round_trips * rtt_ms)
LOW = {"name": "low", "rtt_ms": 5.0, "cpu_scale": "1 (full core)"}
HIGH = {"name": "high", "rtt_ms": 10.0, "cpu_scale": "1769 / MemorySize"}
LAMBDA_PLATFORM_LOG_BYTES = 300  # START, END and REPORT lines per invocation (assumed)
FULL_VCPU_MB = 1769  # Lambda: one full vCPU at 1,769 MB; CPU share is proportional below

STEP_NAMES = {
    ("GET", "/authorize"): "authorize",
    ("POST", "/authorize"): "authorize",
    ("GET", "/login"): "sign-in page",
    ("POST", "/login"): "credentials",
    ("POST", "/login/passkey"): "passkey",
    ("GET", "/login/totp"): "code page",
    ("POST", "/login/totp"): "code",
    ("GET", "/account"): "account page",
    ("GET", "/consent"): "consent page",
    ("POST", "/consent"): "consent",
    ("GET", "/federation/start"): "federation start",
    ("GET", "/federation/callback"): "federation callback",
    ("POST", "/token"): "token",
    ("GET", "/userinfo"): "userinfo",
}


# --- the emulator's call record ------------------------------------------------------------


def calls_get(endpoint: str) -> list:
    with urllib.request.urlopen(endpoint.rstrip("/") + "/__calls", timeout=30) as r:
        return json.load(r)


def calls_reset(endpoint: str) -> None:
    req = urllib.request.Request(endpoint.rstrip("/") + "/__calls/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def compact(call: dict) -> dict:
    """What the report needs of one recorded call."""
    out = {
        k: call.get(k)
        for k in ("service", "op", "arrival", "start", "end", "request_bytes", "response_bytes",
                  "status", "error")
        if call.get(k) is not None
    }
    if "dynamodb" in call:
        d = call["dynamodb"]
        out["items"] = [
            {k: v for k, v in i.items() if v is not None and k != "table"} for i in d.get("items", [])
        ]
        for k in ("consistent", "returned_bytes", "returned_items"):
            if k in d:
                out[k] = d[k]
    if "kms" in call:
        out.update({k: v for k, v in call["kms"].items() if k != "key_id"})
    return out


# --- the server's CPU time -------------------------------------------------------------------


def cpu_ns(pid: int) -> int:
    """CPU time of every live thread of `pid`, in ns (schedstat: precise, per thread)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def cpu_ticks_ns(pid: int) -> int:
    """utime + stime of the whole process (dead threads included), tick resolution."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // hz


class Recorder(list):
    """Passed to signin.py as its `trace` list: every append marks the end of one HTTP
    request, so the calls moto recorded since the previous mark are that request's."""

    def __init__(self, endpoint: str, pid: int):
        super().__init__()
        self.endpoint, self.pid = endpoint, pid
        self.requests: list[dict] = []
        self.begin()

    def begin(self) -> None:
        calls_reset(self.endpoint)
        self.t0 = time.perf_counter()
        self.cpu0 = cpu_ns(self.pid)

    def append(self, entry) -> None:  # (method, path, status[, step name])
        wall = time.perf_counter() - self.t0
        time.sleep(SETTLE_S)
        cpu = cpu_ns(self.pid) - self.cpu0
        calls = [compact(c) for c in calls_get(self.endpoint)]
        method, path, status = entry[:3]
        step = entry[3] if len(entry) > 3 else None
        self.requests.append(
            {
                "method": method,
                "path": path,
                "status": status,
                "step": step or STEP_NAMES.get((method, path), f"{method} {path}"),
                "wall_ms": round(wall * 1000, 3),
                "cpu_ms": round(max(cpu, 0) / 1e6, 3),
                "calls": calls,
            }
        )
        super().append(entry)
        self.begin()


# --- driving the provider ----------------------------------------------------------------------


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_seed(path: str, users: int) -> None:
    lines = [
        "# Written by infra/bench/awscalls.py for one measurement run.",
        "[[clients]]",
        f'client_id = "{CLIENT_ID}"',
        'client_name = "AWS calls benchmark"',
        f'client_secret = "{CLIENT_SECRET}"',
        'token_endpoint_auth_method = "client_secret_basic"',
        f'redirect_uris = ["{REDIRECT_URI}"]',
        f'scopes = ["openid", "profile", "email", "offline_access", "{API_SCOPE}"]',
        'grant_types = ["authorization_code", "refresh_token", "client_credentials"]',
        "",
    ]
    for i in range(users):
        lines += [
            "[[users]]",
            f'username = "awscalls-{i}"',
            f'password = "{PASSWORD}"',
            "[users.claims]",
            f'name = "Bench User {i}"',
            'given_name = "Bench"',
            'family_name = "User"',
            f'email = "awscalls-{i}@example.com"',
            "email_verified = true",
            "",
        ]
    # The people of the passkey scenarios: each adds a passkey, then signs in with it.
    for i in range(users):
        lines += [
            "[[users]]",
            f'username = "{PASSKEY_USER}-{i}"',
            f'password = "{PASSWORD}"',
            "[users.claims]",
            f'name = "Passkey User {i}"',
            f'email = "{PASSKEY_USER}-{i}@example.com"',
            "email_verified = true",
            "",
        ]
    # The people of the authenticator-app scenarios: each turns one on, then signs in with
    # a code, then with a recovery code.
    for i in range(users):
        lines += [
            "[[users]]",
            f'username = "{TOTP_USER}-{i}"',
            f'password = "{PASSWORD}"',
            "[users.claims]",
            f'name = "TOTP User {i}"',
            f'email = "{TOTP_USER}-{i}@example.com"',
            "email_verified = true",
            "",
        ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_upstream_seed(path: str, callback: str, users: int) -> None:
    """The upstream provider's seed: our client there (first-party: no consent page) and
    the people who sign in there, `fed-<i>`."""
    lines = [
        "# Written by infra/bench/awscalls.py: the upstream provider of the federated sign-ins.",
        "[[clients]]",
        f'client_id = "{UPSTREAM_CLIENT[0]}"',
        f'client_secret = "{UPSTREAM_CLIENT[1]}"',
        f'redirect_uris = ["{callback}"]',
        'scopes = ["openid", "profile", "email"]',
        "skip_consent = true",
        "",
    ]
    for i in range(users):
        lines += [
            "[[users]]",
            f'username = "fed-{i}"',
            f'password = "{UPSTREAM_PASSWORD}"',
            "[users.claims]",
            f'name = "Federated User {i}"',
            f'email = "fed-{i}@upstream.example"',
            "email_verified = true",
            "",
        ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def federation_setup(binary: str, admin: str, table: str, down_port: int, users: int,
                     work: str, name: str) -> tuple[Server, str]:
    """The upstream provider (oidc-local, embedded backend, on 127.0.0.1: another cookie
    host than the provider's localhost), a KMS key to seal its client secret with (the
    stack's FederationSecretsKey), and the provider registered in `table` by
    `oidc-admin providers create`. Returns the upstream server and the key id."""
    seed = os.path.join(work, f"upstream-{name}.toml")
    write_upstream_seed(seed, f"http://{ISSUER_HOST}:{down_port}/federation/callback", users)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="upstream.", dir=work)
    up = Server(binary, ["--backend", "embedded", "--data-dir", data, "--issuer", issuer,
                         "--seed", seed], os.path.join(work, f"upstream-{name}.log"), port=port)
    up.wait_ready()
    key = secrets_key()
    cmd = [admin, "--aws", "--table", table, "--secrets-key", key, "providers", "create",
           "--id", UPSTREAM_IDP, "--issuer", issuer, "--client-id", UPSTREAM_CLIENT[0],
           "--client-secret-stdin", "--name", "Upstream"]
    done = subprocess.run(cmd, cwd=ROOT, input=UPSTREAM_CLIENT[1] + "\n", capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        up.stop()
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return up, key


def secrets_key() -> str:
    """A symmetric KMS key made on moto, for FEDERATION_SECRETS_KEY (the stack's
    FederationSecretsKey): it seals upstream client secrets and the people's TOTP secrets."""
    import boto3  # moto's dependency, in the same venv

    return boto3.client("kms").create_key(
        KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
        Description="awscalls: seals upstream client secrets and TOTP secrets",
    )["KeyMetadata"]["KeyId"]


def die_with_parent() -> None:
    """In the child: SIGTERM when this script dies, however it dies (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Server:
    """One oidc-local process, on the aws backend unless `args` say otherwise, its issuer
    `http://localhost:PORT` unless `args` name one (passkeys need a host name: WebAuthn
    refuses an IP address as RP ID); stopped on exit whatever happens."""

    def __init__(self, binary: str, args: list[str], log_path: str, port: int | None = None,
                 env: dict | None = None):
        self.port = port or free_port()
        if "--issuer" in args:
            self.base = args[args.index("--issuer") + 1].rstrip("/")
        else:
            self.base = f"http://{ISSUER_HOST}:{self.port}"
            args = [*args, "--issuer", self.base]
        self.log_path = log_path
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1",
                   **(env or {}))
        self.log = open(log_path, "wb")
        backend = [] if "--backend" in args else ["--backend", "aws"]
        self.proc = subprocess.Popen(
            [binary, *backend, "--no-demo", "--port", str(self.port), *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"oidc-local exited with {self.proc.returncode}:\n{self.tail()}")
            with open(self.log_path, "rb") as f:
                if b"OpenID Provider running" in f.read():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"oidc-local did not start within {timeout}s:\n{self.tail()}")

    def log_bytes(self) -> int:
        self.log.flush()
        return os.path.getsize(self.log_path)

    def tail(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def userinfo(base: str, access_token: str, trace: list) -> dict:
    req = urllib.request.Request(base + "/userinfo", headers={
        "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    trace.append(("GET", "/userinfo", status))
    if status != 200:
        raise RuntimeError(f"/userinfo answered {status}: {body[:200]!r}")
    return json.loads(body)


def measure_mode(mode: dict, binary: str, endpoint: str, repeat: int, work: str,
                 federation_admin: str | None = None) -> dict:
    import signin as flow  # infra/bench/signin.py

    name = mode["name"]
    table = mode.get("table") or f"awscalls-{name}"
    users = repeat + 1
    seed = os.path.join(work, f"seed-{name}.toml")
    write_seed(seed, users)
    backend_args = ["--table", table, "--signing-keys", ",".join(mode["signing_keys"])]
    if mode.get("alg"):
        backend_args += ["--alg", mode["alg"]]
    result: dict = {"name": name, "table": table, "signing_keys": mode["signing_keys"],
                    "alg": mode.get("jose_alg"), "key_class": mode["key_class"]}

    # 1. Provision and seed in a process of its own (not measured). An envelope key is made
    # by `oidc-admin keys envelope-create` in a table that exists: the table is provisioned
    # (and seeded) with a KMS key first.
    setup_args = backend_args
    if mode.get("admin"):
        setup_args = ["--table", table, "--signing-keys", mode["bootstrap_key"],
                      "--alg", mode["alg"]]
    setup = Server(binary, setup_args + ["--provision", "--seed", seed, "--setup-only"],
                   os.path.join(work, f"setup-{name}.log"))
    try:
        if setup.proc.wait(600) != 0:
            raise RuntimeError(f"provisioning {name} failed:\n{setup.tail()}")
    finally:
        setup.stop()
    if mode.get("admin"):
        key_id = mode["signing_keys"][0].split(":", 1)[1]
        cmd = [mode["admin"], "keys", "envelope-create", "--aws", "--table", table, "--json",
               "--wrapping-key", mode["wrapping_key"], "--create-wrapping-key",
               "--alg", mode["alg"], "--id", key_id]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}")
        result["envelope_create"] = done.stdout.strip()[:2000]

    # The upstream of the federated sign-ins knows the provider's callback: its port first.
    upstream, down_port, down_env = None, free_port(), {}
    if federation_admin:
        upstream, key = federation_setup(binary, federation_admin, table, down_port, users,
                                         work, name)
    else:
        key = secrets_key()  # the TOTP secrets are sealed under it whether or not federation runs
    down_env["FEDERATION_SECRETS_KEY"] = key

    # 2. A fresh process: its start-up calls are the cold start.
    calls_reset(endpoint)
    server = Server(binary, backend_args, os.path.join(work, f"server-{name}.log"),
                    port=down_port, env=down_env)
    try:
        server.wait_ready()
        time.sleep(SETTLE_S)
        result["startup"] = [compact(c) for c in calls_get(endpoint)]
        pid = server.proc.pid
        ops: dict = {}

        def run(op: str, fn) -> None:
            runs = []
            log0, ticks0, t0 = server.log_bytes(), cpu_ticks_ns(pid), time.perf_counter()
            for i in range(repeat + 1):
                rec = Recorder(endpoint, pid)
                out = fn(i, rec)
                runs.append({"requests": rec.requests, "result": out})
                if i == 0:  # the warm-up is not in the process totals below
                    log0, ticks0, t0 = server.log_bytes(), cpu_ticks_ns(pid), time.perf_counter()
            ops[op] = {
                "warmup": runs[0]["requests"],
                "runs": [r["requests"] for r in runs[1:]],
                "process": {
                    "log_bytes_per_op": (server.log_bytes() - log0) / repeat,
                    "cpu_ticks_ms_per_op": (cpu_ticks_ns(pid) - ticks0) / 1e6 / repeat,
                    "driver_wall_ms_per_op": (time.perf_counter() - t0) * 1000 / repeat,
                },
            }
            return [r["result"] for r in runs]

        refresh_tokens: list[str] = []

        def one_signin(i: int, rec: Recorder):
            tokens = flow.signin(server.base, CLIENT_ID, REDIRECT_URI, f"awscalls-{i}", PASSWORD,
                                 CLIENT_SECRET, SIGNIN_SCOPE, trace=rec)
            for k in ("access_token", "id_token", "refresh_token"):
                if k not in tokens:
                    raise RuntimeError(f"sign-in {i}: no {k} in {list(tokens)}")
            userinfo(server.base, tokens["access_token"], rec)
            refresh_tokens.append(tokens["refresh_token"])
            return None

        run("signin", one_signin)

        chain = [refresh_tokens[-1]]

        def one_refresh(i: int, rec: Recorder):
            out = flow.refresh(server.base, CLIENT_ID, chain[-1], CLIENT_SECRET, trace=rec)
            chain.append(out["refresh_token"])
            return None

        run("refresh", one_refresh)

        def one_cc(i: int, rec: Recorder):
            out = flow.client_credentials(server.base, CLIENT_ID, CLIENT_SECRET, API_SCOPE,
                                          trace=rec)
            if "access_token" not in out:
                raise RuntimeError(f"client_credentials: {out}")
            return None

        run("client_credentials", one_cc)

        def one_federated(i: int, rec: Recorder):
            tokens = flow.signin(server.base, CLIENT_ID, REDIRECT_URI, f"fed-{i}",
                                 UPSTREAM_PASSWORD, CLIENT_SECRET, SIGNIN_SCOPE, trace=rec,
                                 idp=UPSTREAM_IDP)
            if "access_token" not in tokens:
                raise RuntimeError(f"federated sign-in {i}: no access_token in {list(tokens)}")
            userinfo(server.base, tokens["access_token"], rec)
            return None

        if upstream:
            # The same people twice: first their accounts are made, then they come back.
            run("federated", one_federated)
            run("federated_returning", one_federated)

        # Passkeys: each person adds one on the account page, then signs in to the app with
        # it (a first sign-in there: the consent page shows, as in `signin`).
        skipped = passkey_unavailable(server.base)
        if skipped:
            result["passkey_note"] = skipped
            print(f"awscalls: {name}: passkey scenarios skipped: {skipped}", file=sys.stderr)
        else:
            import passkey as pk  # infra/bench/passkey.py

            keys: list = []

            def one_enrol(i: int, rec: Recorder):
                key = pk.Authenticator()
                pk.enrol(server.base, f"{PASSKEY_USER}-{i}", PASSWORD, key, trace=rec)
                keys.append(key)
                return None

            def one_passkey_signin(i: int, rec: Recorder):
                tokens = flow.signin(server.base, CLIENT_ID, REDIRECT_URI, "", "",
                                     CLIENT_SECRET, SIGNIN_SCOPE, trace=rec,
                                     passkey=keys[i].get_for(pk.origin_of(server.base)))
                for k in ("access_token", "id_token", "refresh_token"):
                    if k not in tokens:
                        raise RuntimeError(f"passkey sign-in {i}: no {k} in {list(tokens)}")
                userinfo(server.base, tokens["access_token"], rec)
                return None

            run("passkey_enrol", one_enrol)
            run("passkey_signin", one_passkey_signin)

        # Authenticator apps: each person turns one on, then (after one wait for the next
        # time step) signs in to the app with a code, then again with a recovery code.
        skipped = totp_unavailable(server.base)
        if not skipped:
            skipped = measure_totp(server.base, run, result)
        if skipped:
            result["totp_note"] = skipped
            print(f"awscalls: {name}: authenticator-app scenarios skipped: {skipped}",
                  file=sys.stderr)
        result["operations"] = ops
    finally:
        server.stop()
        if upstream:
            upstream.stop()
    return result


def measure_totp(base: str, run, result: dict) -> str | None:
    """`totp_enrol`, the wait, `totp_signin` and `recovery_signin` through `run`; the reason
    they could not run (None: they ran)."""
    import signin as flow
    import totp as tp  # infra/bench/totp.py
    from passkey import b64url_decode as pk_b64url_decode

    apps: list = []

    def one_enrol(i: int, rec: Recorder):
        apps.append(tp.enrol(base, f"{TOTP_USER}-{i}", PASSWORD, trace=rec))
        return None

    def signin_with(kind: str):
        def one(i: int, rec: Recorder):
            app = apps[i]
            field = app.code_field if kind == "code" else app.recovery_field
            tokens = flow.signin(base, CLIENT_ID, REDIRECT_URI, f"{TOTP_USER}-{i}", PASSWORD,
                                 CLIENT_SECRET, SIGNIN_SCOPE, trace=rec, second_factor=field)
            for k in ("access_token", "id_token", "refresh_token"):
                if k not in tokens:
                    raise RuntimeError(f"{kind} sign-in {i}: no {k} in {list(tokens)}")
            # The ID token says how (README: ["pwd","otp","mfa"]; ["pwd","mfa"] for a
            # recovery code): the second factor was checked, not skipped.
            claims = json.loads(pk_b64url_decode(tokens["id_token"].split(".")[1]))
            if "mfa" not in claims.get("amr", []):
                raise RuntimeError(f"{kind} sign-in {i}: amr {claims.get('amr')} has no mfa")
            userinfo(base, tokens["access_token"], rec)
            return None
        return one

    try:
        run("totp_enrol", one_enrol)
    except tp.NoTotp as e:
        return f"this build has no authenticator app: {e}"
    # Every person's confirming code is spent (RFC 6238 §5.2): one wait, for everyone.
    waited = tp.wait_for_step_after(max(app.enrol_step for app in apps))
    result["totp_wait_s"] = round(waited, 1)
    print(f"awscalls: waited {waited:.1f} s for the next TOTP time step", file=sys.stderr)
    run("totp_signin", signin_with("code"))
    run("recovery_signin", signin_with("recovery"))
    return None


def totp_unavailable(base: str) -> str | None:
    """Why the authenticator-app scenarios cannot run here (None: they may; a build whose
    account page has no authenticator app is found out at the first enrolment)."""
    if os.environ.get("AWSCALLS_TOTP", "1") == "0":
        return "skipped (AWSCALLS_TOTP=0)"
    import passkey as pk

    if not pk.has_account_page(base):
        return "this build has no account page (GET /account answered 404)"
    return None


def passkey_unavailable(base: str) -> str | None:
    """Why the passkey scenarios cannot run here (None: they can)."""
    if os.environ.get("AWSCALLS_PASSKEY", "1") == "0":
        return "skipped (AWSCALLS_PASSKEY=0)"
    try:
        import cryptography  # noqa: F401  (the software passkey's P-256 key)
    except ImportError:
        return f"`cryptography` is not installed for {sys.executable}"
    import passkey as pk

    if not pk.has_account_page(base):
        return "this build has no account page (GET /account answered 404)"
    return None


# --- analysis -----------------------------------------------------------------------------------


def overlap_groups(calls: list) -> list[list]:
    """Calls whose lifetimes [arrival, end] overlap at the proxy, merged: each group is one
    round trip on the caller's critical path."""
    groups: list[list] = []
    end = -1.0
    for c in sorted(calls, key=lambda c: c["arrival"]):
        if groups and c["arrival"] < end:
            groups[-1].append(c)
            end = max(end, c["end"])
        else:
            groups.append([c])
            end = c["end"]
    return groups


def counts(calls: list) -> dict:
    out: dict = {}
    for c in calls:
        if c["service"] in ("dynamodb", "kms"):
            key = f"{c['service']}:{c['op']}"
            out[key] = out.get(key, 0) + 1
    return out


def request_units(c: dict) -> tuple[float, float]:
    """(RRU, WRU) of one DynamoDB call, from the item sizes the proxy recorded. 1 WRU per KB
    written (the larger of the item before and after), 1 RRU per 4 KB read strongly
    consistent, half eventually consistent, twice for transactions; minimum 1 unit per item."""
    if c["service"] != "dynamodb":
        return 0.0, 0.0
    op, items = c["op"], c.get("items", [])

    def kb(n, unit):
        return max(1, math.ceil((n or 0) / unit))

    if op in ("GetItem", "BatchGetItem"):
        factor = 1.0 if c.get("consistent") else 0.5
        return sum(kb(i.get("size_before"), 4096) * factor for i in items), 0.0
    if op == "TransactGetItems":
        return sum(2 * kb(i.get("size_before"), 4096) for i in items), 0.0
    if op in ("Query", "Scan"):
        factor = 1.0 if c.get("consistent") else 0.5
        return kb(c.get("returned_bytes"), 4096) * factor, 0.0
    if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
        factor = 2 if op == "TransactWriteItems" else 1
        wru = 0
        for i in items:
            size = max(i.get("size_before") or 0, i.get("size_after") or 0,
                       i.get("request_item_size") or 0)
            wru += factor * kb(size, 1024)
        return 0.0, float(wru)
    return 0.0, 0.0


def kms_class(c: dict, mode_class: str) -> str:
    """Which KMS price a call pays: symmetric, rsa2048, or asymmetric_other (ECC)."""
    op = c["op"]
    if op in ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
              "ReEncrypt"):
        return "symmetric"
    alg = c.get("signing_algorithm", "")
    if alg.startswith("ECDSA"):
        return "asymmetric_other"
    if alg.startswith("RSASSA"):
        return "rsa2048"
    return mode_class


def label(c: dict) -> str:
    """`GetItem:client`, `TransactWriteItems:refresh+refresh`, `Sign`."""
    kinds = [i.get("kind") or "?" for i in c.get("items", [])]
    return c["op"] + (":" + "+".join(kinds) if kinds else "")


def critical_path(groups: list) -> str:
    return " → ".join(" ‖ ".join(label(c) for c in g) for g in groups) or "–"


def multiset_diff(a: list, b: list) -> list:
    """Items of `a` not matched in `b` (with multiplicity)."""
    rest = list(b)
    out = []
    for x in a:
        if x in rest:
            rest.remove(x)
        else:
            out.append(x)
    return out


def summarize_request(req: dict, mode_class: str) -> dict:
    calls = [c for c in req["calls"] if c["service"] in ("dynamodb", "kms")]
    groups = overlap_groups(calls)
    ddb = [c for c in calls if c["service"] == "dynamodb"]
    signs = [c for c in calls if c["service"] == "kms" and c["op"] == "Sign"]
    rru = wru = 0.0
    for c in ddb:
        r, w = request_units(c)
        rru, wru = rru + r, wru + w
    kms: dict = {}
    for c in calls:
        if c["service"] == "kms":
            k = kms_class(c, mode_class)
            kms[k] = kms.get(k, 0) + 1
    return {
        "step": req["step"],
        "method": req["method"],
        "path": req["path"],
        "status": req["status"],
        "counts": counts(calls),
        "round_trips": len(groups),
        # Sequential waits that are DynamoDB's alone (a DynamoDB call alongside a KMS call the
        # request makes anyway adds no wait of its own unless it is the slower one).
        "ddb_round_trips": sum(1 for g in groups if all(c["service"] == "dynamodb" for c in g)),
        "rounds_with_ddb": sum(1 for g in groups if any(c["service"] == "dynamodb" for c in g)),
        "critical_path": critical_path(groups),
        "labels": sorted(label(c) for c in calls),
        "signs": len(signs),
        "signs_concurrent": len(signs) >= 2 and len(overlap_groups(signs)) == 1,
        "get_public_key": sum(1 for c in calls if c["op"] == "GetPublicKey"),
        "rru": rru,
        "wru": wru,
        "kms": kms,
        "cpu_ms": req["cpu_ms"],
        "wall_ms": req["wall_ms"],
        "kinds": sorted({f"{c['op']}:{i.get('kind')}" for c in ddb for i in c.get("items", [])}),
    }


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return 0.0
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def summarize_op(op: dict, mode_class: str) -> dict:
    """Per step of the operation: the measured runs' counts (and whether they all agreed),
    median CPU; the warm-up's counts where they differ."""
    runs = [[summarize_request(r, mode_class) for r in run] for run in op["runs"]]
    warm = [summarize_request(r, mode_class) for r in op["warmup"]]
    shape = [r["step"] for r in runs[0]] if runs else []
    steps = []
    for i, name in enumerate(shape):
        per = [run[i] for run in runs if i < len(run) and run[i]["step"] == name]
        first = per[0]
        same = all(p["labels"] == first["labels"] and p["round_trips"] == first["round_trips"]
                   and p["ddb_round_trips"] == first["ddb_round_trips"] for p in per)
        step = dict(first)
        step["cpu_ms"] = median([p["cpu_ms"] for p in per])
        step["cpu_ms_all"] = [p["cpu_ms"] for p in per]
        step["wall_ms"] = median([p["wall_ms"] for p in per])
        step["rru"] = sum(p["rru"] for p in per) / len(per)
        step["wru"] = sum(p["wru"] for p in per) / len(per)
        step["signs_concurrent"] = all(p["signs_concurrent"] for p in per)
        step["get_public_key"] = max(p["get_public_key"] for p in per)
        step["consistent_across_runs"] = same
        if not same:
            step["variants"] = sorted({p["critical_path"] for p in per})
        if i < len(warm) and warm[i]["step"] == name:
            extra = multiset_diff(warm[i]["labels"], first["labels"])
            missing = multiset_diff(first["labels"], warm[i]["labels"])
            if extra or missing:
                step["warmup_extra"], step["warmup_missing"] = extra, missing
        steps.append(step)
    warm_shape = [w["step"] for w in warm]
    return {"steps": steps, "runs": len(runs), "warmup_shape_differs": warm_shape != shape,
            "warmup_steps": warm if warm_shape != shape else None, "process": op["process"]}


def analyze(data: dict) -> dict:
    out = {}
    for name, mode in data["modes"].items():
        cls = mode["key_class"]
        ops = {k: summarize_op(v, cls) for k, v in mode["operations"].items()}
        startup = [c for c in mode["startup"] if c["service"] in ("dynamodb", "kms")]
        out[name] = {"startup_counts": counts(startup), "ops": ops}
    return out


# --- template.yaml: which function serves a path, and its memory ---------------------------


def template_functions(path: str) -> dict:
    """{(METHOD, /path): (function, memory_mb)} from template.yaml's HttpApi events, with
    parameter defaults resolved; only the shapes this template uses are understood."""
    with open(path) as f:
        text = f.read()
    params = {}
    for m in re.finditer(r"^  (\w+):\n((?:    .*\n)+)", text.split("\nConditions:")[0], re.M):
        d = re.search(r"^    Default: *\"?([^\"\n]*)\"?", m.group(2), re.M)
        if d:
            params[m.group(1)] = d.group(1).strip()

    def resolve(v: str) -> int | None:
        v = v.strip()
        ref = re.match(r"!Ref +(\w+)", v)
        if ref:
            v = params.get(ref.group(1), "")
        return int(v) if v.isdigit() else None

    globals_mem = re.search(r"^Globals:\n(?:.*\n)*?    MemorySize: *(.+)$", text, re.M)
    default_mem = resolve(globals_mem.group(1)) if globals_mem else None
    routes = {}
    resources = text.split("\nResources:\n", 1)[-1]
    for block in re.split(r"\n(?=  \w+:\n)", resources):
        if "Type: AWS::Serverless::Function" not in block:
            continue
        binary = re.search(r"Binary: *(\w+)", block)
        name = binary.group(1) if binary else block.strip().split(":")[0]
        mem = re.search(r"^      MemorySize: *(.+)$", block, re.M)
        memory = resolve(mem.group(1)) if mem else default_mem
        for ev in re.finditer(r"Method: *(\w+), *Path: *([^\s}]+)", block):
            routes[(ev.group(1).upper(), ev.group(2))] = (name, memory or 128)
    return routes


# --- markdown ---------------------------------------------------------------------------------


FEDERATED_TITLE = (
    "First federated sign-in (authorize with `idp=` → federation start → the person signs in "
    "at the upstream, which makes no AWS call → federation callback, where the account is made "
    "just in time → consent page → consent → token → userinfo; one new upstream person per run)")
FEDERATED_RETURNING_TITLE = (
    "Returning federated sign-in (the same people again, each in a new browser: their "
    "accounts are linked already; the consent page shows as after every interactive sign-in "
    "to this client)")


FEDERATED_NOTE = (
    "Federated sign-ins: the upstream is a second `oidc-local` (embedded backend) on "
    "`{upstream_host}`, registered with `oidc-admin providers create`, its client secret sealed "
    "under a KMS key of its own (`FEDERATION_SECRETS_KEY`). The person's requests to the "
    "upstream make no AWS call and are not listed. The callback also waits on the upstream, "
    "which the table does not show: in the order of "
    "`shared/src/endpoints/federation/callback.rs`, DeleteItem:fedstate → GetItem:authreq ‖ "
    "GetItem:providers → (**discovery** ‖ Decrypt) → (**token** ‖ **key set**) → GetItem:link → "
    "(first: TransactWriteItems:link+user+username+email; returning: GetItem:user) → "
    "TransactWriteItems:session+authreq. The discovery document and key set are cached per "
    "container (`federation::upstream::cache`), so a warm container waits on the token "
    "endpoint only; `/federation/start` fetches the discovery document while it writes the "
    "attempt. The federated sign-ins are not priced below: the function is billed while it "
    "waits on the upstream, for which the duration model has no term.\n")


PASSKEY_ENROL_TITLE = (
    "Adding a passkey (informational: the account page, where the person signs in with their "
    "password (the account page's own sign-in: no client, no consent), is shown again, then "
    "\"Add a passkey\" (the creation options) → the new credential; one new person per run)")
PASSKEY_SIGNIN_TITLE = (
    "First sign-in with a passkey (as the first sign-in above, with the sign-in page's passkey "
    "form: authorize, which shows the sign-in form → passkey → consent page → consent → token "
    "→ userinfo; each person of the enrolment above, in a new browser)")

PASSKEY_NOTE = (
    "Passkeys: the provider's issuer is `http://localhost:PORT` (a host name: WebAuthn refuses "
    "an IP address as RP ID) for the whole run. The authenticator is a software one "
    "(`infra/bench/passkey.py`): an ES256 (P-256) key pair, `none` attestation, flags UP, UV, "
    "BE and BS (a synced passkey), a counter that goes up by one per use; it posts what a "
    "browser posts (`RegistrationResponseJSON`, `AuthenticationResponseJSON`), so the provider "
    "verifies all it verifies for a browser. Adding a passkey is informational (no bound); the "
    "passkey sign-in is compared with the password sign-in request by request, and its "
    "`POST /login/passkey` is checked against `POST /login` in the round-trip bounds.\n")


TOTP_ENROL_TITLE = (
    "Turning on an authenticator app (informational: the account page, where the person signs "
    "in with their password, is shown again, then \"Set up an authenticator app\" (the page with "
    "a new secret) → the secret back with a code from the app (it is sealed and stored, ten "
    "recovery codes shown); one new person per run)")
TOTP_SIGNIN_TITLE = (
    "First sign-in with a password and an authenticator app (as the first sign-in above, with "
    "the code page after the password: authorize, which shows the sign-in form → credentials → "
    "code page → code → consent page → consent → token → userinfo; each person of the "
    "enrolment above, in a new browser)")
RECOVERY_SIGNIN_TITLE = (
    "Sign-in with a password and a recovery code (as the sign-in with the app, the code page's "
    "\"Use a recovery code\" link followed: … → code page → recovery code page → recovery code "
    "→ consent page → …; the same people again, each in a new browser)")

TOTP_NOTE = (
    "Authenticator apps: the app is `infra/bench/totp.py` (RFC 6238: HMAC-SHA-1, 6 digits, "
    "30-second steps). The provider seals each TOTP secret under `FEDERATION_SECRETS_KEY`, a "
    "symmetric KMS key made on moto (the federation scenarios' key when they run): turning an "
    "app on encrypts the secret, a code sign-in decrypts it; a recovery code is checked against "
    "stored digests, without KMS. The code that turned the app on is spent (RFC 6238 §5.2: the "
    "provider refuses a code of a step at or below the last one used), so after all the "
    "enrolments the run waited once for the next time step{wait}. The recovery-code sign-ins "
    "are the same people's second sign-in to the app, in new browsers (the consent page shows "
    "again, as for the returning federated sign-in). Turning an app on is informational (no bound); both sign-ins are "
    "compared with the password sign-in request by request.\n")


def fmt_counts(c: dict, service: str) -> str:
    items = sorted((k.split(":", 1)[1], v) for k, v in c.items() if k.startswith(service + ":"))
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in items) or "–"


def pf(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def render_awscalls(data: dict, an: dict) -> str:
    L = []
    L.append("## AWS calls per operation\n")
    L.append(
        f"Counted at the emulator's boundary: `oidc-local --backend aws` "
        f"({data['profile']} build, the real AWS SDK) against moto through "
        "`infra/moto_serial.py` with `MOTO_COUNT=1`, which records every DynamoDB and KMS "
        "request with its arrival time (taken before moto's one-request-at-a-time lock, so "
        "calls the provider makes concurrently have overlapping lifetimes) and completion time. "
        f"Each operation ran once to warm up, then {data['repeat']} times; the tables show the "
        "measured runs (all runs agreed unless marked). *Round trips* = groups of calls whose "
        "lifetimes overlap, i.e. sequential waits on the request's critical path. Generated "
        f"{data['generated']} by `infra/bench/awscalls.sh` in {data.get('measure_seconds', 0):.0f} s "
        f"(raw data: `target/bench/awscalls.json`); the emulator added "
        f"{data.get('latency_ms', 0):g} ms of latency to every call.\n")
    for name, mode in data["modes"].items():
        a = an[name]
        L.append(f"### {name}: {', '.join(mode['signing_keys'])}\n")
        start = [c for c in mode["startup"] if c["service"] in ("dynamodb", "kms")]
        L.append("Process start (cold start, before the first request): "
                 + (critical_path(overlap_groups(start)) if start else "no AWS calls") + ".\n")
        for op, s in a["ops"].items():
            title = {"signin": "First sign-in (authorize, which shows the sign-in form → "
                               "credentials → consent page → consent → token → userinfo)",
                     "refresh": "refresh_token grant",
                     "client_credentials": "client_credentials grant",
                     "federated": FEDERATED_TITLE,
                     "federated_returning": FEDERATED_RETURNING_TITLE,
                     "passkey_enrol": PASSKEY_ENROL_TITLE,
                     "passkey_signin": PASSKEY_SIGNIN_TITLE,
                     "totp_enrol": TOTP_ENROL_TITLE,
                     "totp_signin": TOTP_SIGNIN_TITLE,
                     "recovery_signin": RECOVERY_SIGNIN_TITLE}.get(op, op)
            L.append(f"**{title}**, per HTTP request:\n")
            L.append("| step | request | DynamoDB calls | KMS calls | round trips "
                     "| critical path (op:item kind; ‖ concurrent, → then) | RRU | WRU | CPU ms |")
            L.append("|---|---|---|---|---|---|---|---|---|")
            tot: dict = {}
            rt = ddb_rt = 0
            rru = wru = cpu = 0.0
            for st in s["steps"]:
                for k, v in st["counts"].items():
                    tot[k] = tot.get(k, 0) + v
                rt += st["round_trips"]
                ddb_rt += st["ddb_round_trips"]
                rru += st["rru"]
                wru += st["wru"]
                cpu += st["cpu_ms"]
                mark = "" if st["consistent_across_runs"] else (
                    " ⚠ runs differed: " + " / ".join(st["variants"]))
                warm = ""
                if st.get("warmup_extra") or st.get("warmup_missing"):
                    warm = " (warm-up run also: " + (", ".join(st["warmup_extra"]) or "–")
                    warm += (", without: " + ", ".join(st["warmup_missing"])) if st["warmup_missing"] else ""
                    warm += ")"
                L.append(
                    f"| {st['step']} | `{st['method']} {st['path']}` → {st['status']} | "
                    f"{fmt_counts(st['counts'], 'dynamodb')}{warm} | "
                    f"{fmt_counts(st['counts'], 'kms')} | {st['round_trips']} | "
                    f"{st['critical_path']}{mark} | {st['rru']:g} | {st['wru']:g} | {st['cpu_ms']:.2f} |")
            nd = sum(v for k, v in tot.items() if k.startswith("dynamodb:"))
            nk = sum(v for k, v in tot.items() if k.startswith("kms:"))
            L.append(
                f"| **total** | {len(s['steps'])} requests | **{nd}**: {fmt_counts(tot, 'dynamodb')} | "
                f"**{nk}**: {fmt_counts(tot, 'kms')} | {rt} | | {rru:g} | {wru:g} | {cpu:.2f} |")
            if s["warmup_shape_differs"]:
                L.append(f"\nThe warm-up made different requests: "
                         f"{[w['step'] for w in s['warmup_steps']]}.")
            L.append("")
        L.extend(passkey_comparison(a, name))
        L.extend(totp_comparison(a, name))
        # goals
        L.append(f"**Token endpoint goals ({name})**\n")
        L.append("| grant | critical path | round trips | of which DynamoDB only | DynamoDB calls "
                 "| KMS Sign calls, concurrent? | GetPublicKey per token | KMS calls per token |")
        L.append("|---|---|---|---|---|---|---|---|")
        goal_rows = []
        for op in ("signin", "refresh", "client_credentials"):
            s = a["ops"].get(op)
            if not s:
                continue
            for st in s["steps"]:
                if st["step"] != "token":
                    continue
                nd = sum(v for k, v in st["counts"].items() if k.startswith("dynamodb:"))
                nk = sum(v for k, v in st["counts"].items() if k.startswith("kms:"))
                conc = ("yes" if st["signs_concurrent"] else "no") if st["signs"] >= 2 else "n/a"
                grant = {"signin": "authorization_code"}.get(op, op)
                L.append(f"| {grant} | {st['critical_path']} | {st['round_trips']} | "
                         f"{st['ddb_round_trips']} | {nd} | {st['signs']}, {conc} | "
                         f"{st['get_public_key']} | {nk} |")
                goal_rows.append((op, st))
        L.append("")
        code = next((st for op, st in goal_rows if op == "signin"), None)
        if code:
            alongside = code["rounds_with_ddb"] - code["ddb_round_trips"]
            L.append(f"- {pf(code['ddb_round_trips'] == 1)} token exchange (authorization_code) "
                     f"in exactly one DynamoDB round trip on its critical path: measured "
                     f"{code['ddb_round_trips']} DynamoDB-only round trip(s) of "
                     f"{code['round_trips']} in all"
                     + (f"; {alongside} more round trip(s) carry DynamoDB calls alongside KMS "
                        "(they add no wait while KMS is the slower)" if alongside else "") + ".")
            if code["signs"] >= 2:
                L.append(f"- {code['signs']} KMS Sign calls, "
                         f"{'overlapping' if code['signs_concurrent'] else 'one after the other'}: "
                         "the ID token carries the access token's `at_hash` (OIDC Core "
                         "§3.1.3.6), so it is signed after it.")
            else:
                L.append(f"- {code['signs']} KMS Sign call(s) per token.")
            gpk = max(st["get_public_key"] for _, st in goal_rows)
            L.append(f"- {pf(gpk == 0)} zero GetPublicKey per token (any grant): measured {gpk}.")
            if mode.get("envelope"):
                kms_per_token = max(sum(v for k, v in st["counts"].items() if k.startswith("kms:"))
                                    for _, st in goal_rows)
                L.append(f"- {pf(kms_per_token == 0)} envelope mode: zero KMS calls per token "
                         f"after cold start: measured {kms_per_token}.")
        L.append("")
        L.extend(signin_bounds(a, name))
    if not any(m.get("envelope") for m in data["modes"].values()):
        L.append("Envelope signing (a KMS-wrapped private key decrypted once per container, goal: "
                 "zero KMS calls per token after cold start) is **not measured**: "
                 f"{data.get('envelope_note', 'not available in this build')}.\n")
    if any("federated" in m.get("operations", {}) for m in data["modes"].values()):
        # Runs before the passkey scenarios had the provider on 127.0.0.1, the upstream on localhost.
        upstream_host = "127.0.0.1" if data.get("issuer_host") == "localhost" else "localhost"
        L.append(FEDERATED_NOTE.replace("{upstream_host}", upstream_host))
    if any("passkey_signin" in m.get("operations", {}) for m in data["modes"].values()):
        L.append(PASSKEY_NOTE)
    notes = {m["passkey_note"] for m in data["modes"].values()
             if m.get("passkey_note") and "passkey_signin" not in m.get("operations", {})}
    if notes:
        L.append("The passkey scenarios (adding a passkey, a first sign-in with it) are **not "
                 f"measured**: {'; '.join(sorted(notes))}.\n")
    if any("totp_signin" in m.get("operations", {}) for m in data["modes"].values()):
        waits = [m["totp_wait_s"] for m in data["modes"].values() if "totp_wait_s" in m]
        wait = (" (" + ", ".join(f"{w:g} s" for w in waits) + ")") if waits else ""
        L.append(TOTP_NOTE.replace("{wait}", wait))
    notes = {m["totp_note"] for m in data["modes"].values()
             if m.get("totp_note") and "totp_signin" not in m.get("operations", {})}
    if notes:
        L.append("The authenticator-app scenarios (turning one on, a sign-in with a code, one "
                 f"with a recovery code) are **not measured**: {'; '.join(sorted(notes))}.\n")
    L.append(
        "Notes. `oidc-local` serves every endpoint from one process with one KMS signer, so "
        "key material fetched once serves all endpoints; on Lambda each function container "
        "does its own start-up work (see `shared/src/lambda.rs`). RRU/WRU are computed from the "
        "item sizes recorded at the proxy (DynamoDB's sizing rules: attribute names + values; "
        "the larger of the item before and after a write; 1 WRU per KB, 1 RRU per 4 KB "
        "strongly consistent, ½ eventually consistent, ×2 in transactions, at least 1 unit per "
        "item, conditional writes that fail still pay). CPU ms = CPU time of all the "
        "server's threads during the request (`/proc/<pid>/task/*/schedstat`), median of the "
        f"runs, on this machine ({os.cpu_count()} cores, x86_64), SDK calls over plain HTTP to "
        "the emulator (no TLS).\n")
    return "\n".join(L)


# The sequential AWS round trips a first sign-in may wait through (issue 13): per request,
# (all round trips, DynamoDB-only round trips) at most; None: not bounded on its own.
SIGNIN_BOUNDS = {
    "sign-in page": (1, 1),
    "credentials": (2, 2),
    "consent page": (1, 1),
    "consent": (2, 2),
    "token": (None, 1),
    "userinfo": (1, 1),
}
SIGNIN_TOTAL = 11
REFRESH_DDB = 2


def signin_bounds(a: dict, name: str) -> list[str]:
    """PASS/MISS lines for the round-trip bounds of a first sign-in and a refresh."""
    L = [f"**Round-trip bounds ({name})**: KMS Signs that overlap count as one round trip.\n"]
    signin = a["ops"].get("signin")
    if signin:
        total = 0
        for st in signin["steps"]:
            total += st["round_trips"]
            bound = SIGNIN_BOUNDS.get(st["step"])
            if not bound:
                continue
            (all_max, ddb_max) = bound
            ok = st["ddb_round_trips"] <= ddb_max and (all_max is None or st["round_trips"] <= all_max)
            what = (f"≤ {all_max} round trip(s)" if all_max is not None
                    else f"{ddb_max} DynamoDB round trip + KMS")
            L.append(f"- {pf(ok)} {st['step']} (`{st['method']} {st['path']}`) {what}: measured "
                     f"{st['round_trips']} ({st['ddb_round_trips']} DynamoDB only).")
        shown = [st["step"] for st in signin["steps"]]
        if "sign-in page" not in shown:
            L.append("- n/a sign-in page: `/authorize` shows the form itself (its round trips "
                     "are the authorize step's).")
        L.append(f"- {pf(total <= SIGNIN_TOTAL)} a first sign-in in at most {SIGNIN_TOTAL} "
                 f"sequential round trips in all: measured {total}.")
    refresh = a["ops"].get("refresh")
    if refresh:
        st = next((st for st in refresh["steps"] if st["step"] == "token"), None)
        if st:
            L.append(f"- {pf(st['ddb_round_trips'] <= REFRESH_DDB)} refresh in at most "
                     f"{REFRESH_DDB} DynamoDB round trips + KMS: measured "
                     f"{st['ddb_round_trips']} ({st['round_trips']} in all).")
    L.extend(passkey_bounds(a))
    L.extend(totp_bounds(a))
    L.append("")
    return L


def step_totals(steps: list) -> dict:
    """Calls and sequential round trips of a whole operation."""
    tot = {"requests": len(steps), "ddb": 0, "kms": 0, "round_trips": 0, "ddb_round_trips": 0}
    for st in steps:
        tot["ddb"] += sum(v for k, v in st["counts"].items() if k.startswith("dynamodb:"))
        tot["kms"] += sum(v for k, v in st["counts"].items() if k.startswith("kms:"))
        tot["round_trips"] += st["round_trips"]
        tot["ddb_round_trips"] += st["ddb_round_trips"]
    return tot


def passkey_step(steps: list, name: str) -> dict | None:
    return next((st for st in steps if st["step"] == name), None)


# What POST /login/totp waits through, from shared/src/endpoints/login/totp.rs: the sign-in
# read (request, person, counters, factors) → KMS Decrypt of the sealed secret → the sign-in
# write (session, request, factors, counters); a recovery code needs no Decrypt.
TOTP_CODE_EXPECTED = 3
RECOVERY_CODE_EXPECTED = 2


def totp_bounds(a: dict) -> list[str]:
    """Informational: the sign-ins with an authenticator app and with a recovery code in all,
    and their POST /login/totp, against what the code leads one to expect."""
    pw, app, rec = (a["ops"].get(k) for k in ("signin", "totp_signin", "recovery_signin"))
    if not app:
        return []

    def said(st, expected):
        if st is None:
            return "not measured"
        return (f"{st['round_trips']} ({st['ddb_round_trips']} DynamoDB only: "
                f"{st['critical_path']}; expected {expected}"
                + (", as measured" if st["round_trips"] == expected else ", **differs**") + ")")

    t_app = step_totals(app["steps"])
    line = (f"- (informational) a first sign-in with a password and an authenticator app in "
            f"all: {t_app['round_trips']} sequential round trips, {t_app['ddb'] + t_app['kms']} "
            "AWS calls")
    if rec:
        t_rec = step_totals(rec["steps"])
        line += (f"; with a recovery code: {t_rec['round_trips']}, "
                 f"{t_rec['ddb'] + t_rec['kms']}")
    if pw:
        t_pw = step_totals(pw["steps"])
        line += f"; with a password alone: {t_pw['round_trips']}, {t_pw['ddb'] + t_pw['kms']}"
    L = [line + "."]
    code = passkey_step(app["steps"], "code")
    L.append(f"- (informational) `POST /login/totp` with a code from the app: "
             f"{said(code, TOTP_CODE_EXPECTED)}"
             + (f"; with a recovery code: "
                f"{said(passkey_step(rec['steps'], 'recovery code'), RECOVERY_CODE_EXPECTED)}"
                if rec else "") + ".")
    return L


def passkey_bounds(a: dict) -> list[str]:
    """The passkey sign-in against the password sign-in: POST /login/passkey may wait through
    no more sequential AWS round trips than POST /login; the whole flows side by side."""
    pw, pk = a["ops"].get("signin"), a["ops"].get("passkey_signin")
    if not (pw and pk):
        return []
    L = []
    cred, pkst = passkey_step(pw["steps"], "credentials"), passkey_step(pk["steps"], "passkey")
    if cred and pkst:
        ok = pkst["round_trips"] <= cred["round_trips"]
        L.append(f"- {pf(ok)} passkey sign-in (`POST /login/passkey`) in no more sequential "
                 f"round trips than the password sign-in (`POST /login`): measured "
                 f"{pkst['round_trips']} ({pkst['ddb_round_trips']} DynamoDB only) against "
                 f"{cred['round_trips']} ({cred['ddb_round_trips']} DynamoDB only).")
    t_pw, t_pk = step_totals(pw["steps"]), step_totals(pk["steps"])
    L.append(f"- (informational) a first sign-in with a passkey in all: {t_pk['round_trips']} "
             f"sequential round trips, {t_pk['ddb'] + t_pk['kms']} AWS calls; with a password: "
             f"{t_pw['round_trips']}, {t_pw['ddb'] + t_pw['kms']}.")
    return L


def passkey_comparison(a: dict, name: str) -> list[str]:
    """The first sign-in with a password and with a passkey, request by request."""
    pw, pk = a["ops"].get("signin"), a["ops"].get("passkey_signin")
    if not (pw and pk):
        return []
    return flow_comparison(
        pw, pk, f"Password vs passkey: a first sign-in ({name})", "passkey",
        "the passkey sign-in's round trips less the password sign-in's",
        same={"passkey": "credentials"})  # the two sign-in posts are the same step of the flow


def totp_comparison(a: dict, name: str) -> list[str]:
    """The first sign-in with a password alone, and with a password and an authenticator
    app (and a recovery code), request by request."""
    pw = a["ops"].get("signin")
    L = []
    for op, what, col in (("totp_signin", "password and authenticator app", "app"),
                          ("recovery_signin", "password and recovery code", "recovery")):
        other = a["ops"].get(op)
        if pw and other:
            L.extend(flow_comparison(
                pw, other, f"Password vs {what}: a sign-in ({name})", col,
                f"the {what} sign-in's round trips less the password sign-in's"))
    return L


def flow_comparison(pw: dict, other: dict, title: str, col: str, difference: str,
                    same: dict | None = None) -> list[str]:
    """Two sign-ins side by side, request by request: the password sign-in (`pw`) and
    `other`, their steps aligned by name (`same` renames `other`'s steps to the password
    sign-in's where they are the same step of the flow)."""
    import difflib

    same = same or {}

    def key(st):
        return same.get(st["step"], st["step"])

    def cells(st):
        if st is None:
            return "–", "–", "–"
        nd = sum(v for k, v in st["counts"].items() if k.startswith("dynamodb:"))
        nk = sum(v for k, v in st["counts"].items() if k.startswith("kms:"))
        mark = "" if st["consistent_across_runs"] else " ⚠"
        return (f"`{st['method']} {st['path']}`", f"{nd} + {nk}",
                f"{st['round_trips']} ({st['ddb_round_trips']}){mark}")

    def diff(x, y):
        if x is None or y is None:
            return "–"
        d = y["round_trips"] - x["round_trips"]
        return "same" if d == 0 else f"{d:+d}"

    L = [f"**{title}**, per HTTP request (calls: "
         "DynamoDB + KMS; round trips: sequential, in brackets those of DynamoDB only; "
         f"difference: {difference}; ⚠: the runs "
         "differed, the first is shown, see the tables above):\n",
         f"| step | password: request | calls | round trips | {col}: request | calls "
         "| round trips | difference |",
         "|---|---|---|---|---|---|---|---|"]
    a_steps, b_steps = pw["steps"], other["steps"]
    m = difflib.SequenceMatcher(a=[key(s) for s in a_steps], b=[key(s) for s in b_steps],
                                autojunk=False)
    pairs = []
    for tag, i1, i2, j1, j2 in m.get_opcodes():
        xs, ys = a_steps[i1:i2], b_steps[j1:j2]
        for k in range(max(len(xs), len(ys))):
            pairs.append((xs[k] if k < len(xs) else None, ys[k] if k < len(ys) else None))
    for x, y in pairs:
        step = " / ".join(dict.fromkeys(s["step"] for s in (x, y) if s))
        L.append(f"| {step} | " + " | ".join(cells(x)) + " | " + " | ".join(cells(y))
                 + f" | {diff(x, y)} |")
    t_pw, t_pk = step_totals(a_steps), step_totals(b_steps)
    d = t_pk["round_trips"] - t_pw["round_trips"]
    L.append(f"| **total** | {t_pw['requests']} requests | {t_pw['ddb']} + {t_pw['kms']} | "
             f"{t_pw['round_trips']} ({t_pw['ddb_round_trips']}) | {t_pk['requests']} requests | "
             f"{t_pk['ddb']} + {t_pk['kms']} | {t_pk['round_trips']} ({t_pk['ddb_round_trips']}) | "
             f"{'same' if d == 0 else f'{d:+d}'} |")
    L.append("")
    return L


def lambda_cost_rows(steps: list, routes: dict, variant: dict) -> tuple[float, list]:
    rows = []
    gbs = 0.0
    for st in steps:
        fn, mem = routes.get((st["method"], st["path"]), ("?", 128))
        scale = 1.0 if variant["name"] == "low" else max(1.0, FULL_VCPU_MB / mem)
        ms = math.ceil(st["cpu_ms"] * scale + st["round_trips"] * variant["rtt_ms"])
        ms = max(ms, 1)
        g = mem / 1024 * ms / 1000
        gbs += g
        rows.append((st, fn, mem, scale, ms, g))
    return gbs, rows


def op_cost(steps: list, routes: dict, variant: dict, prices: dict, log_bytes: float) -> dict:
    n = len(steps)
    rru = sum(st["rru"] for st in steps)
    wru = sum(st["wru"] for st in steps)
    kms: dict = {}
    for st in steps:
        for k, v in st["kms"].items():
            kms[k] = kms.get(k, 0) + v
    gbs, rows = lambda_cost_rows(steps, routes, variant)
    m = 1e6
    parts = {
        "API Gateway HTTP API": n * prices["apigw_http_per_million"],
        "Lambda requests": n * prices["lambda_per_million_requests"],
        "Lambda duration": gbs * m * prices["lambda_arm64_gb_second"],
        "DynamoDB reads": rru * prices["dynamodb_rru_per_million"],
        "DynamoDB writes": wru * prices["dynamodb_wru_per_million"],
        "KMS": (kms.get("symmetric", 0) * prices["kms_symmetric_per_10k"]
                + kms.get("rsa2048", 0) * prices["kms_rsa2048_per_10k"]
                + kms.get("asymmetric_other", 0) * prices["kms_asymmetric_other_per_10k"]) * 100,
        "CloudWatch Logs": (log_bytes + n * LAMBDA_PLATFORM_LOG_BYTES) * m / 1e9
        * prices["cloudwatch_logs_ingest_per_gb"],
    }
    return {"requests": n, "rru": rru, "wru": wru, "kms": kms, "gbs": gbs, "rows": rows,
            "parts": parts, "total": sum(parts.values())}


# Not the federated sign-ins: the federation function is billed while it waits on the upstream
# (discovery, token and key set over the internet), which this duration model has no term for.
COST_OPS = ("signin", "client_credentials", "refresh")


def render_cost(data: dict, an: dict) -> str:
    P = PRICES  # the current constants, so `report` re-prices a stored run
    routes = {tuple(k.split(" ", 1)): tuple(v) for k, v in data["routes"].items()}
    L = []
    L.append("## Cost\n")
    L.append("@@SUMMARY@@\n")
    L.append(
        f"Per million operations, from the counts above, at list prices ({P['region']}, "
        f"{P['as_of']}): API Gateway HTTP API ${P['apigw_http_per_million']:.2f}/million "
        f"requests; Lambda arm64 ${P['lambda_per_million_requests']:.2f}/million requests + "
        f"${P['lambda_arm64_gb_second']:.10f}/GB-second; DynamoDB on-demand "
        f"${P['dynamodb_wru_per_million']}/million WRU and ${P['dynamodb_rru_per_million']}/million "
        f"RRU (after the November 2024 cut); KMS ${P['kms_rsa2048_per_10k']:.2f}/10,000 requests on "
        f"RSA-2048 keys (Sign, GetPublicKey: RS256), ${P['kms_asymmetric_other_per_10k']:.2f}/10,000 "
        f"asymmetric requests on other keys (ECC_NIST_P256: ES256), "
        f"${P['kms_symmetric_per_10k']:.2f}/10,000 symmetric requests (Decrypt); CloudWatch Logs "
        f"${P['cloudwatch_logs_ingest_per_gb']:.2f}/GB ingested. Free tiers, the KMS keys' "
        "$1/month each, DynamoDB storage, data transfer and cold starts (init duration, start-up "
        "calls: below) are left out. The ECC price is the one figure to double-check: AWS words "
        "it as \"asymmetric requests except RSA 2048\" at 5× the symmetric price, and some "
        "third-party summaries list all asymmetric requests at $0.03; at $0.03 the ES256 rows "
        "cost the same as the RS256 ones.\n")
    L.append("**Formulas** (per operation; × 10⁶ for the tables):\n")
    L.append("```")
    L.append(f"api     = requests × ${P['apigw_http_per_million']:.2f}/10⁶   (every step is one HTTP API request)")
    L.append(f"lambda  = requests × ${P['lambda_per_million_requests']:.2f}/10⁶ + Σ_steps "
             f"(MemorySize_MB / 1024) × billed_s × ${P['lambda_arm64_gb_second']:.10f}")
    L.append("billed_ms(step) = ceil(cpu_ms × cpu_scale + round_trips × rtt_ms)")
    L.append(f"          low:  cpu_scale = 1 (the handler gets a full core),  rtt_ms = {LOW['rtt_ms']:g}")
    L.append(f"          high: cpu_scale = {FULL_VCPU_MB} / MemorySize (CPU share ∝ memory), "
             f"rtt_ms = {HIGH['rtt_ms']:g}")
    L.append(f"dynamodb = RRU × ${P['dynamodb_rru_per_million']}/10⁶ + WRU × "
             f"${P['dynamodb_wru_per_million']}/10⁶")
    L.append(f"kms     = Sign/GetPublicKey × (${P['kms_rsa2048_per_10k']:.2f} RSA-2048 | "
             f"${P['kms_asymmetric_other_per_10k']:.2f} ECC)/10⁴ + Decrypt × "
             f"${P['kms_symmetric_per_10k']:.2f}/10⁴")
    L.append(f"logs    = (application log bytes per operation (oidc-local, RUST_LOG=info) "
             f"+ {LAMBDA_PLATFORM_LOG_BYTES} B × requests (Lambda's START/END/REPORT lines, assumed)) "
             f"× ${P['cloudwatch_logs_ingest_per_gb']:.2f}/10⁹")
    L.append("```\n")
    L.append(
        "cpu_ms is the measured CPU time of the request (all threads, median, this x86_64 "
        "machine, assumed equal to one Graviton vCPU); round_trips the measured sequential AWS "
        "round trips; rtt_ms an assumed in-region DynamoDB/KMS latency over a warm connection. "
        "The local request latency against the emulator is not used (moto is far slower than "
        "DynamoDB and serialises calls). MemorySize per function from template.yaml's defaults: "
        + ", ".join(sorted({f"{fn} {mem} MB" for fn, mem in routes.values()})) + ".\n")
    summary_rows = []
    for name, mode in data["modes"].items():
        a = an[name]
        for op in COST_OPS:
            s = a["ops"].get(op)
            if not s:
                continue
            log_bytes = s["process"]["log_bytes_per_op"]
            lo = op_cost(s["steps"], routes, LOW, P, log_bytes)
            hi = op_cost(s["steps"], routes, HIGH, P, log_bytes)
            summary_rows.append((name, op, lo, hi))
    L.append("| signing | operation | HTTP requests | RRU | WRU | KMS requests | GB-s (low–high) "
             "| API GW | Lambda (low–high) | DynamoDB | KMS | Logs | **total per million (low–high)** |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    label = {"signin": "first sign-in", "client_credentials": "client_credentials token",
             "refresh": "refresh"}
    for name, op, lo, hi in summary_rows:
        kms_n = sum(lo["kms"].values())
        lam_lo = lo["parts"]["Lambda requests"] + lo["parts"]["Lambda duration"]
        lam_hi = hi["parts"]["Lambda requests"] + hi["parts"]["Lambda duration"]
        ddb = lo["parts"]["DynamoDB reads"] + lo["parts"]["DynamoDB writes"]
        L.append(
            f"| {name} | {label.get(op, op)} | {lo['requests']} | {lo['rru']:g} | {lo['wru']:g} | "
            f"{kms_n} | {lo['gbs']:.4f}–{hi['gbs']:.4f} | ${lo['parts']['API Gateway HTTP API']:.2f} | "
            f"${lam_lo:.2f}–${lam_hi:.2f} | ${ddb:.2f} | ${lo['parts']['KMS']:.2f} | "
            f"${lo['parts']['CloudWatch Logs']:.2f} | **${lo['total']:.2f}–${hi['total']:.2f}** |")
    L.append("")
    # The duration detail, once per operation (the first mode).
    first = next(iter(data["modes"]))
    L.append(f"Billed duration per step ({first}; low / high):\n")
    L.append("| operation | step | function | MB | CPU ms | round trips | billed ms low | billed ms high |")
    L.append("|---|---|---|---|---|---|---|---|")
    for op in COST_OPS:
        s = an[first]["ops"].get(op)
        if not s:
            continue
        _, lo_rows = lambda_cost_rows(s["steps"], routes, LOW)
        _, hi_rows = lambda_cost_rows(s["steps"], routes, HIGH)
        for (st, fn, mem, _, ms_lo, _), (_, _, _, _, ms_hi, _) in zip(lo_rows, hi_rows):
            L.append(f"| {label.get(op, op)} | {st['step']} | {fn} | {mem} | {st['cpu_ms']:.2f} | "
                     f"{st['round_trips']} | {ms_lo} | {ms_hi} |")
    L.append("")
    if summary_rows:
        name, op, lo, hi = summary_rows[0]
        kms_n = sum(lo["kms"].values())
        kprice = {"rsa2048": P["kms_rsa2048_per_10k"], "symmetric": P["kms_symmetric_per_10k"],
                  "asymmetric_other": P["kms_asymmetric_other_per_10k"]}
        kms_terms = " + ".join(f"{v} × 100 × {kprice[k]}" for k, v in lo["kms"].items()) or "0"
        logs = data["modes"][name] and an[name]["ops"][op]["process"]["log_bytes_per_op"]
        L.append(
            f"Worked example, {name} {label.get(op, op)}, per million: API Gateway {lo['requests']} × "
            f"1.00 = ${lo['parts']['API Gateway HTTP API']:.2f}; Lambda (low) {lo['requests']} × 0.20 + "
            f"{lo['gbs']:.4f} GB-s × 10⁶ × 0.0000133334 = "
            f"${lo['parts']['Lambda requests'] + lo['parts']['Lambda duration']:.2f}; DynamoDB "
            f"{lo['rru']:g} × 0.125 + {lo['wru']:g} × 0.625 = "
            f"${lo['parts']['DynamoDB reads'] + lo['parts']['DynamoDB writes']:.2f}; KMS "
            f"{kms_terms} = ${lo['parts']['KMS']:.2f} ({kms_n} requests); logs ({logs:.0f} + "
            f"{lo['requests']} × {LAMBDA_PLATFORM_LOG_BYTES}) B × 10⁶ × 0.50 / 10⁹ = "
            f"${lo['parts']['CloudWatch Logs']:.2f}; total ${lo['total']:.2f}.\n")
    # Cold starts: what each process start cost, once per container.
    L.append("Cold start (once per container, not in the figures above): the process start "
             "made, per mode, "
             + "; ".join(
                 f"{name}: " + (critical_path(overlap_groups(
                     [c for c in mode["startup"] if c["service"] in ("dynamodb", "kms")])))
                 + (" (its KMS Decrypt came with the first token instead: "
                    "`oidc-local` decrypts lazily)" if mode.get("envelope") else "")
                 for name, mode in data["modes"].items())
             + ". On Lambda the token function starts this in its init phase without waiting "
             "for it (its first signature does); jwks reads the "
             "published key set (one GetItem, `keys`) on its first request, and does this too "
             "only when that set is another configuration's; the verifying functions read the "
             "published key set on their first request and every 5 minutes (`KEY_SET_MAX_AGE`, "
             "shared/src/signer/published.rs). "
             "At these prices a cold start's AWS calls cost well under $0.00001.\n")
    # The one-line summary at the top.
    by = {(n, o): (lo, hi) for n, o, lo, hi in summary_rows}
    parts = []
    for op in COST_OPS:
        cells = [f"{n.upper() if n != 'envelope' else 'envelope'} ${by[(n, op)][0]['total']:.2f}–"
                 f"${by[(n, op)][1]['total']:.2f}" for n in data["modes"] if (n, op) in by]
        if cells:
            parts.append(f"**{label.get(op, op)}**: " + ", ".join(cells))
    summary = ("Per million operations (low–high duration estimate): " + "; ".join(parts) + ".")
    return "\n".join(L).replace("@@SUMMARY@@", summary)


# --- entry points -------------------------------------------------------------------------------


def cmd_run(a) -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("awscalls.py run: AWS_ENDPOINT_URL is not set (run it under "
              "MOTO_COUNT=1 infra/with-moto.sh)", file=sys.stderr)
        return 2
    try:
        calls_get(endpoint)
    except urllib.error.HTTPError:
        print("awscalls.py run: the emulator does not count calls (start it with MOTO_COUNT=1)",
              file=sys.stderr)
        return 2
    modes_all = {
        "rs256": {"name": "rs256", "signing_keys": ["alias/awscalls-rs256"], "alg": "rs256",
                  "jose_alg": "RS256", "key_class": "rsa2048"},
        "es256": {"name": "es256", "signing_keys": ["alias/awscalls-es256"], "alg": "es256",
                  "jose_alg": "ES256", "key_class": "asymmetric_other"},
    }
    if a.envelope_admin:
        # Envelope signing: `--signing-keys envelope:<id>`, the key made by `oidc-admin keys
        # envelope-create` (a key pair whose private key is stored in the table wrapped under
        # a symmetric KMS key, decrypted once per container). Its KMS calls are symmetric.
        alg = a.envelope_alg.lower()
        modes_all["envelope"] = {"name": "envelope", "signing_keys": [f"envelope:awscalls-{alg}"],
                                 "alg": alg, "jose_alg": alg.upper(), "key_class": "symmetric",
                                 "envelope": True, "admin": a.envelope_admin,
                                 "bootstrap_key": f"alias/awscalls-{alg}",
                                 "wrapping_key": "alias/awscalls-envelope-wrapping"}
    wanted = [m for m in a.modes.split(",") if m]
    work = tempfile.mkdtemp(prefix="awscalls.")
    data = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": a.profile,
        "binary": os.path.relpath(a.bin, ROOT),
        "repeat": a.repeat,
        "prices": PRICES,
        "envelope_note": a.envelope_note,
        "latency_ms": float(os.environ.get("MOTO_COUNT_LATENCY_MS") or 0),
        "issuer_host": ISSUER_HOST,
        "modes": {},
    }
    t0 = time.time()
    try:
        for m in wanted:
            if m not in modes_all:
                print(f"awscalls.py: unknown or unavailable mode {m!r}", file=sys.stderr)
                return 2
            mode = modes_all[m]
            print(f"awscalls: measuring {m} ...", file=sys.stderr)
            data["modes"][m] = measure_mode(mode, a.bin, endpoint, a.repeat, work,
                                            a.federation_admin)
            data["modes"][m].update({k: mode[k] for k in ("envelope",) if k in mode})
            data["modes"][m].pop("admin", None)
    except Exception:
        print(f"awscalls: failed; logs kept in {work}", file=sys.stderr)
        raise
    data["measure_seconds"] = round(time.time() - t0, 1)
    data["routes"] = {f"{k[0]} {k[1]}": list(v) for k, v in
                      template_functions(os.path.join(ROOT, "template.yaml")).items()}
    os.makedirs(a.out, exist_ok=True)
    data["analysis"] = analyze(data)
    with open(os.path.join(a.out, "awscalls.json"), "w") as f:
        json.dump(data, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    write_md(data, a.out)
    return 0


def write_md(data: dict, out: str) -> None:
    an = analyze(data)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "awscalls.md"), "w") as f:
        f.write(render_awscalls(data, an))
    with open(os.path.join(out, "cost.md"), "w") as f:
        f.write(render_cost(data, an))


def cmd_report(a) -> int:
    with open(a.json) as f:
        data = json.load(f)
    write_md(data, a.out)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True, help="the oidc-local binary")
    r.add_argument("--profile", default="release")
    r.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    r.add_argument("--repeat", type=int, default=5)
    r.add_argument("--modes", default="rs256,es256")
    r.add_argument("--envelope-admin", help="oidc-admin binary with `keys envelope-create`: "
                   "enables the envelope mode")
    r.add_argument("--envelope-alg", default="rs256", choices=["rs256", "es256"])
    r.add_argument("--federation-admin", help="oidc-admin binary (`providers create`): "
                   "enables the federated sign-ins")
    r.add_argument("--envelope-note", default="`oidc-admin keys` has no envelope-create command "
                   "in this build")
    s = sub.add_parser("report")
    s.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "awscalls.json"))
    s.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    a = p.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers' `finally: stop()` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return cmd_run(a) if a.cmd == "run" else cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
