//! The queue steps, the same for the dead-letter queue and the main queue: look the queue up by
//! name, check its owner, then create it or put back whatever drifted.

use std::collections::BTreeMap;

use crate::aws::ErrorKind;
use crate::aws::sqs::Sqs;
use crate::part::Part;
use crate::plan::QueuePlan;

use super::diff;
use super::error::StepError;
use super::memory::{Created, Identity, Recall};
use super::ownership::{Claim, Owner};
use super::report::Repair;
use super::tags;

/// Our queue as it is in AWS.
#[derive(Debug)]
pub(super) struct ExistingQueue {
    url: String,
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// Whether `tags` were read in this pass, rather than remembered.
    tags_read: bool,
    /// Whether it is used although it is not ours: adopted, or observed.
    adopted: bool,
}

impl ExistingQueue {
    /// The queue policy as SQS returned it.
    pub(super) fn policy(&self) -> Option<&str> {
        self.attributes.get("Policy").map(String::as_str)
    }

    /// Whether it is used although it is not ours.
    pub(super) fn adopted(&self) -> bool {
        self.adopted
    }

    /// The key the queue is encrypted with now, when the plan names another: it must stay
    /// enabled while messages it encrypted remain in the queue ("existing messages encrypted
    /// with the old KMS key will remain encrypted with that key", Amazon SQS Developer Guide,
    /// "Amazon SQS key management":
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html>).
    /// securequeue never disables or deletes a key it did not make.
    pub(super) fn replaced_key(&self, plan: &QueuePlan) -> Option<&str> {
        let current = self.attributes.get("KmsMasterKeyId")?;
        let planned = plan.attributes.settings.get("KmsMasterKeyId")?;
        (!diff::same_attribute("KmsMasterKeyId", planned, Some(current)))
            .then_some(current.as_str())
    }
}

/// What the step did.
pub(super) struct QueueDone {
    pub url: String,
    /// Whether it was used although not ours.
    pub adopted: bool,
    /// Messages waiting (ApproximateNumberOfMessages), as read before this pass's writes.
    pub messages: Option<u64>,
    pub created: bool,
    pub corrections: Vec<Repair>,
    /// Which queue this is, when SQS said when it was created.
    pub identity: Option<Identity>,
    /// Whether its tags were read in this pass.
    pub tags_read: bool,
}

/// The queue's CreatedTimestamp, in seconds since the epoch.
fn created_at(attributes: &BTreeMap<String, String>) -> Option<i64> {
    attributes.get("CreatedTimestamp")?.parse().ok()
}

/// Looks the queue up by name, reading its URL, attributes and tags.
async fn look_up(sqs: &Sqs, name: &str) -> Result<Option<ExistingQueue>, StepError> {
    let Some(url) = sqs.queue_url(name).await? else {
        return Ok(None);
    };
    let (tags, attributes) = tokio::try_join!(sqs.tags(&url), sqs.attributes(&url))?;
    // A queue deleted between the two calls is not there.
    Ok(attributes.map(|attributes| ExistingQueue {
        url,
        attributes,
        tags,
        tags_read: true,
        adopted: false,
    }))
}

/// Looks the queue up, at the URL an earlier pass remembered when there is one, reading its
/// tags unless they are remembered for this very queue. `None` when there is no queue.
async fn find(
    sqs: &Sqs,
    plan: &QueuePlan,
    recall: &Recall,
) -> Result<Option<ExistingQueue>, StepError> {
    let Some(url) = recall.url() else {
        return look_up(sqs, &plan.name).await;
    };
    let (attributes, audited_tags) = if matches!(recall, Recall::Audit(_)) {
        let (attributes, tags) = tokio::join!(sqs.attributes(url), sqs.tags(url));
        (attributes?, Some(tags))
    } else {
        (sqs.attributes(url).await?, None)
    };
    let Some(attributes) = attributes else {
        // The remembered queue is gone: look for one by name, as without a memory.
        return look_up(sqs, &plan.name).await;
    };
    let (tags, tags_read) = match audited_tags {
        Some(tags) => (tags?, true),
        None => match recall.queue_tags(url, created_at(&attributes)) {
            Some(tags) => (tags, false),
            None => (sqs.tags(url).await?, true),
        },
    };
    Ok(Some(ExistingQueue {
        url: url.to_string(),
        attributes,
        tags,
        tags_read,
        adopted: false,
    }))
}

/// Looks the queue `part` up and checks that it is ours, or that `claim` allows using it.
pub(super) async fn observe(
    sqs: &Sqs,
    plan: &QueuePlan,
    owner: &Owner,
    claim: &Claim<'_>,
    part: Part,
    recall: &Recall,
) -> Result<Option<ExistingQueue>, StepError> {
    let Some(found) = find(sqs, plan, recall).await? else {
        return Ok(None);
    };
    let ownership = owner.judge_queue(&found.tags, found.policy());
    let resource = format!("the {} `{}`", part.noun(), plan.name);
    let adopted = claim
        .judge(&ownership, &resource, &plan.arn)
        .map_err(|refusal| StepError::from(refusal).in_field("spec.queueName"))?;
    Ok(Some(ExistingQueue { adopted, ..found }))
}

/// Creates the queue, or puts back whatever drifted.
pub(super) async fn ensure(
    sqs: &Sqs,
    plan: &QueuePlan,
    found: Option<ExistingQueue>,
) -> Result<QueueDone, StepError> {
    let Some(existing) = found else {
        let url = sqs.create(&plan.name, &plan.attributes).await?;
        tag_new(sqs, plan, &url).await?;
        let created = Created::ByUs(jiff::Timestamp::now().as_second());
        return Ok(QueueDone {
            identity: Some(Identity::Queue {
                url: url.clone(),
                created,
            }),
            url,
            adopted: false,
            messages: Some(0),
            created: true,
            corrections: Vec::new(),
            tags_read: true,
        });
    };
    let mut corrections = Vec::new();
    let mut changes = diff::attribute_changes(&plan.attributes.to_sqs(), &existing.attributes);
    for name in diff::CREATE_ONLY_ATTRIBUTES {
        if changes.remove(name).is_some() {
            return Err(StepError::Immutable(format!(
                "queue `{}` has {name}={}, which only a new queue can change; securequeue never replaces a queue that may hold messages",
                plan.name,
                existing
                    .attributes
                    .get(name)
                    .map_or("unset", String::as_str)
            )));
        }
    }
    if !changes.is_empty() {
        sqs.set_attributes(&existing.url, &changes).await?;
        let restored = changes
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        corrections.push(
            Repair::new(
                restore_action(&changes),
                format!("restored the attributes {restored}"),
            )
            .of(diff::attribute_differences(&changes, &existing.attributes)),
        );
    }
    let tag_changes = tags::restore(sqs, &existing.url, &plan.tags, &existing.tags).await?;
    corrections.extend(tags::repair(&tag_changes, &existing.tags, existing.adopted));
    let messages = existing
        .attributes
        .get("ApproximateNumberOfMessages")
        .and_then(|n| n.parse().ok());
    Ok(QueueDone {
        identity: created_at(&existing.attributes).map(|at| Identity::Queue {
            url: existing.url.clone(),
            created: Created::At(at),
        }),
        url: existing.url,
        adopted: existing.adopted,
        messages,
        created: false,
        corrections,
        tags_read: existing.tags_read,
    })
}

/// The Event action of restoring `changes`: the queue policy and the redrive documents, which
/// decide who may do what, each keep Events of their own beside the other attributes'.
fn restore_action(changes: &BTreeMap<String, String>) -> &'static str {
    if changes.contains_key("Policy") {
        "RestoreQueuePolicy"
    } else if changes.contains_key("RedrivePolicy") || changes.contains_key("RedriveAllowPolicy") {
        "RestoreRedrivePolicy"
    } else {
        "RestoreQueueAttributes"
    }
}

/// Tags a queue made in this pass, through the queue policy CreateQueue set. SQS may take a
/// while to apply a new queue's policy ("When you change a queue's attributes, the change can
/// take up to 60 seconds for most of the attributes to propagate", Amazon SQS API Reference,
/// "SetQueueAttributes"), so a refusal here is waited out, not reported as a missing permission:
/// the next pass knows the untagged queue by its policy's `Id` and tags it.
async fn tag_new(sqs: &Sqs, plan: &QueuePlan, url: &str) -> Result<(), StepError> {
    match sqs.tag(url, &plan.tags).await {
        Err(e) if e.kind == ErrorKind::AccessDenied => {
            Err(StepError::QueuePolicyPropagating(format!(
                "created the queue `{}`; SQS has not yet applied its policy, through which the operator tags it (this can take up to a minute), so the next pass tags it ({e})",
                plan.name
            )))
        }
        tagged => Ok(tagged?),
    }
}

/// Deletes the queue `part` if it exists and is ours; a queue already gone is fine.
pub(super) async fn delete(
    sqs: &Sqs,
    plan: &QueuePlan,
    owner: &Owner,
    part: Part,
) -> Result<String, StepError> {
    let what = part.noun();
    match observe(sqs, plan, owner, &Claim::Ours, part, &Recall::Nothing).await? {
        Some(existing) => {
            sqs.delete(&existing.url).await?;
            Ok(format!("deleted the {what} `{}`", plan.name))
        }
        None => Ok(format!("the {what} `{}` does not exist", plan.name)),
    }
}
