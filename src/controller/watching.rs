//! What the controller watches, and how it gets the initial state.
//!
//! The watch keeps every SecureQueue's metadata only (each reconcile reads its object afresh),
//! and passes on only the changes that need a reconcile. The initial state comes as a stream of
//! watch events where the API server supports it (streaming lists, KEP-3157: `sendInitialEvents`),
//! and otherwise as one list from the API server's watch cache: in pages the list would be read
//! from etcd one page after another. Either way the first listing's SecureQueues are
//! reconcilable as they arrive (`first_listing.rs`), not once the last is in.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{PartialObjectMeta, WatchEvent, WatchParams};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};

use crate::api::SecureQueue;

use super::reconcile::RECONCILE_REQUESTED_AT;

/// The annotation of the bookmark that ends a streaming list's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A selector no SecureQueue carries, so that asking whether streaming lists work lists nothing.
const PROBE_SELECTOR: &str = "securequeue.io/streaming-list-probe=never";

/// The watcher's configuration for SecureQueues matching `labels`, streaming the initial state
/// when `streaming` says the API server can.
pub fn config(labels: Option<&str>, streaming: bool) -> watcher::Config {
    let mut config = watcher::Config::default().any_semantic();
    if let Some(selector) = labels {
        config = config.labels(selector);
    }
    config.page_size = None;
    if streaming {
        config = config.streaming_lists();
    }
    config
}

/// Whether the API server sends a watch's initial state as events. Asked once with a watch
/// whose selector matches nothing, so the answer lists nothing. Servers before 1.27 refuse or
/// ignore the parameters, and so do those whose WatchList feature is off (it is off by default
/// in 1.33): either way no bookmark ends initial events, and the operator lists instead.
pub async fn supports_streaming_lists(api: &Api<PartialObjectMeta<SecureQueue>>) -> bool {
    let params = WatchParams::streaming_lists()
        .labels(PROBE_SELECTOR)
        .timeout(2);
    let answer = async {
        let Ok(events) = api.watch_metadata(&params, "0").await else {
            return false;
        };
        let mut events = pin!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Bookmark(bookmark)) => {
                    if bookmark.metadata.annotations.get(INITIAL_EVENTS_END)
                        == Some(&"true".to_string())
                    {
                        return true;
                    }
                }
                Ok(WatchEvent::Error(_)) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        false
    };
    tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .unwrap_or(false)
}

/// What the watch passes on: a change of generation, the reconcile-request annotation,
/// finalizers or deletion. Status writes, including the operator's own, are filtered out.
pub fn change_marker(queue: &PartialObjectMeta<SecureQueue>) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    (
        queue.uid(),
        queue.metadata.generation,
        queue.annotations().get(RECONCILE_REQUESTED_AT),
        queue.finalizers(),
        queue.metadata.deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Drops what the watch never needs from a SecureQueue's metadata: managed fields, and the copy
/// of the whole manifest `kubectl apply` keeps in an annotation.
pub fn trim(queue: &mut PartialObjectMeta<SecureQueue>) {
    queue.metadata.managed_fields = None;
    if let Some(annotations) = queue.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}
