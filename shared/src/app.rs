//! The application value: configuration and backends, built once per container (or once
//! per local server) and passed by reference to every handler. No global state.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use crate::{
    clock::Clock,
    config::Config,
    signer::Signer,
    store::{Client, Store, StoreResult},
};

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
    /// Documents that depend only on the configuration and the published keys (discovery,
    /// the JWKS), serialized once per distinct key set rather than on every request.
    rendered: Mutex<HashMap<String, Arc<str>>>,
    /// The keys derived from the deployment secret, once a sign-in has read it.
    pub(crate) signin_keys: OnceLock<Arc<crate::signin::SignInKeys>>,
}

impl App {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        signer: Arc<dyn Signer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            store,
            signer,
            clock,
            rendered: Mutex::new(HashMap::new()),
            signin_keys: OnceLock::new(),
        }
    }

    /// A client as it may act now: dynamically registered clients are bounded by the current
    /// registration policy (`protocol::registration_policy`). Every endpoint reads clients
    /// through this.
    pub async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        Ok(self
            .store
            .client(client_id)
            .await?
            .map(|c| self.config.registration_policy.bound(c)))
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
