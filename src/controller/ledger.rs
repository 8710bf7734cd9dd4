//! Where the controller keeps a SecureQueue's key ledger ([`crate::reconcile::ledger`]):
//! `status.keyCreation`, written by server-side apply under a field manager of its own, so the
//! whole-status writes of the reconcile (which never carry it) neither remove nor own it. Only
//! while this replica leads.

use kube::api::Api;
use serde_json::json;

use crate::api::{KeyCreation, SecureQueue};
use crate::fence::WriteFence;
use crate::reconcile::ledger::{LedgerStore, Written};

use super::status_apply::apply_status;

/// The field manager of `status.keyCreation`.
pub const LEDGER_FIELD_MANAGER: &str = "securequeue-key-ledger";

/// One SecureQueue's ledger in its status.
pub struct StatusLedger {
    api: Api<SecureQueue>,
    name: String,
    fence: WriteFence,
}

impl StatusLedger {
    /// The ledger of the SecureQueue `name` that `api` reaches, written through `fence`.
    pub fn new(api: Api<SecureQueue>, name: String, fence: WriteFence) -> Self {
        Self { api, name, fence }
    }
}

impl LedgerStore for StatusLedger {
    fn write(&self, creation: Option<KeyCreation>) -> Written {
        let (api, name, fence) = (self.api.clone(), self.name.clone(), self.fence.clone());
        Box::pin(async move {
            // Applying no keyCreation removes the one this manager wrote.
            let status = match creation {
                Some(creation) => json!({ "keyCreation": creation }),
                None => json!({}),
            };
            apply_status::<Box<dyn std::error::Error + Send + Sync>>(
                &fence,
                &api,
                &name,
                LEDGER_FIELD_MANAGER,
                status,
            )
            .await
            .map_err(|e| e.to_string())
        })
    }
}
