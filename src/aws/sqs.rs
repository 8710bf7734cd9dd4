//! The SQS adapter: every SQS call the operator makes, returning the operator's own types.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::plan::QueueAttributes;

use super::budget::{Budgets, Paced};
use super::error::{AwsError, Endpoint, mapper};
use super::held::{self, Gate, HeldWrites};

/// The SQS client, behind the operator's own vocabulary.
#[derive(Clone, Debug)]
pub struct Sqs {
    client: Paced<Client>,
    /// Where writes go: to AWS, or held back in a dry run.
    gate: Gate,
    /// Where the client sends its calls, for errors.
    endpoint: Endpoint,
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
            client: Paced::new(client, budgets),
            gate: Gate::default(),
            endpoint,
        }
    }

    /// This adapter, holding back every write into `held` (see [`super::held`]).
    pub fn holding_writes(&self, held: &HeldWrites) -> Self {
        Self {
            gate: Gate::holding(held),
            ..self.clone()
        }
    }

    /// The URL of the queue with this name, or `None` when there is none.
    pub async fn queue_url(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .client
            .send("GetQueueUrl", |c| c.get_queue_url().queue_name(name).send())
            .await
        {
            Ok(out) => Ok(out.queue_url().map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                super::calls::note_not_found("sqs:GetQueueUrl");
                Ok(None)
            }
            Err(e) => Err(mapper("sqs", "GetQueueUrl", &self.endpoint)(e)),
        }
    }

    /// Every attribute of the queue at `url`, as SQS returns them, or `None` when there is no
    /// queue there (any more).
    pub async fn attributes(
        &self,
        url: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let sent = self
            .client
            .send("GetQueueAttributes", |c| {
                c.get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send()
            })
            .await;
        match sent {
            Ok(out) => Ok(Some(
                out.attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                super::calls::note_not_found("sqs:GetQueueAttributes");
                Ok(None)
            }
            Err(e) => Err(mapper("sqs", "GetQueueAttributes", &self.endpoint)(e)),
        }
    }

    /// The queue's tags.
    pub async fn tags(&self, url: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .client
            .send("ListQueueTags", |c| {
                c.list_queue_tags().queue_url(url).send()
            })
            .await
            .map_err(mapper("sqs", "ListQueueTags", &self.endpoint))?;
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
        if self.gate.holds("sqs", "CreateQueue", name) {
            return Ok(held::not_yet_made(&format!("queue {name}")));
        }
        let attributes = attribute_map(&attributes.to_sqs());
        let out = self
            .client
            .send("CreateQueue", |c| {
                c.create_queue()
                    .queue_name(name)
                    .set_attributes(Some(attributes.clone()))
                    .send()
            })
            .await
            .map_err(mapper("sqs", "CreateQueue", &self.endpoint))?;
        out.queue_url()
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing("sqs", "CreateQueue", "QueueUrl"))
    }

    /// Sets the given attributes, leaving others alone.
    pub async fn set_attributes(
        &self,
        url: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        if self.gate.holds("sqs", "SetQueueAttributes", url) {
            return Ok(());
        }
        self.client
            .send("SetQueueAttributes", |c| {
                c.set_queue_attributes()
                    .queue_url(url)
                    .set_attributes(Some(attribute_map(attributes)))
                    .send()
            })
            .await
            .map_err(mapper("sqs", "SetQueueAttributes", &self.endpoint))?;
        Ok(())
    }

    /// Sets the given tags, leaving others alone.
    pub async fn tag(&self, url: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        if self.gate.holds("sqs", "TagQueue", url) {
            return Ok(());
        }
        self.client
            .send("TagQueue", |c| {
                c.tag_queue()
                    .queue_url(url)
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .send()
            })
            .await
            .map_err(mapper("sqs", "TagQueue", &self.endpoint))?;
        Ok(())
    }

    /// Removes the given tag keys.
    pub async fn untag(&self, url: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        if self.gate.holds("sqs", "UntagQueue", url) {
            return Ok(());
        }
        self.client
            .send("UntagQueue", |c| {
                c.untag_queue()
                    .queue_url(url)
                    .set_tag_keys(Some(keys.iter().cloned().collect()))
                    .send()
            })
            .await
            .map_err(mapper("sqs", "UntagQueue", &self.endpoint))?;
        Ok(())
    }

    /// Deletes the queue and its messages.
    pub async fn delete(&self, url: &str) -> Result<(), AwsError> {
        if self.gate.holds("sqs", "DeleteQueue", url) {
            return Ok(());
        }
        self.client
            .send("DeleteQueue", |c| c.delete_queue().queue_url(url).send())
            .await
            .map_err(mapper("sqs", "DeleteQueue", &self.endpoint))?;
        Ok(())
    }
}
