//! The key step: find the key by alias, or by ownership tags when the alias is missing, then
//! create it or put back whatever drifted.
//!
//! CreateKey is not idempotent, so a key is only ever created after both lookups came back
//! empty. A key that a crash left without its alias has no alias pointing at it; the orphan
//! search lists exactly those keys and reads their tags, so the next pass finds and finishes it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::aws::kms::{KeyInfo, Kms, Rotation};
use crate::aws::{AwsError, ErrorKind};
use crate::plan::KeyPlan;
use crate::policy::normalize;

use super::diff;
use super::error::StepError;
use super::memory::Recall;
use super::ownership::{Owner, Ownership};

/// The owners of keys the orphan search has looked at, by key id, so each unaliased key's tags
/// are read once per process rather than on every fresh converge. Keys pending deletion stay
/// unaliased for their whole deletion window, so without this every new SecureQueue would read
/// the tags of every recently deleted one. An owner never changes: ownership tags are set by
/// CreateKey and the operator never rewrites the namespace, name or cluster tags.
#[derive(Clone, Debug, Default)]
pub struct KeyOwners(Arc<Mutex<HashMap<String, Arc<OnceCell<Owner>>>>>);

impl KeyOwners {
    /// The owner of `key_id`, read from its tags the first time; concurrent passes asking about
    /// the same key wait for one read.
    async fn of(&self, kms: &Kms, key_id: &str) -> Result<Owner, AwsError> {
        let cell = self
            .0
            .lock()
            .expect("key owners")
            .entry(key_id.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            match kms.tags(key_id).await {
                Ok(tags) => Ok(Owner::from_tags(&tags)),
                // Keys of other principals may refuse to be read; they are not ours.
                Err(e) if matches!(e.kind, ErrorKind::AccessDenied | ErrorKind::Rejected) => {
                    Ok(Owner::default())
                }
                Err(e) => Err(e),
            }
        })
        .await
        .cloned()
    }

    /// Records the owner of a key this process just created, so that concurrent orphan
    /// searches listing it before its alias exists need not read its tags.
    fn created(&self, key_id: &str, owner: &Owner) {
        let cell = OnceCell::new_with(Some(owner.clone()));
        self.0
            .lock()
            .expect("key owners")
            .insert(key_id.to_string(), Arc::new(cell));
    }
}

/// What the lookups found.
#[derive(Debug)]
pub(super) enum KeyFound {
    /// No key of ours.
    Absent,
    /// Our key.
    Present(ExistingKey),
}

/// Our key as it is in AWS.
#[derive(Debug)]
pub(super) struct ExistingKey {
    info: KeyInfo,
    tags: BTreeMap<String, String>,
    alias: AliasState,
    /// The policy and rotation, when they were read with the tags.
    details: Option<(Option<String>, Rotation)>,
    /// Whether `tags` were read in this pass, rather than remembered.
    tags_read: bool,
}

impl KeyFound {
    /// The key policy as KMS returned it, when it was read with the key.
    pub(super) fn observed_policy(&self) -> Option<&str> {
        match self {
            KeyFound::Present(ExistingKey {
                details: Some((Some(policy), _)),
                ..
            }) => Some(policy),
            _ => None,
        }
    }
}

/// Where the alias points.
#[derive(Debug, PartialEq, Eq)]
enum AliasState {
    /// At our key.
    Ours,
    /// Nowhere: there is no alias.
    Missing,
    /// At a key that is not ours.
    Elsewhere,
}

/// What the step did.
pub(super) struct KeyDone {
    pub info: KeyInfo,
    pub created: bool,
    pub corrections: Vec<String>,
    /// Whether its tags were read (or written whole) in this pass.
    pub tags_read: bool,
}

/// Looks the key up by alias, then by ownership tags. The tags of the key the alias points at
/// are read unless `recall` has them for that very key.
pub(super) async fn observe(
    kms: &Kms,
    plan: &KeyPlan,
    owner: &Owner,
    owners: &KeyOwners,
    recall: &Recall,
) -> Result<KeyFound, StepError> {
    let Some(target) = kms.describe(&plan.alias).await? else {
        return Ok(match find_orphan(kms, owner, owners).await? {
            Some((info, tags)) => KeyFound::Present(ExistingKey {
                info,
                tags,
                alias: AliasState::Missing,
                details: None,
                tags_read: true,
            }),
            None => KeyFound::Absent,
        });
    };
    let remembered = recall.key_tags(&target.key_id);
    let tags_read = remembered.is_none();
    let tags = async {
        match remembered {
            Some(tags) => Ok(tags),
            None => kms.tags(&target.key_id).await,
        }
    };
    // An enabled key's policy and rotation are read with its tags, saving a round trip on
    // every steady-state pass; other states are repaired before they are read. A stranger's key
    // may refuse those reads, which matter only once the tags say the key is ours.
    let (tags, details) = if target.state == "Enabled" {
        let (tags, policy, rotation) = tokio::join!(
            tags,
            kms.policy(&target.key_id),
            kms.rotation(&target.key_id)
        );
        (tags?, Some((policy, rotation)))
    } else {
        (tags.await?, None)
    };
    let ownership = owner.judge(&tags);
    if ownership == Ownership::Ours {
        let details = match details {
            Some((policy, rotation)) => Some((policy?, rotation?)),
            None => None,
        };
        return Ok(KeyFound::Present(ExistingKey {
            info: target,
            tags,
            alias: AliasState::Ours,
            details,
            tags_read,
        }));
    }
    match find_orphan(kms, owner, owners).await? {
        Some((info, tags)) => Ok(KeyFound::Present(ExistingKey {
            info,
            tags,
            alias: AliasState::Elsewhere,
            details: None,
            tags_read: true,
        })),
        None => Err(StepError::NameConflict(
            ownership
                .conflict(&format!("the alias `{}` (key {})", plan.alias, target.arn))
                .expect("not ours")
                + " in spec.key.alias",
        )),
    }
}

/// Our key that no alias points at, if any: a crash between CreateKey and CreateAlias, a
/// deleted alias, or a deletion interrupted after DeleteAlias.
async fn find_orphan(
    kms: &Kms,
    owner: &Owner,
    owners: &KeyOwners,
) -> Result<Option<(KeyInfo, BTreeMap<String, String>)>, AwsError> {
    let mut found: Option<(KeyInfo, BTreeMap<String, String>)> = None;
    for key_id in kms.unaliased_key_ids().await? {
        if owners.of(kms, &key_id).await? != *owner {
            continue;
        }
        let (Some(info), tags) = tokio::try_join!(kms.describe(&key_id), kms.tags(&key_id))? else {
            continue;
        };
        let better = found
            .as_ref()
            .is_none_or(|(current, _)| current.pending_deletion() && !info.pending_deletion());
        if info.customer_managed && better {
            found = Some((info, tags));
        }
    }
    Ok(found)
}

/// Creates the key, or puts back whatever drifted.
pub(super) async fn ensure(
    kms: &Kms,
    plan: &KeyPlan,
    owners: &KeyOwners,
    found: KeyFound,
) -> Result<KeyDone, StepError> {
    let policy = plan.policy.to_compact_json();
    let period = i32::try_from(plan.rotation_period_days).expect("validated bounds");
    let existing = match found {
        KeyFound::Absent => {
            let info = kms
                .create_key(&plan.description, &policy, &plan.tags)
                .await?;
            owners.created(&info.key_id, &Owner::from_tags(&plan.tags));
            kms.create_alias(&plan.alias, &info.key_id).await?;
            kms.enable_rotation(&info.key_id, period).await?;
            return Ok(KeyDone {
                info,
                created: true,
                corrections: Vec::new(),
                tags_read: true,
            });
        }
        KeyFound::Present(existing) => existing,
    };
    let ExistingKey {
        mut info,
        tags,
        alias,
        details,
        tags_read,
    } = existing;
    let id = info.key_id.clone();
    let mut corrections = Vec::new();
    if !info.customer_managed {
        return Err(StepError::KeyUnusable(format!(
            "key {} is managed by AWS, not by the customer; securequeue needs a customer-managed key",
            info.arn
        )));
    }
    if info.pending_deletion() {
        kms.cancel_deletion(&id).await?;
        kms.enable(&id).await?;
        corrections.push("cancelled the key's scheduled deletion and re-enabled it".to_string());
    } else if info.state == "Disabled" {
        kms.enable(&id).await?;
        corrections.push("re-enabled the disabled key".to_string());
    } else if info.state != "Enabled" {
        return Err(StepError::KeyUnusable(format!(
            "key {} is in state {}, which securequeue cannot repair; fix or delete the key",
            info.arn, info.state
        )));
    }
    info.state = "Enabled".to_string();
    match alias {
        AliasState::Ours => {}
        AliasState::Missing => {
            kms.create_alias(&plan.alias, &id).await?;
            corrections.push(format!("recreated the alias {}", plan.alias));
        }
        AliasState::Elsewhere => {
            kms.update_alias(&plan.alias, &id).await?;
            corrections.push(format!("pointed the alias {} back at the key", plan.alias));
        }
    }
    let (current_policy, rotation) = match details {
        Some(details) => details,
        None => tokio::try_join!(kms.policy(&id), kms.rotation(&id))?,
    };
    if !current_policy.is_some_and(|p| normalize::same_policy(&policy, &p)) {
        kms.put_policy(&id, &policy).await?;
        corrections.push("restored the key policy".to_string());
    }
    let wanted = Rotation {
        enabled: true,
        period_days: Some(period),
    };
    if rotation != wanted {
        kms.enable_rotation(&id, period).await?;
        corrections.push(format!("restored rotation every {period} days"));
    }
    let tag_changes = diff::tag_changes(&plan.tags, &tags);
    if !tag_changes.set.is_empty() {
        kms.tag(&id, &tag_changes.set).await?;
    }
    if !tag_changes.remove.is_empty() {
        kms.untag(&id, &tag_changes.remove).await?;
    }
    if !tag_changes.is_empty() {
        corrections.push(format!(
            "restored the tags {}",
            tag_changes.keys().join(", ")
        ));
    }
    if info.description != plan.description {
        kms.update_description(&id, &plan.description).await?;
        corrections.push("restored the description".to_string());
    }
    Ok(KeyDone {
        info,
        created: false,
        corrections,
        tags_read,
    })
}

/// Deletes the alias, then schedules the key's deletion. Resumable: a key already pending
/// deletion is left as it is, and a key whose alias is gone is found by its tags.
pub(super) async fn delete(
    kms: &Kms,
    plan: &KeyPlan,
    owner: &Owner,
    owners: &KeyOwners,
) -> Result<String, StepError> {
    let mut key = None;
    if let Some(target) = kms.describe(&plan.alias).await? {
        let tags = kms.tags(&target.key_id).await?;
        if owner.judge(&tags) == Ownership::Ours {
            kms.delete_alias(&plan.alias).await?;
            key = Some(target);
        }
    }
    if key.is_none() {
        key = find_orphan(kms, owner, owners).await?.map(|(info, _)| info);
    }
    let Some(key) = key else {
        return Ok("no key of this SecureQueue exists".to_string());
    };
    if key.pending_deletion() {
        return Ok(format!("key {} is already scheduled for deletion", key.arn));
    }
    let window = i32::try_from(plan.deletion_window_days).expect("validated bounds");
    kms.schedule_deletion(&key.key_id, window).await?;
    Ok(format!(
        "deleted the alias {} and scheduled key {} for deletion in {window} days",
        plan.alias, key.arn
    ))
}
