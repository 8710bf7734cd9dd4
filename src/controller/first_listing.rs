//! The first listing of SecureQueues, reconcilable as it arrives.
//!
//! kube's Controller holds every reconcile until its store is ready, and a reflector's store is
//! ready only once the whole initial listing is in (`InitDone`): with 10,000 SecureQueues the
//! first reconcile waits for the 10,000th object to stream in. For the first listing of a
//! process the store holds nothing yet, so nothing in it can be stale: each object may go
//! straight in as it arrives, and the store be ready from the start. So this adapter, between
//! the watcher and the reflector, turns the first `Init` into an empty listing done at once,
//! and the first listing's objects into plain `Apply` events. Every later listing (after the
//! watch is lost, or the first one restarting midway) passes as it is, so that objects deleted
//! meanwhile leave the store.

use futures::{Stream, StreamExt, stream};
use kube::runtime::watcher::{Error, Event};

/// Where the stream is in its first listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing seen yet.
    Before,
    /// The first listing's objects are arriving.
    Listing,
    /// The first listing is done, or was given up: events pass as they are.
    Passing,
}

/// The watcher's `events`, with the first listing's objects reconcilable as they arrive.
pub fn early<K>(
    events: impl Stream<Item = Result<Event<K>, Error>>,
) -> impl Stream<Item = Result<Event<K>, Error>> {
    let mut phase = Phase::Before;
    events.flat_map(move |event| {
        let (next, out) = step(phase, event);
        phase = next;
        stream::iter(out)
    })
}

/// What one event becomes in `phase`, and the phase after it.
fn step<K>(phase: Phase, event: Result<Event<K>, Error>) -> (Phase, Vec<Result<Event<K>, Error>>) {
    match (phase, event) {
        (Phase::Before, Ok(Event::Init)) => {
            (Phase::Listing, vec![Ok(Event::Init), Ok(Event::InitDone)])
        }
        (Phase::Listing, Ok(Event::InitApply(object))) => {
            (Phase::Listing, vec![Ok(Event::Apply(object))])
        }
        (Phase::Listing, Ok(Event::InitDone)) => (Phase::Passing, vec![]),
        // The first listing starts again: this one replaces the store as usual.
        (Phase::Listing, Ok(Event::Init)) => (Phase::Passing, vec![Ok(Event::Init)]),
        (Phase::Before, Ok(event)) => (Phase::Passing, vec![Ok(event)]),
        (phase, event) => (phase, vec![event]),
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use kube::runtime::reflector::{self, ObjectRef};
    use kube::runtime::{WatchStreamExt, watcher};

    use super::*;

    fn object(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("ns".to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Events written as `Init InitApply(a) InitDone`.
    fn events(written: &str) -> Vec<Event<ConfigMap>> {
        written
            .split_whitespace()
            .map(|word| match word.split_once('(') {
                None if word == "Init" => Event::Init,
                None => Event::InitDone,
                Some(("InitApply", name)) => Event::InitApply(object(name.trim_end_matches(')'))),
                Some((_, name)) => Event::Apply(object(name.trim_end_matches(')'))),
            })
            .collect()
    }

    /// What the adapter makes of the events `written`, written the same way.
    async fn through(written: &str) -> String {
        let out: Vec<String> = early(stream::iter(events(written).into_iter().map(Ok)))
            .map(|event| match event.expect("no errors given") {
                Event::Init => "Init".to_string(),
                Event::InitDone => "InitDone".to_string(),
                Event::Apply(o) => format!("Apply({})", o.metadata.name.unwrap()),
                Event::InitApply(o) => format!("InitApply({})", o.metadata.name.unwrap()),
                Event::Delete(o) => format!("Delete({})", o.metadata.name.unwrap()),
            })
            .collect()
            .await;
        out.join(" ")
    }

    #[tokio::test]
    async fn the_first_listing_is_done_at_once_and_its_objects_applied_as_they_come() {
        assert_eq!(
            through("Init InitApply(a) InitApply(b) InitDone Apply(c)").await,
            "Init InitDone Apply(a) Apply(b) Apply(c)"
        );
    }

    #[tokio::test]
    async fn a_later_listing_passes_as_it_is() {
        assert_eq!(
            through("Init InitApply(a) InitDone Init InitApply(b) InitDone").await,
            "Init InitDone Apply(a) Init InitApply(b) InitDone"
        );
    }

    #[tokio::test]
    async fn a_first_listing_that_starts_again_replaces_the_store_as_usual() {
        assert_eq!(
            through("Init InitApply(a) Init InitApply(b) InitDone").await,
            "Init InitDone Apply(a) Init InitApply(b) InitDone"
        );
    }

    #[tokio::test]
    async fn the_store_is_ready_and_holds_each_object_as_soon_as_it_arrives() {
        let (reader, writer) = reflector::store::<ConfigMap>();
        let (tx, rx) =
            futures::channel::mpsc::unbounded::<Result<Event<ConfigMap>, watcher::Error>>();
        let mut reflected = Box::pin(early(rx).reflect(writer));
        tx.unbounded_send(Ok(Event::Init)).unwrap();
        tx.unbounded_send(Ok(Event::InitApply(object("a"))))
            .unwrap();
        for _ in 0..3 {
            reflected.next().await.unwrap().unwrap();
        }
        reader.wait_until_ready().await.unwrap();
        assert!(reader.get(&ObjectRef::new("a").within("ns")).is_some());
        // A listing after the first still takes deleted objects out of the store.
        for event in events("InitDone Init InitApply(b) InitDone") {
            tx.unbounded_send(Ok(event)).unwrap();
        }
        for _ in 0..3 {
            reflected.next().await.unwrap().unwrap();
        }
        assert!(reader.get(&ObjectRef::new("a").within("ns")).is_none());
        assert!(reader.get(&ObjectRef::new("b").within("ns")).is_some());
    }
}
