//! Reading what the person gives: claims from arguments, passwords from a prompt or stdin.
use std::io::{BufRead, IsTerminal};

use serde_json::Value;
use shared::{
    secret::Password,
    store::{ClaimTarget, CustomClaim},
};

/// The time of an administrator's change, in epoch milliseconds (the resolution at which
/// ending sessions is compared).
pub fn now_ms() -> i64 {
    shared::clock::Clock::now_ms(&shared::clock::SystemClock)
}

/// Epoch seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian, days to civil date
/// after H. Hinnant's algorithm).
pub fn utc(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A JSON value if `v` parses as one, else `v` as a string.
fn json_or_string(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

/// `NAME=VALUE`, VALUE as JSON if it parses (`true`, `42`, `{"country": "UK"}`), else a string.
pub fn claim(arg: &str) -> Result<(String, Value), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), json_or_string(value)))
        }
        _ => Err(format!("--claim {arg:?}: expected NAME=VALUE")),
    }
}

fn targets(list: &str) -> Option<Vec<ClaimTarget>> {
    list.split(',')
        .map(|t| serde_json::from_value(Value::String(t.trim().to_string())).ok())
        .collect()
}

/// `NAME=JSON[@targets][;scope=SCOPE]`: `https://example.com/roles=["admin"]@id_token,userinfo`.
/// A value that is not JSON is a string; `@...` is read as targets only if they are valid
/// ones; `;scope=S` names the scope that carries the claim.
pub fn custom_claim(arg: &str) -> Result<CustomClaim, String> {
    let bad = || {
        format!(
            "--custom-claim {arg:?}: expected NAME=JSON[@targets][;scope=SCOPE], targets among \
             id_token, access_token, userinfo"
        )
    };
    let (arg, scope) = match arg.rsplit_once(";scope=") {
        Some((rest, s)) if shared::protocol::scope::is_valid_token(s) => {
            (rest, Some(s.to_string()))
        }
        Some(_) => return Err(bad()),
        None => (arg, None),
    };
    let (name, rest) = arg.split_once('=').ok_or_else(bad)?;
    if name.trim().is_empty() {
        return Err(bad());
    }
    let (value, tokens) = match serde_json::from_str::<Value>(rest) {
        Ok(v) => (v, None),
        Err(_) => match rest.rsplit_once('@') {
            Some((v, t)) => match targets(t) {
                Some(t) => (json_or_string(v), Some(t)),
                None => (Value::String(rest.to_string()), None),
            },
            None => (Value::String(rest.to_string()), None),
        },
    };
    Ok(CustomClaim {
        name: name.trim().to_string(),
        value,
        tokens: tokens.unwrap_or_else(|| vec![ClaimTarget::IdToken, ClaimTarget::AccessToken]),
        scope,
    })
}

/// Every `--custom-claim` argument, in order.
pub fn custom_claims(args: &[String]) -> Result<Vec<CustomClaim>, String> {
    args.iter().map(|a| custom_claim(a)).collect()
}

/// A password: one line from standard input with `from_stdin` or when stdin is not a
/// terminal, otherwise asked for twice without echo. Never from the command line.
pub fn password(from_stdin: bool) -> Result<Password, String> {
    let stdin = std::io::stdin();
    let password = if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("Password (again): ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the two passwords differ; nothing changed".into());
        }
        first
    };
    if password.is_empty() {
        return Err(
            "the password is empty (give it on the prompt, or as one line on standard input)"
                .into(),
        );
    }
    Ok(Password::new(password))
}

/// An upstream provider's client secret: the first line of `file`, one line of standard
/// input with `from_stdin` or when stdin is not a terminal, otherwise asked for once
/// without echo. Never from the command line (it would sit in the shell's history).
pub fn client_secret(
    from_stdin: bool,
    file: Option<&std::path::Path>,
) -> Result<shared::secret::ClientSecret, String> {
    let secret = if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--client-secret-file {}: {e}", path.display()))?;
        text.lines().next().unwrap_or_default().trim().to_string()
    } else if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the client secret from standard input: {e}"))?;
        line.trim().to_string()
    } else {
        rpassword::prompt_password("Client secret: ")
            .map_err(|e| format!("cannot read the client secret: {e}"))?
            .trim()
            .to_string()
    };
    if secret.is_empty() {
        return Err(
            "the client secret is empty (give it on standard input with \
             --client-secret-stdin, or in a file with --client-secret-file)"
                .into(),
        );
    }
    Ok(shared::secret::ClientSecret::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_parse_json_or_strings() {
        assert_eq!(
            claim("email_verified=true"),
            Ok(("email_verified".into(), json!(true)))
        );
        assert_eq!(claim("name=Ada L"), Ok(("name".into(), json!("Ada L"))));
        assert_eq!(
            claim("address={\"country\":\"UK\"}"),
            Ok(("address".into(), json!({"country": "UK"})))
        );
        assert!(claim("novalue").is_err());
        assert!(claim("=x").is_err());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn custom_claims_parse_targets() {
        let c = custom_claim("https://ex.com/roles=[\"a\"]@id_token,userinfo").expect("parse");
        assert_eq!(c.value, json!(["a"]));
        assert_eq!(c.tokens, vec![ClaimTarget::IdToken, ClaimTarget::Userinfo]);
        let c = custom_claim("https://ex.com/tenant=acme").expect("parse");
        assert_eq!(c.value, json!("acme"));
        assert_eq!(
            c.tokens,
            vec![ClaimTarget::IdToken, ClaimTarget::AccessToken]
        );
        // An @ that is not followed by targets belongs to the value.
        let c = custom_claim("https://ex.com/contact=ops@example.com").expect("parse");
        assert_eq!(c.value, json!("ops@example.com"));
        let c = custom_claim("https://ex.com/n=3@access_token").expect("parse");
        assert_eq!(
            (c.value, c.tokens),
            (json!(3), vec![ClaimTarget::AccessToken])
        );
        assert!(custom_claim("no-equals").is_err());
    }
}
