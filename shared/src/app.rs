//! The application value: configuration and backends, built once per container (or once
//! per local server) and passed by reference to every handler. No global state.
use std::sync::Arc;

use crate::{clock::Clock, config::Config, signer::Signer, store::Store};

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
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
        }
    }
}
