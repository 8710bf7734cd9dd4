//! The KMS adapter: every KMS call the operator makes, returning the operator's own types.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyUsageType, OriginType, Tag};

use crate::policy::operator::CREATE_KEY;

use super::budget::Budgets;
use super::error::{AwsError, Endpoint};
use super::held::{self, HeldWrites};
use super::sender::Sender;

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
    kms: Sender<Client>,
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
            kms: Sender::new(client, budgets, endpoint),
        }
    }

    /// This adapter, holding back every write into `held` (see [`super::held`]).
    pub fn holding_writes(&self, held: &HeldWrites) -> Self {
        Self {
            kms: self.kms.holding_writes(held),
        }
    }

    /// The key an id, ARN or alias names, or `None` when there is none.
    pub async fn describe(&self, key: &str) -> Result<Option<KeyInfo>, AwsError> {
        let out = self
            .kms
            .look_up(
                "DescribeKey",
                |c| c.describe_key().key_id(key).send(),
                |e| e.is_not_found_exception(),
            )
            .await?;
        Ok(out.and_then(|out| out.key_metadata().map(key_info)))
    }

    /// The key's tags, every page of them, each page in its turn.
    pub async fn tags(&self, key_id: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut tags = BTreeMap::new();
        let mut marker = None;
        loop {
            let page = self
                .kms
                .read("ListResourceTags", |c| {
                    c.list_resource_tags()
                        .key_id(key_id)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
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
            .kms
            .read("GetKeyPolicy", |c| {
                c.get_key_policy()
                    .key_id(key_id)
                    .policy_name(POLICY_NAME)
                    .send()
            })
            .await?;
        Ok(out.policy().map(str::to_string))
    }

    /// The key's rotation settings.
    pub async fn rotation(&self, key_id: &str) -> Result<Rotation, AwsError> {
        let out = self
            .kms
            .read("GetKeyRotationStatus", |c| {
                c.get_key_rotation_status().key_id(key_id).send()
            })
            .await?;
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
        let created = self
            .kms
            .write("CreateKey", &new_key, |c| {
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
            .await?;
        let Some(out) = created else {
            return Ok(KeyInfo {
                key_id: new_key.clone(),
                arn: new_key,
                state: "Enabled".to_string(),
                customer_managed: true,
                description: description.to_string(),
                created: None,
            });
        };
        out.key_metadata()
            .map(key_info)
            .ok_or_else(|| self.kms.missing("CreateKey", "KeyMetadata"))
    }

    /// Points a new alias at a key.
    pub async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsError> {
        self.kms
            .write("CreateAlias", alias, |c| {
                c.create_alias()
                    .alias_name(alias)
                    .target_key_id(key_id)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Points an existing alias at another key.
    pub async fn update_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsError> {
        self.kms
            .write("UpdateAlias", alias, |c| {
                c.update_alias()
                    .alias_name(alias)
                    .target_key_id(key_id)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Deletes an alias; the key stays.
    pub async fn delete_alias(&self, alias: &str) -> Result<(), AwsError> {
        self.kms
            .write("DeleteAlias", alias, |c| {
                c.delete_alias().alias_name(alias).send()
            })
            .await?;
        Ok(())
    }

    /// Turns automatic rotation on with the given period.
    pub async fn enable_rotation(&self, key_id: &str, period_days: i32) -> Result<(), AwsError> {
        self.kms
            .write("EnableKeyRotation", key_id, |c| {
                c.enable_key_rotation()
                    .key_id(key_id)
                    .rotation_period_in_days(period_days)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Replaces the key policy.
    pub async fn put_policy(&self, key_id: &str, policy: &str) -> Result<(), AwsError> {
        self.kms
            .write("PutKeyPolicy", key_id, |c| {
                c.put_key_policy()
                    .key_id(key_id)
                    .policy_name(POLICY_NAME)
                    .policy(policy)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Sets the given tags, leaving others alone.
    pub async fn tag(&self, key_id: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.kms
            .write("TagResource", key_id, |c| {
                c.tag_resource()
                    .key_id(key_id)
                    .set_tags(Some(tag_list(tags)))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Removes the given tag keys.
    pub async fn untag(&self, key_id: &str, keys: &BTreeSet<String>) -> Result<(), AwsError> {
        self.kms
            .write("UntagResource", key_id, |c| {
                c.untag_resource()
                    .key_id(key_id)
                    .set_tag_keys(Some(keys.iter().cloned().collect()))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Replaces the key's description.
    pub async fn update_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), AwsError> {
        self.kms
            .write("UpdateKeyDescription", key_id, |c| {
                c.update_key_description()
                    .key_id(key_id)
                    .description(description)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Cancels a scheduled deletion; KMS leaves the key disabled.
    pub async fn cancel_deletion(&self, key_id: &str) -> Result<(), AwsError> {
        self.kms
            .write("CancelKeyDeletion", key_id, |c| {
                c.cancel_key_deletion().key_id(key_id).send()
            })
            .await?;
        Ok(())
    }

    /// Enables a disabled key.
    pub async fn enable(&self, key_id: &str) -> Result<(), AwsError> {
        self.kms
            .write("EnableKey", key_id, |c| {
                c.enable_key().key_id(key_id).send()
            })
            .await?;
        Ok(())
    }

    /// Schedules the key's deletion after `window_days`.
    pub async fn schedule_deletion(&self, key_id: &str, window_days: i32) -> Result<(), AwsError> {
        self.kms
            .write("ScheduleKeyDeletion", key_id, |c| {
                c.schedule_key_deletion()
                    .key_id(key_id)
                    .pending_window_in_days(window_days)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// The ids of every key in the account and region that no alias points at.
    pub async fn unaliased_key_ids(&self) -> Result<Vec<String>, AwsError> {
        let (aliased, keys) = tokio::try_join!(self.alias_targets(), self.key_ids())?;
        Ok(keys
            .into_iter()
            .filter(|id| !aliased.contains(id))
            .collect())
    }

    /// The ids of the keys some alias of the account and region points at, every page.
    async fn alias_targets(&self) -> Result<BTreeSet<String>, AwsError> {
        let mut targets = BTreeSet::new();
        let mut marker = None;
        loop {
            let page = self
                .kms
                .read("ListAliases", |c| {
                    c.list_aliases()
                        .limit(100)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
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
                return Ok(targets);
            }
        }
    }

    /// The ids of every key of the account and region, every page.
    async fn key_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut ids = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .kms
                .read("ListKeys", |c| {
                    c.list_keys().limit(1000).set_marker(marker.clone()).send()
                })
                .await?;
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
                return Ok(ids);
            }
        }
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
