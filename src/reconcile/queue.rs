//! The queue steps, the same for the dead-letter queue and the main queue: look the queue up by
//! name, check its owner, then create it or put back whatever drifted.

use std::collections::BTreeMap;

use crate::aws::sqs::Sqs;
use crate::plan::QueuePlan;

use super::diff;
use super::error::StepError;
use super::ownership::Owner;

/// Our queue as it is in AWS.
#[derive(Debug)]
pub(super) struct ExistingQueue {
    url: String,
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
}

impl ExistingQueue {
    /// The queue policy as SQS returned it.
    pub(super) fn policy(&self) -> Option<&str> {
        self.attributes.get("Policy").map(String::as_str)
    }
}

/// What the step did.
pub(super) struct QueueDone {
    pub url: String,
    /// Messages waiting (ApproximateNumberOfMessages), as read before this pass's writes.
    pub messages: Option<u64>,
    pub created: bool,
    pub corrections: Vec<String>,
}

/// Looks the queue up and checks that it is ours. `what` names it in messages.
pub(super) async fn observe(
    sqs: &Sqs,
    plan: &QueuePlan,
    owner: &Owner,
    what: &str,
) -> Result<Option<ExistingQueue>, StepError> {
    let Some(url) = sqs.queue_url(&plan.name).await? else {
        return Ok(None);
    };
    let (tags, attributes) = tokio::try_join!(sqs.tags(&url), sqs.attributes(&url))?;
    if let Some(conflict) = owner
        .judge(&tags)
        .conflict(&format!("the {what} `{}`", plan.name))
    {
        return Err(StepError::NameConflict(format!(
            "{conflict} in spec.queueName"
        )));
    }
    Ok(Some(ExistingQueue {
        url,
        attributes,
        tags,
    }))
}

/// Creates the queue, or puts back whatever drifted.
pub(super) async fn ensure(
    sqs: &Sqs,
    plan: &QueuePlan,
    found: Option<ExistingQueue>,
) -> Result<QueueDone, StepError> {
    let Some(existing) = found else {
        let url = sqs.create(&plan.name, &plan.attributes, &plan.tags).await?;
        return Ok(QueueDone {
            url,
            messages: Some(0),
            created: true,
            corrections: Vec::new(),
        });
    };
    let mut corrections = Vec::new();
    let mut changes = diff::attribute_changes(&plan.attributes, &existing.attributes);
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
        corrections.push(format!(
            "restored the attributes {}",
            changes
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let tag_changes = diff::tag_changes(&plan.tags, &existing.tags);
    if !tag_changes.set.is_empty() {
        sqs.tag(&existing.url, &tag_changes.set).await?;
    }
    if !tag_changes.remove.is_empty() {
        sqs.untag(&existing.url, &tag_changes.remove).await?;
    }
    if !tag_changes.is_empty() {
        corrections.push(format!(
            "restored the tags {}",
            tag_changes.keys().join(", ")
        ));
    }
    let messages = existing
        .attributes
        .get("ApproximateNumberOfMessages")
        .and_then(|n| n.parse().ok());
    Ok(QueueDone {
        url: existing.url,
        messages,
        created: false,
        corrections,
    })
}

/// Deletes the queue if it exists and is ours; a queue already gone is fine.
pub(super) async fn delete(
    sqs: &Sqs,
    plan: &QueuePlan,
    owner: &Owner,
    what: &str,
) -> Result<String, StepError> {
    match observe(sqs, plan, owner, what).await? {
        Some(existing) => {
            sqs.delete(&existing.url).await?;
            Ok(format!("deleted the {what} `{}`", plan.name))
        }
        None => Ok(format!("the {what} `{}` does not exist", plan.name)),
    }
}
