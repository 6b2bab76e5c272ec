//! Form / query parsing (`Params::parse`, with duplicate detection) and cookie extraction
//! (`http::cookie`) from a request whose Cookie header is the input. Property: no panic.
#![no_main]

use lambda_http::{Body, http::Request};
use libfuzzer_sys::fuzz_target;
use shared::http::{Params, cookie};

fuzz_target!(|data: &[u8]| {
    let p = Params::parse(data);
    let _ = (p.get("client_id"), p.duplicated(), p.is_empty());

    // A Cookie header per NUL-separated chunk (browsers may send several).
    let mut builder = Request::builder().uri("/authorize");
    for chunk in data.split(|b| *b == 0) {
        builder = builder.header("cookie", chunk);
    }
    // Invalid header bytes make the builder fail: such a request never reaches the provider.
    let Ok(req) = builder.body(Body::Empty) else {
        return;
    };
    if let Some(v) = cookie(&req, "oidc_session") {
        assert!(!v.contains(';'), "cookie value spans pairs: {v:?}");
    }
});
