#!/usr/bin/env python3
"""Scripted sign-in against the provider, standard library only.

Makes exactly the requests a browser and an app make, nothing else (no discovery fetch,
no redirect_uri fetch), so it can be used to count backend calls per sign-in:

  browser: GET /authorize (which shows the sign-in form) -> POST /login -> GET /consent
           -> POST /consent
           (with `passkey=`: the sign-in page's passkey form, POST /login/passkey, instead
           of its password form; infra/bench/passkey.py holds the authenticator)
           (with `second_factor=`, for a person with an authenticator app: POST /login
           (answered with the code page) [-> GET /login/totp?...&use=recovery, its
           "Use a recovery code" link] -> POST /login/totp, then consent as above;
           infra/bench/totp.py computes the codes)
           (stops at the 302 to redirect_uri; pages that are skipped by the provider,
           e.g. consent for a first-party client or an existing session, are skipped here)
  with --idp: GET /authorize?...&idp=ID -> GET /federation/start -> the upstream provider's
           sign-in (its form gets --username and --password) -> GET /federation/callback
           -> consent as above
  app:     POST /token (authorization_code, PKCE S256, client_secret_basic or none)

Subcommands print the token endpoint's JSON answer on stdout:

  signin.py signin --base URL --client-id ID [--client-secret S] --redirect-uri URI \
      --username U --password P [--scope "openid profile email offline_access"] [--idp ID]
  signin.py refresh --base URL --client-id ID [--client-secret S] --refresh-token T
  signin.py client-credentials --base URL --client-id ID --client-secret S [--scope S]

As a module: signin(...), refresh(...), client_credentials(...) return dicts; failures
raise SigninError. `signin(..., trace=list)` appends (method, path, status) per request to
the provider at --base (never the upstream's). `signin(..., passkey=fn)` signs in with a
passkey: `fn(options)` gets the sign-in page's WebAuthn request options (a dict) and returns
the credential (AuthenticationResponseJSON, a string) to post. `signin(...,
second_factor=fn)` answers the code page after the password: `fn()` returns the field to
post, ("code", "123456") or ("recovery", "XXXX-XXXX-XXXX-XXXX"); for a recovery code the
browser follows the page's recovery link first. Trace entries of those requests carry a
fourth element, the step's name ("code page", "code", "recovery code page",
"recovery code").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import http.cookiejar
import json
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

__all__ = ["SigninError", "signin", "refresh", "client_credentials"]

MAX_STEPS = 10  # redirects/pages in one browser leg; the provider needs at most 5


class SigninError(Exception):
    """The provider answered something a browser or app would not proceed with."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand (to stop at redirect_uri and count requests)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


class _Forms(HTMLParser):
    """Collects every <form>: action, method, id, data-options (the WebAuthn options of a
    passkey form), and its inputs and buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action", ""),
                    "method": a.get("method", "get").lower(),
                    "id": a.get("id", ""),
                    "options": a.get("data-options"),
                    "inputs": {},
                    "buttons": [],
                }
            )
        elif self.forms and tag == "input" and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: both parts form-urlencoded before base64.
    user = urllib.parse.quote_plus(client_id)
    pw = urllib.parse.quote_plus(client_secret)
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode("ascii")


class _Browser:
    def __init__(self, trace: list | None, traced: str = "") -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.trace = trace
        self.traced = traced  # only requests to URLs under this prefix are traced

    def request(self, method: str, url: str, form: dict | None = None, headers=None,
                step: str | None = None):
        """One request; its trace entry is (method, path, status[, step])."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
        req.add_header("User-Agent", "oidc-bench-signin/1")
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            resp = self.opener.open(req, timeout=30)
        except urllib.error.HTTPError as e:  # 3xx (not followed) and 4xx/5xx land here
            resp = e
        body = resp.read().decode("utf-8", "replace")
        status = resp.status if hasattr(resp, "status") else resp.code
        if self.trace is not None and url.startswith(self.traced):
            entry = (method, urllib.parse.urlsplit(url).path, status)
            self.trace.append(entry + (step,) if step else entry)
        return status, resp.headers, body


def _token_request(base: str, form: dict, client_id: str, client_secret: str | None,
                   trace: list | None = None) -> dict:
    headers = {"Accept": "application/json"}
    form = dict(form)
    if client_secret:
        headers["Authorization"] = _basic(client_id, client_secret)
    else:
        form["client_id"] = client_id  # public client (token_endpoint_auth_method none)
    b = _Browser(trace)
    status, _, body = b.request("POST", base.rstrip("/") + "/token", form, headers)
    try:
        answer = json.loads(body)
    except ValueError:
        raise SigninError(f"/token answered {status} with non-JSON: {body[:200]!r}") from None
    if status != 200:
        raise SigninError(f"/token answered {status}: {answer}")
    return answer


def _page_error(body: str) -> str:
    m = re.search(r'class="error"[^>]*>([^<]*)<', body) or re.search(r"<p>([^<]{3,200})</p>", body)
    return m.group(1).strip() if m else body[:200]


def _code_form(forms: list[dict]) -> dict | None:
    """The second-factor page's form (/login/totp): the request, the person, and a `code`
    or `recovery` field."""
    return next((f for f in forms if "sub" in f["inputs"] and "req" in f["inputs"]
                 and ("code" in f["inputs"] or "recovery" in f["inputs"])), None)


def _recovery_link(body: str, url: str) -> str | None:
    """The code page's "Use a recovery code" link (`...&use=recovery`), absolute."""
    for href in re.findall(r'<a\s[^>]*href="([^"]*)"', body):
        href = html.unescape(href)
        if "use=recovery" in href:
            return urllib.parse.urljoin(url, href)
    return None


def authorize_code(base: str, client_id: str, redirect_uri: str, username: str, password: str,
                   scope: str = "openid profile email", trace: list | None = None,
                   idp: str | None = None, passkey=None, second_factor=None) -> dict:
    """The browser leg: returns {"code", "state", "iss", "code_verifier", "nonce"}. With
    `idp`, the person signs in at that upstream provider (username and password are theirs
    there). With `passkey` (a function of the request options, returning the credential
    JSON), the person signs in with a passkey on the sign-in page instead (username and
    password unused). With `second_factor` (a function returning ("code", digits) or
    ("recovery", code)), the page that asks for a code after the password gets one."""
    base = base.rstrip("/")
    verifier = _b64url(secrets.token_bytes(32))
    state = _b64url(secrets.token_bytes(16))
    nonce = _b64url(secrets.token_bytes(16))
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    if idp:
        params["idp"] = idp
    query = urllib.parse.urlencode(params)
    browser = _Browser(trace, traced=base + "/")
    method, url, form = "GET", f"{base}/authorize?{query}", None
    credentials_sent = consent_sent = code_sent = False
    step = None  # the trace's name for the next request, when the path alone is ambiguous
    for _ in range(MAX_STEPS):
        status, headers, body = browser.request(method, url, form, step=step)
        step = None
        if status in (301, 302, 303, 307):
            location = urllib.parse.urljoin(url, headers["Location"])
            if location.split("?", 1)[0].split("#", 1)[0] == redirect_uri:
                back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
                if "error" in back:
                    raise SigninError(f"authorization error: {back}")
                if back.get("state") != state:
                    raise SigninError(f"state mismatch in {location}")
                if "code" not in back:
                    raise SigninError(f"no code in {location}")
                return {
                    "code": back["code"],
                    "state": back["state"],
                    "iss": back.get("iss"),
                    "code_verifier": verifier,
                    "nonce": nonce,
                }
            method, url, form = "GET", location, None  # a browser follows with GET
            continue
        if status != 200:
            raise SigninError(f"{method} {url} answered {status}: {_page_error(body)}")
        parser = _Forms()
        parser.feed(body)
        forms = [f for f in parser.forms if f["method"] == "post"]
        if not forms:
            raise SigninError(f"{url}: a page without a form: {_page_error(body)}")
        f = forms[0]
        code_form = _code_form(forms)
        if code_form is not None:  # the second factor's page, after the password
            if second_factor is None:
                raise SigninError(f"{url}: a code is due after the password (the person has an "
                                  "authenticator app), and none was given")
            if code_sent:
                raise SigninError(f"code refused: {_page_error(body)}")
            field, value = second_factor()
            if field not in code_form["inputs"]:
                link = _recovery_link(body, url) if field == "recovery" else None
                if not link:
                    raise SigninError(f"{url}: the code page has no {field!r} field")
                method, url, form, step = "GET", link, None, "recovery code page"
                continue
            fields = dict(code_form["inputs"])
            fields[field] = value
            code_sent = True
            step = "recovery code" if field == "recovery" else "code"
            method, url, form = "POST", urllib.parse.urljoin(url, code_form["action"]), fields
            continue
        passkey_form = next((p for p in forms if p["id"] == "passkey-form"), None)
        if passkey is not None and (passkey_form or "password" in f["inputs"]):
            if credentials_sent:  # the sign-in page again: the passkey was refused
                raise SigninError(f"passkey sign-in refused: {_page_error(body)}")
            if not passkey_form or not passkey_form["options"]:
                raise SigninError(f"{url}: the sign-in page has no passkey form")
            fields = dict(passkey_form["inputs"])
            fields["credential"] = passkey(json.loads(passkey_form["options"]))
            credentials_sent = True
            method, url, form = "POST", urllib.parse.urljoin(url, passkey_form["action"]), fields
            continue
        fields = dict(f["inputs"])
        if "password" in fields:  # the sign-in page
            if credentials_sent:
                raise SigninError(f"sign-in refused: {_page_error(body)}")
            fields["username"], fields["password"] = username, password
            credentials_sent = True
        elif any(n == "decision" for n, _ in f["buttons"]):  # the consent page
            if consent_sent:
                raise SigninError(f"consent page shown twice: {_page_error(body)}")
            fields["decision"] = "allow"
            consent_sent = True
        else:
            raise SigninError(f"{url}: unexpected form {f}")
        method, url, form = "POST", urllib.parse.urljoin(url, f["action"]), fields
    raise SigninError("too many steps before reaching redirect_uri")


def signin(base: str, client_id: str, redirect_uri: str, username: str, password: str,
           client_secret: str | None = None, scope: str = "openid profile email",
           trace: list | None = None, idp: str | None = None, passkey=None,
           second_factor=None) -> dict:
    """Browser leg then the app's code exchange; returns the token response."""
    leg = authorize_code(base, client_id, redirect_uri, username, password, scope, trace, idp,
                         passkey, second_factor)
    return _token_request(
        base,
        {
            "grant_type": "authorization_code",
            "code": leg["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": leg["code_verifier"],
        },
        client_id,
        client_secret,
        trace,
    )


def refresh(base: str, client_id: str, refresh_token: str, client_secret: str | None = None,
            scope: str | None = None, trace: list | None = None) -> dict:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope:
        form["scope"] = scope
    return _token_request(base, form, client_id, client_secret, trace)


def client_credentials(base: str, client_id: str, client_secret: str, scope: str | None = None,
                       trace: list | None = None) -> dict:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    return _token_request(base, form, client_id, client_secret, trace)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, secret_required=False):
        sp.add_argument("--base", required=True, help="issuer / base URL, e.g. http://127.0.0.1:8080")
        sp.add_argument("--client-id", required=True)
        sp.add_argument("--client-secret", required=secret_required,
                        help="client_secret_basic; omit for a public client")
        sp.add_argument("--trace", action="store_true", help="list each request on stderr")

    s = sub.add_parser("signin", help="authorization code flow with PKCE, then /token")
    common(s)
    s.add_argument("--redirect-uri", required=True)
    s.add_argument("--username", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--scope", default="openid profile email")
    s.add_argument("--idp", help="sign in at this upstream provider (idp=) instead")
    r = sub.add_parser("refresh", help="grant_type=refresh_token")
    common(r)
    r.add_argument("--refresh-token", required=True)
    r.add_argument("--scope")
    c = sub.add_parser("client-credentials", help="grant_type=client_credentials")
    common(c, secret_required=True)
    c.add_argument("--scope")
    a = p.parse_args(argv)

    trace: list | None = [] if a.trace else None
    try:
        if a.cmd == "signin":
            out = signin(a.base, a.client_id, a.redirect_uri, a.username, a.password,
                         a.client_secret, a.scope, trace, a.idp)
        elif a.cmd == "refresh":
            out = refresh(a.base, a.client_id, a.refresh_token, a.client_secret, a.scope, trace)
        else:
            out = client_credentials(a.base, a.client_id, a.client_secret, a.scope, trace)
    except (SigninError, urllib.error.URLError, OSError) as e:
        print(f"signin.py: {e}", file=sys.stderr)
        return 1
    finally:
        for m, path, st, *step in trace or []:
            print(f"{m} {path} -> {st}" + (f"  ({step[0]})" if step else ""), file=sys.stderr)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
