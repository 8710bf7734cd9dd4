//! The SQS adapter: every SQS call the operator makes, returning the operator's own types.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::plan::QueueAttributes;

use super::budget::Budgets;
use super::error::{AwsError, Endpoint};
use super::held::{self, HeldWrites};
use super::sender::Sender;

/// The SQS client, behind the operator's own vocabulary.
#[derive(Clone, Debug)]
pub struct Sqs {
    sqs: Sender<Client>,
}

fn attribute_map(attributes: &BTreeMap<String, String>) -> HashMap<QueueAttributeName, String> {
    attributes
        .iter()
        .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
        .collect()
}

impl Sqs {
    /// Wraps a configured client, which sends its calls to `endpoint`.
    pub fn new(client: Client, budgets: Arc<Budgets>, endpoint: Endpoint) -> Self {
        Self {
            sqs: Sender::new(client, budgets, endpoint),
        }
    }

    /// This adapter, holding back every write into `held` (see [`super::held`]).
    pub fn holding_writes(&self, held: &HeldWrites) -> Self {
        Self {
            sqs: self.sqs.holding_writes(held),
        }
    }

    /// The URL of the queue with this name, or `None` when there is none.
    pub async fn queue_url(&self, name: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .sqs
            .look_up(
                "GetQueueUrl",
                |c| c.get_queue_url().queue_name(name).send(),
                |e| e.is_queue_does_not_exist(),
            )
            .await?;
        Ok(out.and_then(|out| out.queue_url().map(str::to_string)))
    }

    /// Every attribute of the queue at `url`, as SQS returns them, or `None` when there is no
    /// queue there (any more).
    pub async fn attributes(
        &self,
        url: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = self
            .sqs
            .look_up(
                "GetQueueAttributes",
                |c| {
                    c.get_queue_attributes()
                        .queue_url(url)
                        .attribute_names(QueueAttributeName::All)
                        .send()
                },
                |e| e.is_queue_does_not_exist(),
            )
            .await?;
        Ok(out.map(|out| {
            out.attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        }))
    }

    /// The queue's tags.
    pub async fn tags(&self, url: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .sqs
            .read("ListQueueTags", |c| {
                c.list_queue_tags().queue_url(url).send()
            })
            .await?;
        Ok(out
            .tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Creates a queue with its attributes, its documents as JSON, returning its URL. No tags:
    /// on CreateQueue they would need `sqs:TagQueue` in the operator's IAM policy (see
    /// `policy::operator`).
    pub async fn create(
        &self,
        name: &str,
        attributes: &QueueAttributes,
    ) -> Result<String, AwsError> {
        let attributes = attribute_map(&attributes.to_sqs());
        let created = self
            .sqs
            .write("CreateQueue", name, |c| {
                c.create_queue()
                    .queue_name(name)
                    .set_attributes(Some(attributes.clone()))
                    .send()
            })
            .await?;
        let Some(out) = created else {
            return Ok(held::not_yet_made(&format!("queue {name}")));
        };
        out.queue_url()
            .map(str::to_string)
            .ok_or_else(|| self.sqs.missing("CreateQueue", "QueueUrl"))
    }

    /// Sets the given attributes, leaving others alone.
    pub async fn set_attributes(
        &self,
        url: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.sqs
            .write("SetQueueAttributes", url, |c| {
                c.set_queue_attributes()
                    .queue_url(url)
                    .set_attributes(Some(attribute_map(attributes)))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Sets the given tags, leaving others alone.
    pub async fn tag(&self, url: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.sqs
            .write("TagQueue", url, |c| {
                c.tag_queue()
                    .queue_url(url)
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Removes the given tag keys.
    pub async fn untag(&self, url: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        self.sqs
            .write("UntagQueue", url, |c| {
                c.untag_queue()
                    .queue_url(url)
                    .set_tag_keys(Some(keys.iter().cloned().collect()))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Deletes the queue and its messages.
    pub async fn delete(&self, url: &str) -> Result<(), AwsError> {
        self.sqs
            .write("DeleteQueue", url, |c| {
                c.delete_queue().queue_url(url).send()
            })
            .await?;
        Ok(())
    }
}
