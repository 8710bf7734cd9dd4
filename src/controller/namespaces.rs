//! The namespaces' labels, for the SecureQueueAccounts that bind namespaces by a selector.
//! Metadata only; one namespace when the operator watches one.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PartialObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tracing::warn;

/// The namespaces' metadata as it is now, and a stream that keeps it so and yields after each
/// change; `None`, after a warning, where namespaces cannot be listed (a server of custom
/// resources alone, or no right to): then namespace selectors match no namespace.
pub async fn follow(
    client: Client,
    only: Option<&str>,
) -> Option<(
    Store<PartialObjectMeta<Namespace>>,
    impl Stream<Item = ()> + Send + 'static,
)> {
    let api: Api<PartialObjectMeta<Namespace>> = Api::all(client);
    let mut config = watcher::Config::default();
    let mut probe = ListParams::default().limit(1);
    if let Some(namespace) = only {
        let field = format!("metadata.name={namespace}");
        config = config.fields(&field);
        probe = probe.fields(&field);
    }
    if let Err(e) = api.list_metadata(&probe).await {
        warn!(error = %e, "cannot list namespaces: SecureQueueAccounts' namespaceSelectors match no namespace, only their namespaces lists do");
        return None;
    }
    let (reader, writer) = reflector::store();
    let changes = watcher(api, config)
        .default_backoff()
        .reflect(writer)
        .map(|event| {
            if let Err(e) = event {
                warn!(error = %e, "watching namespaces failed; retrying");
            }
        });
    Some((reader, changes))
}

/// Every known namespace's labels, by name.
pub fn labels(
    store: &Store<PartialObjectMeta<Namespace>>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    store
        .state()
        .iter()
        .map(|namespace| (namespace.name_any(), namespace.labels().clone()))
        .collect()
}
