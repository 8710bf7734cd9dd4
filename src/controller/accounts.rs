//! The platform team's SecureQueueAccounts, followed from the cluster: the reconciler's account
//! bindings are replaced whenever a SecureQueueAccount, or the labels of a namespace a selector
//! looks at, change what binds where, and the controller then looks again at the SecureQueues
//! of the namespaces the change concerns (and no others: a fleet is not read again from AWS for
//! another team's binding), so a removed binding stalls its SecureQueues at once
//! (`GuardrailAccount`).
//!
//! Without the SecureQueueAccount CRD (an upgrade that did not apply `crds/`) or the right to
//! read it, the operator works in its own account only and says so at start.

use futures::channel::mpsc;
use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tracing::{info, warn};

use crate::accounts::Accounts;
use crate::api::{SecureQueue, SecureQueueAccount};
use crate::reconcile::Reconciler;

use super::namespaces;

/// A namespace's metadata, all the operator reads of it.
type NamespaceMeta = PartialObjectMeta<Namespace>;
/// A SecureQueue's metadata, as the controller's store holds it.
type QueueMeta = PartialObjectMeta<SecureQueue>;

/// Starts following the SecureQueueAccounts (and the namespaces' labels), returning once the
/// reconciler has the bindings as they are now; the stream then names each SecureQueue of
/// `queues` whose namespace a change concerns. `None` when they cannot be read.
pub async fn follow(
    client: Client,
    reconciler: Reconciler,
    only: Option<String>,
    queues: Store<QueueMeta>,
) -> Option<impl Stream<Item = ObjectRef<QueueMeta>> + Send + 'static> {
    let api: Api<SecureQueueAccount> = Api::all(client.clone());
    if let Err(e) = api.list(&ListParams::default().limit(1)).await {
        warn!(error = %e, "cannot read SecureQueueAccounts (is crds/securequeue.io_securequeueaccounts.yaml applied, and may the operator list them?): SecureQueues can use the operator's own account only");
        return None;
    }
    let (bindings, writer) = reflector::store();
    let account_changes = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .map(|event| {
            if let Err(e) = event {
                warn!(error = %e, "watching SecureQueueAccounts failed; retrying");
            }
        });
    let (labels, label_changes) = match namespaces::follow(client, only.as_deref()).await {
        Some((labels, changes)) => (Some(labels), changes.boxed()),
        None => (None, stream::empty().boxed()),
    };
    let mut changes = stream::select(account_changes, label_changes).boxed();
    let (tx, rx) = mpsc::unbounded();
    let ready = {
        let (bindings, labels) = (bindings.clone(), labels.clone());
        async move {
            let _ = bindings.wait_until_ready().await;
            if let Some(labels) = labels {
                let _ = labels.wait_until_ready().await;
            }
        }
    };
    // Drive the watches until both have listed, then keep following them in the background.
    tokio::select! {
        () = ready => {}
        _ = async { while changes.next().await.is_some() {} } => {}
    }
    let mut before = current(&bindings, labels.as_ref());
    announce(&before);
    reconciler.set_accounts(before.clone());
    tokio::spawn(async move {
        while changes.next().await.is_some() {
            let now = current(&bindings, labels.as_ref());
            let changed = now.changed_namespaces(&before);
            if changed.is_empty() {
                continue;
            }
            announce(&now);
            reconciler.set_accounts(now.clone());
            before = now;
            for queue in queues.state() {
                if queue.namespace().is_some_and(|ns| changed.contains(&ns)) {
                    let _ = tx.unbounded_send(ObjectRef::from_obj(&*queue));
                }
            }
        }
    });
    Some(rx)
}

/// The bindings as the stores hold them now, with the namespaces' labels where a selector
/// needs them and they are known.
fn current(
    bindings: &Store<SecureQueueAccount>,
    labels: Option<&Store<NamespaceMeta>>,
) -> Accounts {
    let resources: Vec<SecureQueueAccount> =
        bindings.state().iter().map(|a| (**a).clone()).collect();
    let accounts = Accounts::of(&resources);
    match labels {
        Some(labels) if accounts.selects_by_labels() => {
            accounts.with_labels(namespaces::labels(labels))
        }
        _ => accounts,
    }
}

fn announce(accounts: &Accounts) {
    info!(bindings = accounts.len(), "account bindings");
    for problem in accounts.problems() {
        warn!(%problem, "an invalid SecureQueueAccount binds nothing");
    }
}
