//! What the soak's emulator holds at the end, read with plain SDK clients: every key with its
//! owner by tag and by description, every queue with its owner by tag, and the writes the
//! emulator recorded.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use securequeue::api::SecureQueue;
use securequeue::resolve::{TAG_NAME, TAG_NAMESPACE, key_description_owner};

use super::wave::throttled_so_far;
use crate::emulator::{queue_urls, recorded_at};

/// The writes a fresh converge makes when nothing cuts it: CreateKey, TagResource, CreateAlias,
/// EnableKeyRotation, and CreateQueue and TagQueue for each of the two queues (`plan::steps`).
const FRESH_WRITES: usize = 8;

/// A SecureQueue, as `namespace/name`.
type Owner = String;

/// One key in the emulator.
#[derive(Debug)]
struct Key {
    id: String,
    state: String,
    by_tag: Option<Owner>,
    by_description: Option<Owner>,
}

/// One queue in the emulator.
#[derive(Debug)]
struct Queue {
    url: String,
    by_tag: Option<Owner>,
}

/// Everything in the emulator, and its request counts.
pub struct Census {
    keys: Vec<Key>,
    queues: Vec<Queue>,
    /// Write requests the emulator received, throttled ones included.
    writes: usize,
    /// Attempts it throttled since it last started.
    throttled: u64,
}

impl Census {
    /// Reads everything the emulator at `endpoint` holds.
    pub async fn take(endpoint: &str) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .load()
            .await;
        let kms = aws_sdk_kms::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        Self {
            keys: keys(&kms).await,
            queues: queues(&sqs).await,
            writes: recorded_at(endpoint, "")
                .iter()
                .filter(|r| r.is_write())
                .count(),
            throttled: throttled_so_far(endpoint),
        }
    }

    /// The figures: resources, and writes over the design's minimum, per kill.
    pub fn summary(&self, queues: usize, kills: usize, throttled_before: u64) -> String {
        let throttled = self.throttled + throttled_before;
        let over = (self.writes as i64 - throttled as i64) - (FRESH_WRITES * queues) as i64;
        format!(
            "{} keys, {} queues; {} writes (and {throttled} throttled attempts): {over} over the design's minimum of {}, {:.1} per kill",
            self.keys.len(),
            self.queues.len(),
            self.writes as u64 - throttled,
            FRESH_WRITES * queues,
            over as f64 / kills.max(1) as f64
        )
    }

    /// Asserts that each of `ready` has exactly one key and two queues, those its status names,
    /// and that nothing else is in the emulator.
    pub fn assert_exactly_one_each(&self, ready: &[SecureQueue]) {
        let mut keys_by_tag: BTreeMap<&str, Vec<&Key>> = BTreeMap::new();
        let mut keys_by_description: BTreeMap<&str, Vec<&Key>> = BTreeMap::new();
        for key in &self.keys {
            let owner = key.by_tag.as_deref().or(key.by_description.as_deref());
            assert!(owner.is_some(), "an orphan key: {key:?}");
            if let Some(owner) = &key.by_tag {
                keys_by_tag.entry(owner).or_default().push(key);
            }
            if let Some(owner) = &key.by_description {
                keys_by_description.entry(owner).or_default().push(key);
            }
        }
        let mut queues_by_tag: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for queue in &self.queues {
            let owner = queue.by_tag.as_deref();
            let owner = owner.unwrap_or_else(|| panic!("an orphan queue: {queue:?}"));
            queues_by_tag.entry(owner).or_default().push(&queue.url);
        }
        for queue in ready {
            let owner = owner_of(queue);
            let status = queue
                .status
                .as_ref()
                .expect("a Ready SecureQueue has a status");
            let by_tag = keys_by_tag.get(owner.as_str()).map_or(&[][..], |k| k);
            let by_description = keys_by_description
                .get(owner.as_str())
                .map_or(&[][..], |k| k);
            assert_eq!(by_tag.len(), 1, "{owner}: keys by tag {by_tag:?}");
            assert_eq!(
                by_description.len(),
                1,
                "{owner}: keys by description {by_description:?}"
            );
            let key = by_tag[0];
            assert_eq!(key.id, by_description[0].id, "{owner}");
            assert_eq!(key.state, "Enabled", "{owner}: {key:?}");
            let named = status.key_arn.as_deref().unwrap_or_default();
            assert!(named.ends_with(&key.id), "{owner}: status names {named}");
            let mut urls = queues_by_tag
                .get(owner.as_str())
                .cloned()
                .unwrap_or_default();
            urls.sort();
            let mut named = vec![
                status.queue_url.as_deref().unwrap_or_default(),
                status.dead_letter_queue_url.as_deref().unwrap_or_default(),
            ];
            named.sort();
            assert_eq!(urls, named, "{owner}: its queue and dead-letter queue");
        }
        assert_eq!(self.keys.len(), ready.len(), "one key per SecureQueue");
        assert_eq!(self.queues.len(), 2 * ready.len(), "two queues per one");
    }
}

fn owner_of(queue: &SecureQueue) -> Owner {
    format!(
        "{}/{}",
        queue.metadata.namespace.as_deref().unwrap_or_default(),
        queue.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The owner the namespace and name tags name, if both are there.
fn tagged_owner<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Option<Owner> {
    let tags: BTreeMap<&str, &str> = tags.collect();
    Some(format!(
        "{}/{}",
        tags.get(TAG_NAMESPACE)?,
        tags.get(TAG_NAME)?
    ))
}

async fn keys(kms: &aws_sdk_kms::Client) -> Vec<Key> {
    let listed: Vec<_> = kms
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("ListKeys");
    let mut keys = Vec::new();
    for listed in listed {
        let id = listed.key_id().expect("a key id").to_string();
        let tags = kms
            .list_resource_tags()
            .key_id(&id)
            .send()
            .await
            .expect("ListResourceTags");
        let metadata = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata
            .expect("key metadata");
        keys.push(Key {
            state: metadata
                .key_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            by_tag: tagged_owner(tags.tags().iter().map(|t| (t.tag_key(), t.tag_value()))),
            by_description: key_description_owner(metadata.description().unwrap_or_default())
                .map(|(namespace, name, _)| format!("{namespace}/{name}")),
            id,
        });
    }
    keys
}

async fn queues(sqs: &aws_sdk_sqs::Client) -> Vec<Queue> {
    let mut queues = Vec::new();
    for url in queue_urls(sqs, "").await {
        let tags = sqs
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .expect("ListQueueTags");
        let tags = tags.tags().into_iter().flatten();
        queues.push(Queue {
            by_tag: tagged_owner(tags.map(|(k, v)| (k.as_str(), v.as_str()))),
            url,
        });
    }
    queues
}
