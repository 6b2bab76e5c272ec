//! The whole HTTP surface: every route of `shared::endpoints::routes()` through
//! `dispatch(&app, &verifying, request)`, against one in-memory provider (redb in memory, a local
//! RS256 key, open dynamic registration, one confidential client and one user).
//!
//! Input layout: byte 0 picks the route (method + path); the rest is split on NUL bytes into
//! query string, content-type, authorization, cookie and body (the body keeps any further
//! NULs). Header values that are not valid HTTP header bytes are dropped.
//!
//! Property: no panic, and never a 5xx status (the in-memory store and local signer cannot
//! fail, so a 500 or 503 would be a bug).
#![no_main]

use std::sync::{Arc, OnceLock};

use lambda_http::{
    Body,
    http::{HeaderValue, Request},
};
use libfuzzer_sys::fuzz_target;
use shared::{
    App, Config,
    app::SigningApp,
    clock::{Clock, SystemClock},
    config::Registration,
    endpoints::{dispatch, routes},
    seed::{Seed, apply},
    signer::{Alg, Verifier, VerifyOnly, local::LocalSigner},
    store::embedded::EmbeddedStore,
};

struct World {
    rt: tokio::runtime::Runtime,
    /// The token and JWKS side, and every other endpoint's (as the local server splits them).
    app: SigningApp,
    verifying: App,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = Config::new("http://127.0.0.1:1").expect("config");
        config.registration = Registration::Open;
        let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
        let signer = Arc::new(LocalSigner::generate(Alg::RS256).expect("signer"));
        let app: SigningApp = App::new(config, store, signer, Arc::new(SystemClock));
        let verifying = app.with_keys::<dyn Verifier>(Arc::new(VerifyOnly(app.keys.clone())));
        let seed = Seed::parse(
            "seed.json",
            r#"{
              "clients": [{"client_id": "rp", "client_secret": "0123456789abcdef0123456789abcdef",
                           "redirect_uris": ["https://rp.example/cb"],
                           "post_logout_redirect_uris": ["https://rp.example/bye"]}],
              "users": [{"username": "alice", "password": "correct horse battery staple",
                         "claims": {"email": "alice@example.com", "email_verified": true}}]
            }"#,
        )
        .expect("seed parses");
        rt.block_on(apply(app.store.as_ref(), &seed, SystemClock.now_ms()))
            .expect("seed applies");
        World { rt, app, verifying }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    let all = routes();
    let route = &all[selector as usize % all.len()];

    let mut parts = rest.splitn(5, |b| *b == 0);
    let query = parts.next().unwrap_or_default();
    let content_type = parts.next();
    let authorization = parts.next();
    let cookie = parts.next();
    let body = parts.next().unwrap_or_default();

    // The query goes into the URI; bytes a URI cannot hold are percent-encoded so that the
    // request still builds (the parser under test sees them decoded).
    let mut uri = route.endpoint.path().to_string();
    if !query.is_empty() {
        uri.push('?');
        for &b in query {
            if b.is_ascii_graphic() && b != b'#' {
                uri.push(b as char);
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut builder = Request::builder().method(route.method.clone()).uri(uri);
    for (name, value) in [
        ("content-type", content_type),
        ("authorization", authorization),
        ("cookie", cookie),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            builder = builder.header(name, v);
        }
    }
    let Ok(req) = builder.body(Body::Binary(body.to_vec())) else {
        return;
    };
    let resp = w.rt.block_on(dispatch(&w.app, &w.verifying, req));
    let status = resp.status().as_u16();
    assert!(
        status < 500,
        "{} {} answered {status}: {:?}",
        route.method,
        route.endpoint.path(),
        resp.body()
    );
});
