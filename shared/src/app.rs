//! The application value: configuration and backends, built once per container (or once
//! per local server, see `crate::assembly`) and passed by reference to every handler. No
//! global state.
//!
//! `App` is generic over what it holds so that a handler's signature says what it may
//! touch: a plain `&App` holds the key set as a [`Verifier`] and cannot sign; only the
//! token endpoint takes a [`SigningApp`].
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use crate::{
    clock::Clock,
    config::Config,
    jose::verified::VerifiedTokens,
    signer::{Signer, Verifier},
    store::{Client, ClientStore, Store, StoreResult},
};

/// The provider as a function that only verifies tokens sees it: `S` the store, `K` the
/// key set (a [`Verifier`], or a [`Signer`] for [`SigningApp`]).
pub struct App<S: ?Sized = dyn Store, K: ?Sized = dyn Verifier> {
    pub config: Config,
    pub store: Arc<S>,
    /// The provider's keys: public keys to verify with, and, in a [`SigningApp`], the
    /// signer.
    pub keys: Arc<K>,
    pub clock: Arc<dyn Clock>,
    /// Documents that depend only on the configuration and the published keys (discovery,
    /// the JWKS), serialized once per distinct key set rather than on every request.
    rendered: Mutex<HashMap<String, Arc<str>>>,
    /// The keys derived from the deployment secret, once a sign-in has read it.
    pub(crate) signin_keys: OnceLock<Arc<crate::signin::SignInKeys>>,
    /// Access tokens already verified against the current key set.
    pub(crate) verified: VerifiedTokens,
    /// Opens sealed TOTP secrets at sign-in (`endpoints::login::totp`), in the functions
    /// that may (`with_sealer`); None elsewhere.
    pub sealer: Option<Arc<dyn crate::federation::seal::Sealer>>,
}

/// The provider as the function that issues tokens sees it: its keys can sign.
pub type SigningApp<S = dyn Store> = App<S, dyn Signer>;

impl<S: ?Sized, K: ?Sized> App<S, K> {
    pub fn new(config: Config, store: Arc<S>, keys: Arc<K>, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            store,
            keys,
            clock,
            rendered: Mutex::new(HashMap::new()),
            signin_keys: OnceLock::new(),
            verified: VerifiedTokens::default(),
            sealer: None,
        }
    }

    /// What opens and seals secrets in this function: the server's error where it holds none
    /// (a misassembled function, never a request's fault).
    pub fn sealer(&self) -> Result<&dyn crate::federation::seal::Sealer, crate::error::OAuthError> {
        self.sealer.as_deref().ok_or_else(|| {
            crate::error::OAuthError::server_error("this function holds no sealer for secrets")
        })
    }

    /// The same provider, opening sealed secrets with `sealer`.
    pub fn with_sealer(mut self, sealer: Arc<dyn crate::federation::seal::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// The same provider with other keys: what a function of another role holds (the
    /// local server runs both sides over one store).
    pub fn with_keys<K2: ?Sized>(&self, keys: Arc<K2>) -> App<S, K2> {
        let mut app = App::new(
            self.config.clone(),
            self.store.clone(),
            keys,
            self.clock.clone(),
        );
        app.sealer = self.sealer.clone();
        app
    }

    /// A client as it may act now: dynamically registered clients are bounded by the current
    /// registration policy (`protocol::registration_policy`). Every endpoint reads clients
    /// through this, or passes what the store read through [`App::as_it_may_act`].
    pub async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>
    where
        S: ClientStore,
    {
        Ok(self
            .store
            .client(client_id)
            .await?
            .map(|c| self.as_it_may_act(c)))
    }

    /// A client read from the store, as it may act now (see [`App::client`]).
    pub fn as_it_may_act(&self, client: Client) -> Client {
        self.config.registration_policy.bound(client)
    }

    /// The document cached under `key`, rendering it on first use. `key` must name
    /// everything the document depends on besides the configuration.
    pub fn rendered(&self, key: String, render: impl FnOnce() -> String) -> Arc<str> {
        if let Some(doc) = self.rendered.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return doc;
        }
        let doc: Arc<str> = render().into();
        if let Ok(mut m) = self.rendered.lock() {
            // Key sets change a few times a year: a small map, reset if it ever grows.
            if m.len() >= 16 {
                m.clear();
            }
            m.insert(key, doc.clone());
        }
        doc
    }
}
