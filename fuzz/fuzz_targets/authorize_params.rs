//! Authorization request validation: arbitrary bytes as a query string / form body
//! (`Params::parse`), then `protocol::authorize_request::validate` against a fixed
//! confidential client (scopes, response_type, response_mode, PKCE, prompt, max_age,
//! claims parameter, ...). Property: no panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::{http::Params, protocol::authorize_request::validate, seed::Seed, store::Client};

fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        let seed = Seed::parse(
            "seed.json",
            r#"{"clients": [{"client_id": "rp", "client_secret": "0123456789abcdef0123456789abcdef",
                             "redirect_uris": ["https://rp.example/cb"]}]}"#,
        )
        .expect("seed parses");
        seed.clients[0].to_client().expect("client")
    })
}

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    if let Ok(v) = validate(&params, client()) {
        let _ = v.prompts("none");
    }
});
