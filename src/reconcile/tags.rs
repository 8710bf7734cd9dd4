//! Putting a resource's tags back to the plan's, the same for keys and queues.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::AwsError;
use crate::aws::kms::Kms;
use crate::aws::sqs::Sqs;
use crate::resolve::TAG_CLUSTER;

use super::diff::{self, TagChanges};
use super::report::Repair;

/// A service whose resources carry tags: KMS keys by id, SQS queues by URL.
pub(super) trait Tagging {
    /// Adds or overwrites `tags` on the resource `id`.
    async fn tag(&self, id: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError>;
    /// Removes the tags `keys` from the resource `id`.
    async fn untag(&self, id: &str, keys: &BTreeSet<String>) -> Result<(), AwsError>;
}

impl Tagging for Kms {
    async fn tag(&self, id: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        Kms::tag(self, id, tags).await
    }

    async fn untag(&self, id: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        Kms::untag(self, id, keys).await
    }
}

impl Tagging for Sqs {
    async fn tag(&self, id: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        Sqs::tag(self, id, tags).await
    }

    async fn untag(&self, id: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        Sqs::untag(self, id, keys).await
    }
}

/// Makes the tags of `id` exactly `wanted`, given that it has `current`: sets what differs,
/// then removes what the plan does not have. Returns what it changed.
pub(super) async fn restore(
    service: &impl Tagging,
    id: &str,
    wanted: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Result<TagChanges, AwsError> {
    let changes = diff::tag_changes(wanted, current);
    if !changes.set.is_empty() {
        service.tag(id, &changes.set).await?;
    }
    if !changes.remove.is_empty() {
        service.untag(id, &changes.remove).await?;
    }
    Ok(changes)
}

/// The correction `changes` made to tags that were `current`: the tagging of an adopted
/// resource, the finishing of a creation whose tagging was cut off (a resource of ours known by
/// what the operator wrote when it created it, with no ownership tags yet), or the restoring of
/// drifted tags; `None` when nothing changed.
pub(super) fn repair(
    changes: &TagChanges,
    current: &BTreeMap<String, String>,
    adopted: bool,
) -> Option<Repair> {
    if changes.is_empty() {
        return None;
    }
    let repair = if adopted {
        Repair::new("TagAdopted", "tagged it as this SecureQueue's")
    } else if !current.contains_key(TAG_CLUSTER) {
        Repair::new(
            "FinishTagging",
            "tagged it, which the pass that created it could not finish (the pass was cut short, or the service had not yet applied the policy through which the operator tags it)",
        )
    } else {
        let restored = changes.keys().join(", ");
        Repair::new("RestoreTags", format!("restored the tags {restored}"))
    };
    Some(repair.of(changes.differences(current)))
}
