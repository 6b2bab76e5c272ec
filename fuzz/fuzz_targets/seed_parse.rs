//! Seed files (declarative clients and users): arbitrary text parsed as JSON and as TOML,
//! and every parsed client converted with `to_client()` (redirect URI, scope, grant, auth
//! method and custom-claim validation). No store. Property: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::seed::Seed;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["x.json", "x.toml"] {
        if let Ok(seed) = Seed::parse(name, s) {
            for c in &seed.clients {
                let _ = c.to_client();
            }
            for u in &seed.users {
                let _ = u.validate();
            }
        }
    }
});
