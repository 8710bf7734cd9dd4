//! The namespaces' labels, for the SecureQueueAccounts that bind namespaces by a selector.
//! Metadata only; one namespace when the operator watches one.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tracing::warn;

/// The namespaces' metadata as it is now, and a stream that keeps it so and yields after each
/// change.
pub fn follow(
    client: Client,
    only: Option<&str>,
) -> (
    Store<PartialObjectMeta<Namespace>>,
    impl Stream<Item = ()> + Send + 'static,
) {
    let api: Api<PartialObjectMeta<Namespace>> = Api::all(client);
    let mut config = watcher::Config::default();
    if let Some(namespace) = only {
        config = config.fields(&format!("metadata.name={namespace}"));
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
    (reader, changes)
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
