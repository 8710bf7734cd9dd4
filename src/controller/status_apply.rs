//! Status fields written by server-side apply under a field manager, only while this replica
//! leads: the reconcile's whole status and the key ledger's `status.keyCreation` both go this
//! way, each under its own manager.

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::api::SecureQueue;
use crate::fence::{Fenced, WriteFence};

/// Applies the status fields `status` holds to the SecureQueue `name` by server-side apply as
/// `manager`, forced: the fields that manager wrote before and `status` lacks are removed. Only
/// while this replica leads (`fence`).
pub async fn apply_status<E: From<Fenced> + From<kube::Error>>(
    fence: &WriteFence,
    api: &Api<SecureQueue>,
    name: &str,
    manager: &str,
    status: serde_json::Value,
) -> Result<(), E> {
    let applied = json!({
        "apiVersion": SecureQueue::api_version(&()),
        "kind": SecureQueue::kind(&()),
        "status": status,
    });
    fence.check()?;
    api.patch_status(
        name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(applied),
    )
    .await?;
    Ok(())
}
