//! Device tokens (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): after a
//! successful sign-in the browser gets a token for that account, and while it is valid the
//! browser's attempts for that account are trusted: failures elsewhere never delay them.
//!
//! One cookie holds the tokens of every account signed in from the browser (at most
//! [`MAX_TOKENS`], the most recent), each 72 bytes, base64url, `.`-separated: the account
//! (the first 16 bytes of the SHA-256 of the lowercased username), a random 16-byte device
//! id, the issue time (epoch seconds, big-endian), and an HMAC-SHA256 of those under a key
//! derived from the deployment secret. The cookie is HttpOnly, SameSite=Lax, `__Host-`
//! prefixed and Secure on https, and lives as long as a token (`SIGNIN_DEVICE_TOKEN_TTL_SECONDS`).
use lambda_http::Request;

use super::SignInKeys;
use crate::{
    crypto::{b64url, b64url_decode, random_bytes, sha256},
    http,
};

pub const COOKIE: &str = "oidc_device";
/// Accounts remembered per browser: a shared computer's family fits, a cookie stays small
/// (under 800 bytes).
pub const MAX_TOKENS: usize = 8;
/// A token issued up to this far in the future still counts (clocks of containers differ).
const CLOCK_SKEW: i64 = 60;
const SIGNED: usize = 16 + 16 + 8;
const TOKEN_BYTES: usize = SIGNED + 32;

/// Who a token is for: a digest of the lowercased username, whether or not it exists.
pub type Account = [u8; 16];

pub fn account_of(username: &str) -> Account {
    let mut a = [0u8; 16];
    a.copy_from_slice(&sha256(username.to_lowercase().as_bytes())[..16]);
    a
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceToken {
    account: Account,
    device: [u8; 16],
    issued: i64,
    mac: [u8; 32],
}

impl DeviceToken {
    fn signed_part(&self) -> [u8; SIGNED] {
        let mut out = [0u8; SIGNED];
        out[..16].copy_from_slice(&self.account);
        out[16..32].copy_from_slice(&self.device);
        out[32..].copy_from_slice(&self.issued.to_be_bytes());
        out
    }

    fn issue(keys: &SignInKeys, account: Account, device: [u8; 16], now: i64) -> Self {
        let mut token = Self {
            account,
            device,
            issued: now,
            mac: [0; 32],
        };
        let tag = keys.sign_device(&token.signed_part());
        token.mac.copy_from_slice(tag.as_ref());
        token
    }

    fn encode(&self) -> String {
        let mut bytes = self.signed_part().to_vec();
        bytes.extend_from_slice(&self.mac);
        b64url(&bytes)
    }

    fn decode(s: &str) -> Option<Self> {
        let bytes = b64url_decode(s).filter(|b| b.len() == TOKEN_BYTES)?;
        let part = |from: usize, to: usize| bytes.get(from..to);
        Some(Self {
            account: part(0, 16)?.try_into().ok()?,
            device: part(16, 32)?.try_into().ok()?,
            issued: i64::from_be_bytes(part(32, SIGNED)?.try_into().ok()?),
            mac: part(SIGNED, TOKEN_BYTES)?.try_into().ok()?,
        })
    }

    /// The device id, as its failure counter is keyed (read before the token is verified:
    /// the secret may not be known yet).
    pub fn device_id(&self) -> String {
        b64url(&self.device)
    }

    /// Signed by this deployment and not expired.
    pub fn is_valid(&self, keys: &SignInKeys, now: i64, ttl: i64) -> bool {
        self.issued <= now.saturating_add(CLOCK_SKEW)
            && now < self.issued.saturating_add(ttl)
            && keys.verify_device(&self.signed_part(), &self.mac)
    }
}

/// The device tokens a browser presents.
#[derive(Debug, Default)]
pub struct DeviceTokens(Vec<DeviceToken>);

impl DeviceTokens {
    /// From the request's cookie; malformed entries are left out, and at most twice
    /// [`MAX_TOKENS`] are looked at.
    pub fn from_request(req: &Request, secure: bool) -> Self {
        let value = http::cookie(req, &http::cookie_name(COOKIE, secure)).unwrap_or_default();
        Self(
            value
                .split('.')
                .take(2 * MAX_TOKENS)
                .filter_map(DeviceToken::decode)
                .collect(),
        )
    }

    /// The token this browser holds for `account`, valid or not.
    pub fn for_account(&self, account: &Account) -> Option<&DeviceToken> {
        self.0.iter().find(|t| &t.account == account)
    }

    /// The cookie value after a sign-in as `account`: its token issued anew (keeping the
    /// device id of a valid one, so the device's failure count follows it), the other
    /// accounts' valid tokens kept, the most recent [`MAX_TOKENS`].
    pub fn after_sign_in(&self, keys: &SignInKeys, account: Account, now: i64, ttl: i64) -> String {
        let mut valid: Vec<DeviceToken> = self
            .0
            .iter()
            .filter(|t| t.is_valid(keys, now, ttl))
            .copied()
            .collect();
        let device = match valid.iter().position(|t| t.account == account) {
            Some(i) => valid.remove(i).device,
            None => random_bytes(),
        };
        valid.retain(|t| t.account != account);
        valid.sort_by_key(|t| std::cmp::Reverse(t.issued));
        valid.truncate(MAX_TOKENS - 1);
        let mut tokens = vec![DeviceToken::issue(keys, account, device, now)];
        tokens.extend(valid);
        tokens
            .iter()
            .map(DeviceToken::encode)
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;

    use super::*;
    use crate::store::DeploymentSecret;

    fn keys(byte: u8) -> SignInKeys {
        SignInKeys::new(&DeploymentSecret {
            value: b64url(&[byte; 32]),
            created_at: 0,
        })
        .expect("keys")
    }

    fn presented(value: &str) -> DeviceTokens {
        let mut req = Request::new(Body::Empty);
        req.headers_mut().insert(
            "cookie",
            format!("{COOKIE}={value}").parse().expect("header"),
        );
        DeviceTokens::from_request(&req, false)
    }

    #[test]
    fn a_token_is_valid_for_its_account_deployment_and_lifetime() {
        let (k, now, ttl) = (keys(1), 1_700_000_000, 3600);
        let alice = account_of("Alice");
        assert_eq!(alice, account_of("alice"));
        let cookie = DeviceTokens::default().after_sign_in(&k, alice, now, ttl);
        let tokens = presented(&cookie);
        let t = tokens.for_account(&alice).expect("alice's token");
        assert!(t.is_valid(&k, now + ttl - 1, ttl));
        assert!(!t.is_valid(&k, now + ttl, ttl), "expired");
        assert!(!t.is_valid(&keys(2), now, ttl), "another deployment");
        assert!(tokens.for_account(&account_of("bob")).is_none());

        // Tampering with any byte breaks it.
        let mut forged = *t;
        forged.issued += 1000;
        assert!(!forged.is_valid(&k, now + 10, ttl));
        let mut forged = *t;
        forged.account = account_of("bob");
        assert!(!forged.is_valid(&k, now, ttl));
    }

    #[test]
    fn one_cookie_holds_the_most_recent_accounts_and_keeps_device_ids() {
        let (k, ttl) = (keys(1), 10_000);
        let mut cookie = String::new();
        for i in 0..(MAX_TOKENS as i64 + 3) {
            let account = account_of(&format!("user{i}"));
            cookie = presented(&cookie).after_sign_in(&k, account, 1000 + i, ttl);
        }
        let tokens = presented(&cookie);
        assert_eq!(tokens.0.len(), MAX_TOKENS);
        assert!(
            tokens.for_account(&account_of("user0")).is_none(),
            "the oldest went"
        );
        let last = account_of(&format!("user{}", MAX_TOKENS + 2));
        let device = tokens.for_account(&last).expect("newest").device_id();
        let again = presented(&tokens.after_sign_in(&k, last, 5000, ttl));
        let renewed = again.for_account(&last).expect("renewed");
        assert_eq!(renewed.device_id(), device, "same device");
        assert_eq!(renewed.issued, 5000);
        assert!(cookie.len() < 800, "{}", cookie.len());
        // Garbage and forged entries are dropped, never an error.
        let junk = presented(&format!("x.{}.!!", "A".repeat(96)));
        assert!(junk.0.len() <= 1);
        assert!(junk.0.iter().all(|t| !t.is_valid(&k, 1000, ttl)));
    }
}
