//! The KMS adapter: every KMS call the operator makes, returning the operator's own types.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyUsageType, OriginType, Tag};

use crate::policy::operator::CREATE_KEY;

use super::budget::{Budgets, Paced};
use super::error::{AwsError, Endpoint, mapper};
use super::held::{self, Gate, HeldWrites};

/// KMS accepts one key policy per key, always named `default`.
const POLICY_NAME: &str = "default";

/// What the operator needs to know of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// Whether the key is customer managed (not AWS managed).
    pub customer_managed: bool,
    /// The key's description.
    pub description: String,
    /// When the key was created, in seconds since the epoch.
    pub created: Option<i64>,
}

impl KeyInfo {
    /// Whether KMS has scheduled the key's deletion.
    pub fn pending_deletion(&self) -> bool {
        self.state == "PendingDeletion" || self.state == "PendingReplicaDeletion"
    }
}

/// A key's rotation settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// Whether automatic rotation is on.
    pub enabled: bool,
    /// Days between rotations, when on.
    pub period_days: Option<i32>,
}

/// The KMS client, behind the operator's own vocabulary.
#[derive(Clone, Debug)]
pub struct Kms {
    client: Paced<Client>,
    /// Where writes go: to AWS, or held back in a dry run.
    gate: Gate,
    /// Where the client sends its calls, for errors.
    endpoint: Endpoint,
}

fn key_info(metadata: &aws_sdk_kms::types::KeyMetadata) -> KeyInfo {
    KeyInfo {
        key_id: metadata.key_id().to_string(),
        arn: metadata.arn().unwrap_or_default().to_string(),
        state: metadata
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        customer_managed: metadata.key_manager() == Some(&KeyManagerType::Customer),
        description: metadata.description().unwrap_or_default().to_string(),
        created: metadata.creation_date().map(|d| d.secs()),
    }
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .expect("tag key and value are set")
        })
        .collect()
}

impl Kms {
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

    /// The key an id, ARN or alias names, or `None` when there is none.
    pub async fn describe(&self, key: &str) -> Result<Option<KeyInfo>, AwsError> {
        match self
            .client
            .send("DescribeKey", |c| c.describe_key().key_id(key).send())
            .await
        {
            Ok(out) => Ok(out.key_metadata().map(key_info)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                super::calls::note_not_found("kms:DescribeKey");
                Ok(None)
            }
            Err(e) => Err(mapper("kms", "DescribeKey", &self.endpoint)(e)),
        }
    }

    /// The key's tags, every page of them, each page in its turn.
    pub async fn tags(&self, key_id: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut tags = BTreeMap::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .send("ListResourceTags", |c| {
                    c.list_resource_tags()
                        .key_id(key_id)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(mapper("kms", "ListResourceTags", &self.endpoint))?;
            for tag in page.tags() {
                tags.insert(tag.tag_key().to_string(), tag.tag_value().to_string());
            }
            marker = page
                .next_marker()
                .filter(|_| page.truncated())
                .map(str::to_string);
            if marker.is_none() {
                return Ok(tags);
            }
        }
    }

    /// The key policy as KMS returns it, or `None` when GetKeyPolicy answers without one.
    pub async fn policy(&self, key_id: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .send("GetKeyPolicy", |c| {
                c.get_key_policy()
                    .key_id(key_id)
                    .policy_name(POLICY_NAME)
                    .send()
            })
            .await
            .map_err(mapper("kms", "GetKeyPolicy", &self.endpoint))?;
        Ok(out.policy().map(str::to_string))
    }

    /// The key's rotation settings.
    pub async fn rotation(&self, key_id: &str) -> Result<Rotation, AwsError> {
        let out = self
            .client
            .send("GetKeyRotationStatus", |c| {
                c.get_key_rotation_status().key_id(key_id).send()
            })
            .await
            .map_err(mapper("kms", "GetKeyRotationStatus", &self.endpoint))?;
        Ok(Rotation {
            enabled: out.key_rotation_enabled(),
            period_days: out.rotation_period_in_days(),
        })
    }

    /// Creates a symmetric encryption key with its policy and description, and no tags: tags on
    /// CreateKey would need `kms:TagResource` in an IAM policy covering every key of the account
    /// ("To add tags when creating a KMS key, the caller must have kms:TagResource permission in
    /// an IAM policy. At a minimum, the permission must cover all KMS keys in the account and
    /// Region": <https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html>),
    /// which would let the operator tag, and so claim, keys it did not make. The key is tagged
    /// right after, through the key policy it is created with.
    pub async fn create_key(&self, description: &str, policy: &str) -> Result<KeyInfo, AwsError> {
        let new_key = held::not_yet_made("key");
        if self.gate.holds("kms", "CreateKey", &new_key) {
            return Ok(KeyInfo {
                key_id: new_key.clone(),
                arn: new_key,
                state: "Enabled".to_string(),
                customer_managed: true,
                description: description.to_string(),
                created: None,
            });
        }
        let out = self
            .client
            .send("CreateKey", |c| {
                c.create_key()
                    .description(description)
                    .policy(policy)
                    // Each stated, so that the operator's IAM policy can require them (its CreateKey
                    // statement's conditions are made from the same `CREATE_KEY`).
                    .key_spec(KeySpec::from(CREATE_KEY.key_spec))
                    .key_usage(KeyUsageType::from(CREATE_KEY.key_usage))
                    .origin(OriginType::from(CREATE_KEY.origin))
                    .multi_region(CREATE_KEY.multi_region)
                    .bypass_policy_lockout_safety_check(false)
                    .customize()
                    .config_override(
                        aws_sdk_kms::config::Builder::default()
                            .retry_classifier(super::ambiguous::NotRetriedWhenAmbiguous),
                    )
                    .send()
            })
            .await
            .map_err(mapper("kms", "CreateKey", &self.endpoint))?;
        out.key_metadata()
            .map(key_info)
            .ok_or_else(|| AwsError::missing("kms", "CreateKey", "KeyMetadata"))
    }

    /// Points a new alias at a key.
    pub async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "CreateAlias", alias) {
            return Ok(());
        }
        self.client
            .send("CreateAlias", |c| {
                c.create_alias()
                    .alias_name(alias)
                    .target_key_id(key_id)
                    .send()
            })
            .await
            .map_err(mapper("kms", "CreateAlias", &self.endpoint))?;
        Ok(())
    }

    /// Points an existing alias at another key.
    pub async fn update_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "UpdateAlias", alias) {
            return Ok(());
        }
        self.client
            .send("UpdateAlias", |c| {
                c.update_alias()
                    .alias_name(alias)
                    .target_key_id(key_id)
                    .send()
            })
            .await
            .map_err(mapper("kms", "UpdateAlias", &self.endpoint))?;
        Ok(())
    }

    /// Deletes an alias; the key stays.
    pub async fn delete_alias(&self, alias: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "DeleteAlias", alias) {
            return Ok(());
        }
        self.client
            .send("DeleteAlias", |c| c.delete_alias().alias_name(alias).send())
            .await
            .map_err(mapper("kms", "DeleteAlias", &self.endpoint))?;
        Ok(())
    }

    /// Turns automatic rotation on with the given period.
    pub async fn enable_rotation(&self, key_id: &str, period_days: i32) -> Result<(), AwsError> {
        if self.gate.holds("kms", "EnableKeyRotation", key_id) {
            return Ok(());
        }
        self.client
            .send("EnableKeyRotation", |c| {
                c.enable_key_rotation()
                    .key_id(key_id)
                    .rotation_period_in_days(period_days)
                    .send()
            })
            .await
            .map_err(mapper("kms", "EnableKeyRotation", &self.endpoint))?;
        Ok(())
    }

    /// Replaces the key policy.
    pub async fn put_policy(&self, key_id: &str, policy: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "PutKeyPolicy", key_id) {
            return Ok(());
        }
        self.client
            .send("PutKeyPolicy", |c| {
                c.put_key_policy()
                    .key_id(key_id)
                    .policy_name(POLICY_NAME)
                    .policy(policy)
                    .send()
            })
            .await
            .map_err(mapper("kms", "PutKeyPolicy", &self.endpoint))?;
        Ok(())
    }

    /// Sets the given tags, leaving others alone.
    pub async fn tag(&self, key_id: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        if self.gate.holds("kms", "TagResource", key_id) {
            return Ok(());
        }
        self.client
            .send("TagResource", |c| {
                c.tag_resource()
                    .key_id(key_id)
                    .set_tags(Some(tag_list(tags)))
                    .send()
            })
            .await
            .map_err(mapper("kms", "TagResource", &self.endpoint))?;
        Ok(())
    }

    /// Removes the given tag keys.
    pub async fn untag(&self, key_id: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        if self.gate.holds("kms", "UntagResource", key_id) {
            return Ok(());
        }
        self.client
            .send("UntagResource", |c| {
                c.untag_resource()
                    .key_id(key_id)
                    .set_tag_keys(Some(keys.iter().cloned().collect()))
                    .send()
            })
            .await
            .map_err(mapper("kms", "UntagResource", &self.endpoint))?;
        Ok(())
    }

    /// Replaces the key's description.
    pub async fn update_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), AwsError> {
        if self.gate.holds("kms", "UpdateKeyDescription", key_id) {
            return Ok(());
        }
        self.client
            .send("UpdateKeyDescription", |c| {
                c.update_key_description()
                    .key_id(key_id)
                    .description(description)
                    .send()
            })
            .await
            .map_err(mapper("kms", "UpdateKeyDescription", &self.endpoint))?;
        Ok(())
    }

    /// Cancels a scheduled deletion; KMS leaves the key disabled.
    pub async fn cancel_deletion(&self, key_id: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "CancelKeyDeletion", key_id) {
            return Ok(());
        }
        self.client
            .send("CancelKeyDeletion", |c| {
                c.cancel_key_deletion().key_id(key_id).send()
            })
            .await
            .map_err(mapper("kms", "CancelKeyDeletion", &self.endpoint))?;
        Ok(())
    }

    /// Enables a disabled key.
    pub async fn enable(&self, key_id: &str) -> Result<(), AwsError> {
        if self.gate.holds("kms", "EnableKey", key_id) {
            return Ok(());
        }
        self.client
            .send("EnableKey", |c| c.enable_key().key_id(key_id).send())
            .await
            .map_err(mapper("kms", "EnableKey", &self.endpoint))?;
        Ok(())
    }

    /// Schedules the key's deletion after `window_days`.
    pub async fn schedule_deletion(&self, key_id: &str, window_days: i32) -> Result<(), AwsError> {
        if self.gate.holds("kms", "ScheduleKeyDeletion", key_id) {
            return Ok(());
        }
        self.client
            .send("ScheduleKeyDeletion", |c| {
                c.schedule_key_deletion()
                    .key_id(key_id)
                    .pending_window_in_days(window_days)
                    .send()
            })
            .await
            .map_err(mapper("kms", "ScheduleKeyDeletion", &self.endpoint))?;
        Ok(())
    }

    /// The ids of every key in the account and region that no alias points at.
    pub async fn unaliased_key_ids(&self) -> Result<Vec<String>, AwsError> {
        let aliases = async {
            let mut targets = BTreeSet::new();
            let mut marker = None;
            loop {
                let page = self
                    .client
                    .send("ListAliases", |c| {
                        c.list_aliases()
                            .limit(100)
                            .set_marker(marker.clone())
                            .send()
                    })
                    .await
                    .map_err(mapper("kms", "ListAliases", &self.endpoint))?;
                targets.extend(
                    page.aliases()
                        .iter()
                        .filter_map(|a| a.target_key_id().map(str::to_string)),
                );
                marker = page
                    .next_marker()
                    .filter(|_| page.truncated())
                    .map(str::to_string);
                if marker.is_none() {
                    return Ok::<_, AwsError>(targets);
                }
            }
        };
        let keys = async {
            let mut ids = Vec::new();
            let mut marker = None;
            loop {
                let page = self
                    .client
                    .send("ListKeys", |c| {
                        c.list_keys().limit(1000).set_marker(marker.clone()).send()
                    })
                    .await
                    .map_err(mapper("kms", "ListKeys", &self.endpoint))?;
                ids.extend(
                    page.keys()
                        .iter()
                        .filter_map(|k| k.key_id().map(str::to_string)),
                );
                marker = page
                    .next_marker()
                    .filter(|_| page.truncated())
                    .map(str::to_string);
                if marker.is_none() {
                    return Ok::<_, AwsError>(ids);
                }
            }
        };
        let (aliased, keys) = tokio::try_join!(aliases, keys)?;
        Ok(keys
            .into_iter()
            .filter(|id| !aliased.contains(id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::config::{BehaviorVersion, Region};

    use super::*;
    use crate::aws::request_quota::{QuotaSettings, Service};

    /// An adapter over a client that is never called.
    fn kms() -> Kms {
        let config = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        Kms::new(
            Client::from_conf(config),
            Budgets::new(Service::Kms, &QuotaSettings::default()),
            Endpoint::of("kms", None, Some("us-east-1")),
        )
    }

    #[test]
    fn a_call_keeps_no_room_for_the_sdk_operation_while_it_waits_for_its_turn() {
        let kms = kms();
        // An SDK operation's future alone is some 6 KB; a pass joins several such calls, and
        // a thousand passes wait for CreateKey at once.
        let sizes = [
            size_of_val(&kms.describe("k")),
            size_of_val(&kms.tags("k")),
            size_of_val(&kms.create_key("d", "p")),
            size_of_val(&kms.tag("k", &BTreeMap::new())),
        ];
        assert!(sizes.iter().all(|size| *size < 1024), "{sizes:?} bytes");
    }
}
