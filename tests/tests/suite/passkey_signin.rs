//! Signing in with a passkey, over HTTP on every backend: a software authenticator (a P-256
//! key made here, as a platform authenticator holds one) answers the sign-in page's WebAuthn
//! options; the provider verifies the assertion against the passkey registered for Alice,
//! signs her in, and the ID token says how (`amr`, the phishing-resistant `acr`). The same
//! assertion never signs in twice, and a counter that goes back is refused.
use aws_lc_rs::{
    digest,
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ciborium::value::Value as Cbor;
use e2e::{
    ALICE, BASIC, Browser, Outcome, Provider,
    browser::{data_options, input_value},
    each_backend,
};
use serde_json::{Value, json};
use shared::store::{AddPasskey, Factors, Passkey};

const PHISHING_RESISTANT: &str = "urn:oidc-serverless:acr:phishing-resistant";

pub(crate) struct Authenticator {
    key: EcdsaKeyPair,
    pub(crate) credential_id: Vec<u8>,
    pub(crate) user_handle: Vec<u8>,
}

impl Authenticator {
    pub(crate) fn new() -> Self {
        Self {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("key"),
            credential_id: shared::crypto::random_bytes::<16>().to_vec(),
            user_handle: shared::crypto::random_bytes::<32>().to_vec(),
        }
    }

    /// The COSE_Key of its public key (RFC 9053 §7.1.1: EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let map = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (
                Cbor::Integer((-2).into()),
                Cbor::Bytes(point[1..33].to_vec()),
            ),
            (
                Cbor::Integer((-3).into()),
                Cbor::Bytes(point[33..].to_vec()),
            ),
        ]);
        let mut out = vec![];
        ciborium::into_writer(&map, &mut out).expect("cbor");
        out
    }

    /// Registers it for `sub` in the provider's store, as the account page will.
    pub(crate) async fn register(&self, p: &Provider, sub: &str) {
        let store = &p.running.verifying.store;
        let mut f = Factors::new(sub);
        f.version = 1;
        f.user_handle = B64.encode(&self.user_handle);
        f.passkeys = vec![B64.encode(&self.credential_id)];
        let passkey = Passkey {
            id: B64.encode(&self.credential_id),
            sub: sub.into(),
            user_handle: f.user_handle.clone(),
            public_key: B64.encode(self.cose_key()),
            alg: -7,
            sign_count: 0,
            name: "Test key".into(),
            created_at: p.clock_now(),
            last_used_at: 0,
            backup_eligible: true,
            backed_up: true,
            transports: vec!["internal".into()],
        };
        assert_eq!(
            store.add_passkey(&f, &passkey).await.expect("add"),
            AddPasskey::Added
        );
    }

    /// Its answer to `options` (the account page's creation options) at `origin`: a new
    /// synced passkey with `none` attestation, for the user handle the options name.
    pub(crate) fn attest(&mut self, options: &Value, origin: &str) -> String {
        self.user_handle = B64
            .decode(options["user"]["id"].as_str().expect("user.id"))
            .expect("user handle");
        let client_data = json!({
            "type": "webauthn.create",
            "challenge": options["challenge"],
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string();
        let rp_id = options["rp"]["id"].as_str().expect("rp.id");
        let mut auth_data = digest::digest(&digest::SHA256, rp_id.as_bytes())
            .as_ref()
            .to_vec();
        // UP, UV, BE, BS and attested credential data (AT).
        auth_data.push(0x01 | 0x04 | 0x08 | 0x10 | 0x40);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let object = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation = vec![];
        ciborium::into_writer(&object, &mut attestation).expect("cbor");
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(client_data.as_bytes()),
                "attestationObject": B64.encode(&attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// Its answer to `options` (the page's request options) at `origin`, with `counter`.
    pub(crate) fn assert(&self, options: &Value, origin: &str, counter: u32) -> String {
        let rp_id = options["rpId"].as_str().expect("rpId");
        self.assert_as(options, origin, counter, rp_id, true)
    }

    /// Its answer as an authenticator of the RP ID `rp_id` would give it, with the user
    /// verified (`uv`) or only present.
    pub(crate) fn assert_as(
        &self,
        options: &Value,
        origin: &str,
        counter: u32,
        rp_id: &str,
        uv: bool,
    ) -> String {
        let client_data = json!({
            "type": "webauthn.get",
            "challenge": options["challenge"],
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string();
        let mut auth_data = digest::digest(&digest::SHA256, rp_id.as_bytes())
            .as_ref()
            .to_vec();
        // UP, UV (if `uv`), and backed up (BE, BS): a synced passkey.
        auth_data.push(0x01 | if uv { 0x04 } else { 0 } | 0x08 | 0x10);
        auth_data.extend(counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(digest::digest(&digest::SHA256, client_data.as_bytes()).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).expect("sign");
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(client_data.as_bytes()),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.as_ref()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}

/// Alice's sub, and a new software authenticator with a passkey registered for her.
pub(crate) async fn alice_with_passkey(p: &Provider) -> (String, Authenticator) {
    let alice = p
        .running
        .verifying
        .store
        .user_by_username(ALICE.0)
        .await
        .expect("read")
        .expect("alice");
    let authenticator = Authenticator::new();
    authenticator.register(p, &alice.sub).await;
    (alice.sub, authenticator)
}

/// A browser at the sign-in page of a new request with `extra` parameters, and the page's
/// passkey form: its request id, CSRF token and WebAuthn options.
pub(crate) async fn sign_in_page(
    p: &Provider,
    extra: &[(&str, &str)],
) -> (Browser, String, String, Value) {
    let mut b = p.browser();
    let url = p.authorize_url(BASIC.0, extra);
    let Outcome::Page { body, .. } = b.authorize(&url, None, "").await else {
        panic!("the sign-in page");
    };
    let (req, csrf, options) = passkey_form(&body);
    (b, req, csrf, options)
}

/// The sign-in page's passkey form in `body`: its request id, CSRF token and options.
pub(crate) fn passkey_form(body: &str) -> (String, String, Value) {
    let form = &body[body.find("id=\"passkey-form\"").expect("a passkey form")..];
    let req = input_value(form, "req").expect("req");
    let csrf = input_value(form, "csrf").expect("csrf");
    (req, csrf, data_options(body, "passkey-form"))
}

each_backend!(
    a_person_signs_in_with_a_passkey_and_the_id_token_says_so,
    |p| {
        let (sub, authenticator) = alice_with_passkey(&p).await;
        let (mut b, req, csrf, options) =
            sign_in_page(&p, &[("acr_values", PHISHING_RESISTANT)]).await;
        assert_eq!(options["userVerification"], "required");
        let assertion = authenticator.assert(&options, &p.issuer(), 0);
        let form = [("req", req), ("csrf", csrf), ("credential", assertion)];
        let signed_in = b.submit("/login/passkey", &form).await;
        assert_eq!(signed_in.status().as_u16(), 303, "on to consent");
        // The same assertion again, at once: its challenge is gone.
        let again = b.submit("/login/passkey", &form).await;
        assert_eq!(again.status().as_u16(), 200);
        let page = again.text().await.expect("page");
        assert!(page.contains("could not sign you in"), "{page}");

        let out = b.follow(signed_in, None, "allow").await;
        let (status, _, tokens) = p.redeem(&out.param("code").expect("a code")).await;
        assert_eq!(status, 200, "{tokens}");
        let id = e2e::unverified_claims(tokens["id_token"].as_str().expect("ID token"));
        assert_eq!(id["sub"], sub.as_str());
        assert_eq!(id["amr"], json!(["swk", "user", "mfa"]), "{id}");
        assert_eq!(id["acr"], PHISHING_RESISTANT, "{id}");
        let id = B64.encode(&authenticator.credential_id);
        let used = p
            .running
            .verifying
            .store
            .passkey(&id)
            .await
            .expect("read")
            .expect("stored");
        assert!(used.last_used_at > 0);
    }
);

each_backend!(a_passkey_whose_counter_goes_back_is_refused, |p| {
    let (_, authenticator) = alice_with_passkey(&p).await;
    // A new sign-in answered by the authenticator at `origin` with `counter`: its status.
    let sign_in = |origin: String, counter: u32| {
        let (p, a) = (&p, &authenticator);
        async move {
            let (b, req, csrf, options) = sign_in_page(p, &[]).await;
            let form = [
                ("req", req),
                ("csrf", csrf),
                ("credential", a.assert(&options, &origin, counter)),
            ];
            b.submit("/login/passkey", &form).await.status().as_u16()
        }
    };
    let ours = p.issuer();
    assert_eq!(sign_in(ours.clone(), 5).await, 303);
    assert_eq!(sign_in(ours.clone(), 7).await, 303);
    assert_eq!(
        sign_in(ours.clone(), 6).await,
        200,
        "a counter below the last one: a cloned authenticator?"
    );
    assert_eq!(
        sign_in(ours.clone(), 7).await,
        200,
        "nor the same one again"
    );
    assert_eq!(
        sign_in(ours, 8).await,
        303,
        "the real authenticator goes on"
    );
    // Another origin (a phishing site relaying the options) is refused.
    assert_eq!(sign_in("https://phish.example".into(), 9).await, 200);
});

each_backend!(
    every_bad_assertion_is_refused_audited_and_loses_nothing,
    |p| {
        let logs = super::log_scan::capture();
        let (_, authenticator) = alice_with_passkey(&p).await;
        let stranger = Authenticator::new();
        let ours = p.issuer();
        let (b, req, csrf, options) = sign_in_page(&p, &[]).await;
        // Another request's challenge (a replayed challenge), answered correctly otherwise.
        let (_, _, _, other_options) = sign_in_page(&p, &[]).await;
        let bad = [
            (
                "an assertion for another RP ID",
                authenticator.assert_as(&options, &ours, 1, "phish.example", true),
            ),
            (
                "another origin",
                authenticator.assert(&options, "https://phish.example", 1),
            ),
            (
                "user verification missing",
                authenticator.assert_as(
                    &options,
                    &ours,
                    1,
                    options["rpId"].as_str().expect("rp"),
                    false,
                ),
            ),
            ("an unknown credential", stranger.assert(&options, &ours, 1)),
            (
                "another request's challenge",
                authenticator.assert(&other_options, &ours, 1),
            ),
            ("not an assertion at all", "{\"id\": 1}".to_string()),
        ];
        for (what, credential) in bad {
            let from = logs.len();
            let form = [
                ("req", req.clone()),
                ("csrf", csrf.clone()),
                ("credential", credential),
            ];
            let resp = b.submit("/login/passkey", &form).await;
            assert_eq!(resp.status().as_u16(), 200, "{what}: the form again");
            let page = resp.text().await.expect("page");
            assert!(page.contains("could not sign you in"), "{what}: {page}");
            assert!(
                logs.since(from).contains("passkey.failed"),
                "{what}: audited"
            );
        }
        // From another browser, the right answer to this browser's request: refused.
        let elsewhere = p.browser();
        let form = [
            ("req", req.clone()),
            ("csrf", csrf.clone()),
            ("credential", authenticator.assert(&options, &ours, 1)),
        ];
        let resp = elsewhere.submit("/login/passkey", &form).await;
        assert_eq!(resp.status().as_u16(), 403, "another browser");
        // Nothing was lost: the request, its challenge and the passkey's counter still sign in.
        let resp = b.submit("/login/passkey", &form).await;
        assert_eq!(
            resp.status().as_u16(),
            303,
            "the right answer, after all of them"
        );
    }
);
