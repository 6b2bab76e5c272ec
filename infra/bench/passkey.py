#!/usr/bin/env python3
"""A software passkey for the scripted browser (infra/bench/signin.py): enrolment on the
account page and sign-in with it, making exactly the requests a browser makes.

The authenticator is a P-256 (ES256) key pair held in memory, `none` attestation, flags as a
synced platform passkey sets them (user present and verified, backup eligible and backed
up), a signature counter that goes up by one per assertion. Needs `cryptography` (in the
tools venv, .venv-tools); the WebAuthn encodings are written here (a few lines of CBOR).

  browser, enrolment: GET /account -> POST /account (action=sign-in) -> GET /login
      -> POST /login (the password) -> GET /account -> POST /account (action=passkey-begin)
      -> POST /account (action=passkey-finish, the new credential)
  browser, sign-in: as signin.py's, with POST /login/passkey instead of POST /login:
      signin.signin(..., passkey=authenticator.get_for(origin))

As a script (against a running provider whose issuer is a host name, e.g.
`cargo run -p oidc-local -- --issuer http://localhost:8080`):

  passkey.py demo --base http://localhost:8080 --username U --password P \\
      --client-id ID [--client-secret S] --redirect-uri URI [--scope S]

enrols a passkey for U, then signs in with it and prints the token response; --trace lists
each request on stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import struct
import sys
import urllib.error
import urllib.parse

import signin as flow  # infra/bench/signin.py

__all__ = ["Authenticator", "NoAccountPage", "enrol", "origin_of", "has_account_page",
           "account_signin"]

# Authenticator data flags (WebAuthn §6.1).
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


class NoAccountPage(flow.SigninError):
    """This build of the provider has no account page (GET /account answered 404)."""


# --- CBOR (RFC 8949), the subset a COSE key and an attestation object need ---------------


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError("integer too large for CBOR")


def cbor(v) -> bytes:
    if isinstance(v, bool) or v is None:
        raise TypeError("not needed here")
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, (bytes, bytearray)):
        return _head(2, len(v)) + bytes(v)
    if isinstance(v, str):
        b = v.encode()
        return _head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return _head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(f"cannot encode {type(v).__name__}")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def origin_of(url: str) -> str:
    """The web origin of `url` (scheme://host[:port]), as a browser puts it in clientData."""
    u = urllib.parse.urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


# --- the authenticator ---------------------------------------------------------------------


class Authenticator:
    """One discoverable ES256 credential, made by `create` and used by `get`."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._ec = ec
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.rp_id: str | None = None
        self.user_handle: str | None = None  # b64url, as the creation options gave it
        self.counter = 0

    def cose_key(self) -> bytes:
        n = self.key.public_key().public_numbers()
        return cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})

    def _auth_data(self, rp_id: str, flags: int, attested: bool) -> bytes:
        out = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter)
        if attested:
            out += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
            out += self.cose_key()
        return out

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def create(self, options: dict, origin: str) -> str:
        """navigator.credentials.create() with these PublicKeyCredentialCreationOptionsJSON:
        the RegistrationResponseJSON a browser posts."""
        if not any(p.get("alg") == -7 for p in options.get("pubKeyCredParams", [{"alg": -7}])):
            raise flow.SigninError(f"the provider does not accept ES256 passkeys: {options}")
        self.rp_id = options.get("rp", {}).get("id") or urllib.parse.urlsplit(origin).hostname
        self.user_handle = options["user"]["id"]
        self.counter = 0
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = self._auth_data(self.rp_id, UP | UV | BE | BS | AT, attested=True)
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = b64url(self.credential_id)
        return json.dumps({
            "id": cid, "rawId": cid, "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64url(client_data),
                         "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {},
        })

    def get(self, options: dict, origin: str) -> str:
        """navigator.credentials.get() with these PublicKeyCredentialRequestOptionsJSON:
        the AuthenticationResponseJSON a browser posts."""
        from cryptography.hazmat.primitives import hashes

        if self.user_handle is None:
            raise flow.SigninError("the authenticator holds no passkey yet (enrol first)")
        rp_id = options.get("rpId") or urllib.parse.urlsplit(origin).hostname
        if rp_id != self.rp_id:
            raise flow.SigninError(f"no passkey for RP ID {rp_id!r} (ours: {self.rp_id!r})")
        allowed = [c.get("id") for c in options.get("allowCredentials") or []]
        cid = b64url(self.credential_id)
        if allowed and cid not in allowed:
            raise flow.SigninError("the provider asked for other credentials than ours")
        self.counter += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(rp_id, UP | UV | BE | BS, attested=False)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  self._ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": cid, "rawId": cid, "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64url(client_data),
                         "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature),
                         "userHandle": self.user_handle},
            "clientExtensionResults": {},
        })

    def get_for(self, origin: str):
        """`get` bound to the page's origin: what signin.signin(passkey=...) takes."""
        return lambda options: self.get(options, origin)


# --- the account page ------------------------------------------------------------------------


# signin.py's browser: its trace entries also name the step when told one (the account page
# takes every change as a POST /account, told apart by its `action`).
_Browser = flow._Browser


def _forms(body: str) -> list[dict]:
    p = flow._Forms()
    p.feed(body)
    return [f for f in p.forms if f["method"] == "post"]


def _form_with(body: str, action: str | None = None, form_id: str | None = None) -> dict | None:
    for f in _forms(body):
        if action is not None and f["inputs"].get("action") == action:
            return f
        if form_id is not None and f["id"] == form_id:
            return f
    return None


def has_account_page(base: str) -> bool:
    """Whether this build serves the account page (GET /account, nobody signed in)."""
    status, _, _ = _Browser(None).request("GET", base.rstrip("/") + "/account")
    return status != 404


def account_signin(base: str, username: str, password: str,
                   trace: list | None = None) -> tuple:
    """A person opens the account page and signs in there with their password (the account
    page's own sign-in: no client, no consent). Returns (browser, url, body) of the account
    page they are back on, signed in."""
    base = base.rstrip("/")
    account = base + "/account"
    b = _Browser(trace, traced=base + "/")

    status, _, body = b.request("GET", account, step="account page (signed out)")
    if status == 404:
        raise NoAccountPage(f"GET {account} answered 404: no account page in this build")
    if status != 200:
        raise flow.SigninError(f"GET {account} answered {status}: {flow._page_error(body)}")
    f = _form_with(body, action="sign-in")
    if not f:
        raise flow.SigninError(f"{account}: no sign-in button on the account page")
    method, url, form = "POST", urllib.parse.urljoin(account, f["action"]), dict(f["inputs"])
    step = "account sign-in"
    credentials_sent = False
    for _ in range(flow.MAX_STEPS):
        status, headers, body = b.request(method, url, form, step=step)
        step = None
        if status in (301, 302, 303, 307):
            method, url, form = "GET", urllib.parse.urljoin(url, headers["Location"]), None
            continue
        if status != 200:
            raise flow.SigninError(f"{method} {url} answered {status}: {flow._page_error(body)}")
        if url.split("?", 1)[0] == account and "Signed in as" in body:
            break
        forms = _forms(body)
        pw = next((x for x in forms if "password" in x["inputs"]), None)
        if not pw:
            raise flow.SigninError(f"{url}: unexpected page: {flow._page_error(body)}")
        if credentials_sent:
            raise flow.SigninError(f"account sign-in refused: {flow._page_error(body)}")
        fields = dict(pw["inputs"])
        fields["username"], fields["password"] = username, password
        credentials_sent = True
        method, url, form = "POST", urllib.parse.urljoin(url, pw["action"]), fields
    else:
        raise flow.SigninError("too many steps before the account page")
    return b, url, body


def enrol(base: str, username: str, password: str, authenticator: Authenticator,
          name: str = "Bench passkey", trace: list | None = None) -> dict:
    """A person opens the account page, signs in with their password and adds a passkey
    (`authenticator` makes it). Returns {"user_handle", "credential_id"}."""
    origin = origin_of(base.rstrip("/"))
    b, url, body = account_signin(base, username, password, trace)
    account = url.split("?", 1)[0]

    f = _form_with(body, action="passkey-begin")
    if not f:
        raise flow.SigninError(f"{account}: no 'Add a passkey' form (a recent sign-in?)")
    fields = dict(f["inputs"], name=name)
    status, _, body = b.request("POST", urllib.parse.urljoin(url, f["action"]), fields,
                                step="passkey begin")
    f = _form_with(body, form_id="passkey-create")
    if status != 200 or not f or not f["options"]:
        raise flow.SigninError(f"passkey-begin answered {status} without creation options: "
                               f"{flow._page_error(body)}")
    options = json.loads(f["options"])
    fields = dict(f["inputs"])
    fields["credential"] = authenticator.create(options, origin)
    status, _, body = b.request("POST", urllib.parse.urljoin(url, f["action"]), fields,
                                step="passkey finish")
    if status != 200 or "added" not in body:
        raise flow.SigninError(f"passkey-finish answered {status}: {flow._page_error(body)}")
    return {"user_handle": authenticator.user_handle,
            "credential_id": b64url(authenticator.credential_id)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="enrol a passkey on the account page, then sign in with it")
    d.add_argument("--base", required=True, help="the issuer, a host name: http://localhost:8080")
    d.add_argument("--username", required=True)
    d.add_argument("--password", required=True)
    d.add_argument("--client-id", required=True)
    d.add_argument("--client-secret")
    d.add_argument("--redirect-uri", required=True)
    d.add_argument("--scope", default="openid profile email")
    d.add_argument("--trace", action="store_true", help="list each request on stderr")
    a = p.parse_args(argv)
    trace: list | None = [] if a.trace else None
    key = Authenticator()
    try:
        enrol(a.base, a.username, a.password, key, trace=trace)
        out = flow.signin(a.base, a.client_id, a.redirect_uri, "", "", a.client_secret, a.scope,
                          trace, passkey=key.get_for(origin_of(a.base)))
    except (flow.SigninError, urllib.error.URLError, OSError) as e:
        print(f"passkey.py: {e}", file=sys.stderr)
        return 1
    finally:
        for entry in trace or []:
            print(" ".join(str(x) for x in entry[:2]) + f" -> {entry[2]}"
                  + (f"  ({entry[3]})" if len(entry) > 3 else ""), file=sys.stderr)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
