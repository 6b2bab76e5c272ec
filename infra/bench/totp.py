#!/usr/bin/env python3
"""An authenticator app for the scripted browser (infra/bench/signin.py): turning it on on
the account page and signing in with its codes or a recovery code, making exactly the
requests a browser makes. Standard library only.

Codes are RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch) over
RFC 4226 HOTP, as the provider's `shared/src/totp` computes them. The provider accepts a
code of one step either side of now, but only of a step later than the last one used
(RFC 6238 §5.2): the code that turned the app on is spent, so a sign-in must wait for the
next step (`wait_for_step_after`).

  browser, enrolment: GET /account -> POST /account (action=sign-in) -> GET /login
      -> POST /login (the password) -> GET /account -> POST /account (action=totp-begin:
      the page with the secret) -> POST /account (action=totp-confirm, the secret and a code:
      "Authenticator app added" and the ten recovery codes)
  browser, sign-in: as signin.py's, with the code page after the password:
      signin.signin(..., second_factor=app.code_field)            (a code from the app)
      signin.signin(..., second_factor=lambda: ("recovery", c))   (a recovery code)

As a script (against a running provider, e.g. `cargo run -p oidc-local`):

  totp.py demo --base http://localhost:8080 --username U --password P \\
      --client-id ID [--client-secret S] --redirect-uri URI [--scope S] [--recovery]

turns on an authenticator app for U, waits for the next time step, signs in with a code
(or with --recovery, a recovery code) and prints the token response; --trace lists each
request on stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import re
import struct
import sys
import time
import urllib.error
import urllib.parse

import passkey as pk  # infra/bench/passkey.py: the account page's sign-in
import signin as flow  # infra/bench/signin.py

__all__ = ["App", "NoTotp", "enrol", "hotp", "totp", "time_step", "wait_for_step_after"]

STEP = 30
DIGITS = 6


class NoTotp(flow.SigninError):
    """This build's account page offers no authenticator app (no `totp-begin` form)."""


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1, dynamic truncation, `digits` decimal digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def time_step(now: float | None = None) -> int:
    """RFC 6238 §4.2: T = floor((now - T0) / X), T0 = 0, X = 30."""
    return int((time.time() if now is None else now) // STEP)


def totp(key: bytes, now: float | None = None) -> str:
    return hotp(key, time_step(now))


def b32decode(secret: str) -> bytes:
    """The base32 secret as apps take it: any case, spaces, with or without padding."""
    s = re.sub(r"\s+", "", secret).upper().rstrip("=")
    return base64.b32decode(s + "=" * (-len(s) % 8))


def wait_for_step_after(step: int) -> float:
    """Sleeps until the current time step is later than `step`; returns the seconds waited."""
    t0 = time.time()
    target = (step + 1) * STEP
    while time.time() < target:
        time.sleep(min(1.0, target - time.time() + 0.01))
    return time.time() - t0


class App:
    """An authenticator app holding one account's secret, and the recovery codes the
    provider showed when it was turned on."""

    def __init__(self, secret: str) -> None:
        self.secret = secret  # base32, as the page shows it
        self.key = b32decode(secret)
        self.recovery_codes: list[str] = []
        self.enrol_step: int | None = None  # the step of the code that turned it on (spent)

    def code(self) -> str:
        return totp(self.key)

    def code_field(self) -> tuple[str, str]:
        """What signin.signin(second_factor=...) takes: a code of the current step."""
        return "code", self.code()

    def recovery_field(self) -> tuple[str, str]:
        """signin.signin(second_factor=...): the next unused recovery code (spent)."""
        if not self.recovery_codes:
            raise flow.SigninError("no recovery code left")
        return "recovery", self.recovery_codes.pop(0)


def enrol(base: str, username: str, password: str, trace: list | None = None) -> App:
    """A person opens the account page, signs in with their password and turns on an
    authenticator app: "Set up an authenticator app" (the page with the secret), then the
    secret back with a code. Returns the app, with the ten recovery codes."""
    b, url, body = pk.account_signin(base, username, password, trace)
    f = pk._form_with(body, action="totp-begin")
    if not f:
        if pk._form_with(body, action="totp-remove") or "recovery codes left" in body:
            raise flow.SigninError(f"{username} has an authenticator app already")
        raise NoTotp("the account page offers no authenticator app (no totp-begin form)")
    status, _, body = b.request("POST", urllib.parse.urljoin(url, f["action"]),
                                dict(f["inputs"]), step="totp begin")
    f = pk._form_with(body, action="totp-confirm")
    if status != 200 or not f or not f["inputs"].get("secret"):
        raise flow.SigninError(f"totp-begin answered {status} without a secret: "
                               f"{flow._page_error(body)}")
    app = App(f["inputs"]["secret"])
    fields = dict(f["inputs"])
    app.enrol_step = time_step()
    fields["code"] = hotp(app.key, app.enrol_step)
    status, _, body = b.request("POST", urllib.parse.urljoin(url, f["action"]), fields,
                                step="totp confirm")
    if status != 200 or "Authenticator app added" not in body:
        raise flow.SigninError(f"totp-confirm answered {status}: {flow._page_error(body)}")
    app.recovery_codes = [html.unescape(c) for c in
                          re.findall(r"<li><code>([^<]+)</code></li>", body)]
    if len(app.recovery_codes) != 10:
        raise flow.SigninError(f"totp-confirm showed {len(app.recovery_codes)} recovery codes, "
                               "not 10")
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="turn on an authenticator app, then sign in with a code")
    d.add_argument("--base", required=True, help="the issuer: http://localhost:8080")
    d.add_argument("--username", required=True)
    d.add_argument("--password", required=True)
    d.add_argument("--client-id", required=True)
    d.add_argument("--client-secret")
    d.add_argument("--redirect-uri", required=True)
    d.add_argument("--scope", default="openid profile email")
    d.add_argument("--recovery", action="store_true", help="sign in with a recovery code")
    d.add_argument("--trace", action="store_true", help="list each request on stderr")
    a = p.parse_args(argv)
    trace: list | None = [] if a.trace else None
    try:
        app = enrol(a.base, a.username, a.password, trace=trace)
        if not a.recovery:
            print(f"totp.py: waiting {wait_for_step_after(app.enrol_step):.0f} s for the next "
                  "time step (the enrolment's code is spent)", file=sys.stderr)
        out = flow.signin(a.base, a.client_id, a.redirect_uri, a.username, a.password,
                          a.client_secret, a.scope, trace,
                          second_factor=app.recovery_field if a.recovery else app.code_field)
    except (flow.SigninError, urllib.error.URLError, OSError) as e:
        print(f"totp.py: {e}", file=sys.stderr)
        return 1
    finally:
        for m, path, st, *step in trace or []:
            print(f"{m} {path} -> {st}" + (f"  ({step[0]})" if step else ""), file=sys.stderr)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
