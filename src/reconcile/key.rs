//! The key step: find the key by alias, or by ownership tags when the alias is missing, then
//! create it or put back whatever drifted.
//!
//! CreateKey is not idempotent, so a key is only ever created after both lookups came back
//! empty. A key that a crash left without its alias has no alias pointing at it; the orphan
//! search lists exactly those keys and reads their tags, so the next pass finds and finishes it.
//! It runs where the key ledger ([`super::ledger`]) says such a key can exist, or on every
//! fresh converge where there is no ledger (`apply`).
//!
//! Whose a key is has one rule, [`Owner::judge_key`], for the alias lookup, the orphan search
//! and the deletion alike: its ownership tags or, where it has none, the description CreateKey
//! wrote. That rule is what keeps a SecureQueue from being locked out of its own key: a pass
//! that meets a second failure while finishing an orphan (its TagResource throttled after the
//! alias was made, by an earlier version of this step) leaves a key the next pass still knows.
//! The order is kept besides, on every path: a key is tagged before an alias is made or moved
//! to it, so whenever no failure intervened the key an alias names carries its tags, which is
//! what people and IAM conditions on `aws:ResourceTag` look at.
//!
//! A CreateKey whose answer was lost (a timeout, a dropped connection, a 5xx) may still make a
//! key, perhaps only after the next pass created another. So for a while after such a loss the
//! owner's passes search for unaliased keys of theirs even when the alias exists, and schedule
//! the deletion of every one but the key in use: keys no alias ever named, which nothing can
//! have encrypted with (queues name the key by its alias). A deletion does the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::aws::kms::{KeyInfo, Kms, Rotation};
use crate::aws::{AwsError, ErrorKind};
use crate::plan::KeyPlan;
use crate::policy::normalize;

use super::diff;
use super::error::StepError;
use super::ledger::{KeyLedger, LOST_CREATE_WATCH};
use super::memory::Recall;
use super::ownership::{Claim, Owner, Ownership};
use super::report::Repair;
use super::tags;

/// What this process knows about keys beyond one pass.
///
/// The owners of keys the orphan search has looked at, by key id, so each unaliased key's tags
/// are read once per process rather than on every fresh converge. Keys pending deletion stay
/// unaliased for their whole deletion window, so without this every new SecureQueue would read
/// the tags of every recently deleted one. An owner never changes: the description CreateKey
/// sets and the ownership tags TagResource sets right after name the same one, and the operator
/// never rewrites the namespace, name or cluster tags.
///
/// And the owners whose CreateKey answer was lost, with when.
#[derive(Clone, Debug, Default)]
pub struct KeyRecords {
    owners: Arc<Mutex<HashMap<String, Arc<OnceCell<Owner>>>>>,
    lost_creates: Arc<Mutex<HashMap<Owner, Instant>>>,
}

impl KeyRecords {
    /// The owner of `key_id` by [`Owner::of_key`], read from its tags the first time, and from
    /// its description too when it has no ownership tags (a pass cut off between CreateKey and
    /// TagResource); concurrent passes asking about the same key wait for one read.
    async fn of(&self, kms: &Kms, key_id: &str) -> Result<Owner, AwsError> {
        let cell = self
            .owners
            .lock()
            .expect("key owners")
            .entry(key_id.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            // Keys of other principals may refuse to be read; they are not ours.
            let refused =
                |e: &AwsError| matches!(e.kind, ErrorKind::AccessDenied | ErrorKind::Rejected);
            let tags = match kms.tags(key_id).await {
                Ok(tags) => tags,
                Err(e) if refused(&e) => return Ok(Owner::default()),
                Err(e) => return Err(e),
            };
            let tagged = Owner::from_tags(&tags);
            if tagged != Owner::default() {
                return Ok(tagged);
            }
            match kms.describe(key_id).await {
                Ok(info) => Ok(info
                    .map(|info| Owner::of_key(&tags, &info.description))
                    .unwrap_or_default()),
                Err(e) if refused(&e) => Ok(Owner::default()),
                Err(e) => Err(e),
            }
        })
        .await
        .cloned()
    }

    /// Records the owner of a key whose tags were just read, or that this process just created,
    /// so that orphan searches listing it unaliased need not read its tags again.
    fn record(&self, key_id: &str, owner: &Owner) {
        let cell = OnceCell::new_with(Some(owner.clone()));
        self.owners
            .lock()
            .expect("key owners")
            .insert(key_id.to_string(), Arc::new(cell));
    }

    /// Notes that a CreateKey of `owner` failed without saying whether it made a key.
    fn lost_create(&self, owner: &Owner) {
        self.lost_creates
            .lock()
            .expect("lost creates")
            .insert(owner.clone(), Instant::now());
    }

    /// Whether `owner` lost a CreateKey answer recently enough that a key may still appear.
    fn watching(&self, owner: &Owner) -> bool {
        let mut lost = self.lost_creates.lock().expect("lost creates");
        lost.retain(|_, at| at.elapsed() < LOST_CREATE_WATCH);
        lost.contains_key(owner)
    }
}

/// What the key step knows beyond AWS: this process's records, and the SecureQueue's ledger.
#[derive(Clone, Copy)]
pub(super) struct Keys<'a> {
    pub records: &'a KeyRecords,
    pub ledger: KeyLedger<'a>,
}

/// What the lookups found.
#[derive(Debug)]
pub(super) enum KeyFound {
    /// No key of ours.
    Absent,
    /// Our key.
    Present(Box<ExistingKey>),
}

/// Our key as it is in AWS.
#[derive(Debug)]
pub(super) struct ExistingKey {
    info: KeyInfo,
    /// Other unaliased keys of ours, to be deleted: made by CreateKey calls whose answer was lost.
    surplus: Vec<KeyInfo>,
    tags: BTreeMap<String, String>,
    alias: AliasState,
    /// The policy and rotation, when they were read with the tags.
    details: Option<(Option<String>, Rotation)>,
    /// Whether `tags` were read in this pass, rather than remembered.
    tags_read: bool,
    /// Whether it is used although it is not ours: adopted, or observed.
    adopted: bool,
}

impl ExistingKey {
    /// The key's id.
    pub(super) fn key_id(&self) -> &str {
        &self.info.key_id
    }

    /// The key's ARN.
    pub(super) fn arn(&self) -> &str {
        &self.info.arn
    }

    /// The key's ARN, when it is used although it is not ours.
    pub(super) fn adopted(&self) -> Option<&str> {
        self.adopted.then_some(self.info.arn.as_str())
    }
}

impl KeyFound {
    /// The key policy as KMS returned it, when it was read with the key.
    pub(super) fn observed_policy(&self) -> Option<&str> {
        match self {
            KeyFound::Present(key) => match &key.details {
                Some((Some(policy), _)) => Some(policy),
                _ => None,
            },
            KeyFound::Absent => None,
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
    /// Whether it was used although not ours.
    pub adopted: bool,
    pub corrections: Vec<Repair>,
    /// Whether its tags were read (or written whole) in this pass.
    pub tags_read: bool,
}

/// Looks the key up by alias, then by ownership tags. The tags of the key the alias points at
/// are read unless `recall` has them for that very key. A key the alias names that is not ours
/// is used only as `claim` allows.
pub(super) async fn observe(
    kms: &Kms,
    plan: &KeyPlan,
    owner: &Owner,
    claim: &Claim<'_>,
    keys: &Keys<'_>,
    recall: &Recall,
) -> Result<KeyFound, StepError> {
    let Some(target) = kms.describe(&plan.alias).await? else {
        return Ok(unaliased(kms, owner, keys)
            .await?
            .map_or(KeyFound::Absent, |key| KeyFound::Present(Box::new(key))));
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
    let ownership = owner.judge_key(&tags, &target.description);
    let adopted = ownership != Ownership::Ours;
    if adopted {
        if let Some(existing) =
            adopt_orphan(kms, owner, keys.records, AliasState::Elsewhere).await?
        {
            return Ok(KeyFound::Present(Box::new(existing)));
        }
        if ownership == Ownership::Unowned && matches!(claim, Claim::Adopting(_) | Claim::Unowned) {
            adoptable(&target)?;
        }
        let resource = format!("the alias `{}` (key {})", plan.alias, target.arn);
        claim
            .judge(&ownership, &resource, &target.arn)
            .map_err(|refusal| StepError::from(refusal).in_field("spec.key.alias"))?;
    }
    let details = match details {
        Some((policy, rotation)) => Some((policy?, rotation?)),
        None => None,
    };
    let surplus = if adopted {
        Vec::new()
    } else {
        surplus(kms, owner, keys, &target).await?
    };
    Ok(KeyFound::Present(Box::new(ExistingKey {
        info: target,
        surplus,
        tags,
        alias: AliasState::Ours,
        details,
        tags_read,
        adopted,
    })))
}

/// The unaliased keys of ours besides `aliased`, the key our alias names, while a CreateKey
/// whose answer was lost may have made one (see the module's documentation); none otherwise.
async fn surplus(
    kms: &Kms,
    owner: &Owner,
    keys: &Keys<'_>,
    aliased: &KeyInfo,
) -> Result<Vec<KeyInfo>, AwsError> {
    let watching = keys
        .ledger
        .watching(jiff::Timestamp::now())
        .unwrap_or_else(|| keys.records.watching(owner));
    if !watching {
        return Ok(Vec::new());
    }
    // Never the key the alias names, even if a lagging ListAliases missed the alias.
    Ok(find_orphans(kms, owner, keys.records)
        .await?
        .into_iter()
        .filter(|info| info.key_id != aliased.key_id)
        .collect())
}

/// The key of ours to finish when the alias is missing: found by the orphan search where the
/// ledger says an earlier pass may have made one unaliased, else the key the status knows by
/// id (its alias deleted out of band), else none, without reading anything account-wide.
async fn unaliased(
    kms: &Kms,
    owner: &Owner,
    keys: &Keys<'_>,
) -> Result<Option<ExistingKey>, AwsError> {
    if keys.ledger.must_search() {
        return adopt_orphan(kms, owner, keys.records, AliasState::Missing).await;
    }
    let Some(known) = keys.ledger.known_key() else {
        return Ok(None);
    };
    let Some(info) = kms.describe(known).await? else {
        return Ok(None);
    };
    let tags = kms.tags(&info.key_id).await?;
    if !info.customer_managed || owner.judge_key(&tags, &info.description) != Ownership::Ours {
        return Ok(None);
    }
    Ok(Some(ExistingKey {
        tags,
        info,
        surplus: Vec::new(),
        alias: AliasState::Missing,
        details: None,
        tags_read: true,
        adopted: false,
    }))
}

/// Refuses to adopt a key the operator must not take over: one AWS manages ("you can only
/// change the key policy for a customer managed key", AWS KMS Developer Guide, "Changing a key
/// policy": <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html>),
/// or one somebody disabled or scheduled for deletion, which a person meant to stop using.
fn adoptable(key: &KeyInfo) -> Result<(), StepError> {
    let refuse = |why: String| Err(StepError::KeyUnusable(why));
    if !key.customer_managed {
        return refuse(format!(
            "key {} is managed by AWS: its policy cannot be changed, so securequeue cannot adopt it; choose another spec.key.alias",
            key.arn
        ));
    }
    if key.pending_deletion() {
        return refuse(format!(
            "key {} is scheduled for deletion, and securequeue does not adopt a key somebody meant to delete: if it should live, cancel the deletion (aws kms cancel-key-deletion --key-id {}) and enable it (aws kms enable-key); otherwise choose another spec.key.alias",
            key.arn, key.key_id
        ));
    }
    if key.state != "Enabled" {
        return refuse(format!(
            "key {} is {}, and securequeue does not adopt a key somebody stopped: if it should be used, enable it (aws kms enable-key --key-id {}); otherwise choose another spec.key.alias",
            key.arn, key.state, key.key_id
        ));
    }
    Ok(())
}

/// Our customer-managed keys that no alias points at: a crash between CreateKey and
/// CreateAlias, a deleted alias, a deletion interrupted after DeleteAlias, or a CreateKey whose
/// answer was lost.
async fn find_orphans(
    kms: &Kms,
    owner: &Owner,
    keys: &KeyRecords,
) -> Result<Vec<KeyInfo>, AwsError> {
    let mut found = Vec::new();
    for key_id in kms.unaliased_key_ids().await? {
        if keys.of(kms, &key_id).await? != *owner {
            continue;
        }
        if let Some(info) = kms.describe(&key_id).await?
            && info.customer_managed
        {
            found.push(info);
        }
    }
    Ok(found)
}

/// Our unaliased key to finish, if any, with the others as surplus: the one not pending
/// deletion, else the oldest, since an alias deleted out of band leaves the key in use older
/// than any a lost CreateKey made.
async fn adopt_orphan(
    kms: &Kms,
    owner: &Owner,
    keys: &KeyRecords,
    alias: AliasState,
) -> Result<Option<ExistingKey>, AwsError> {
    let mut orphans = find_orphans(kms, owner, keys).await?;
    orphans.sort_by_key(|info| {
        (
            info.pending_deletion(),
            info.created.unwrap_or(i64::MAX),
            info.key_id.clone(),
        )
    });
    let mut orphans = orphans.into_iter();
    let Some(info) = orphans.next() else {
        return Ok(None);
    };
    Ok(Some(ExistingKey {
        tags: kms.tags(&info.key_id).await?,
        info,
        surplus: orphans.collect(),
        alias,
        details: None,
        tags_read: true,
        adopted: false,
    }))
}

/// Creates the key, or puts back whatever drifted: its state, alias, policy and rotation,
/// tags and description, then schedules the deletion of surplus keys.
pub(super) async fn ensure(
    kms: &Kms,
    plan: &KeyPlan,
    keys: &Keys<'_>,
    found: KeyFound,
) -> Result<KeyDone, StepError> {
    let existing = match found {
        KeyFound::Absent => return create(kms, plan, keys).await,
        KeyFound::Present(existing) => *existing,
    };
    let ExistingKey {
        mut info,
        surplus,
        tags,
        alias,
        details,
        tags_read,
        adopted,
    } = existing;
    let mut corrections: Vec<Repair> = repair_state(kms, &mut info).await?.into_iter().collect();
    let id = info.key_id.clone();
    // Tags before the alias, as at creation (see the module's documentation).
    let tag_changes = tags::restore(kms, &id, &plan.tags, &tags).await?;
    corrections.extend(tags::repair(&tag_changes, &tags, adopted));
    corrections.extend(repair_alias(kms, plan, alias, &id).await?);
    corrections.extend(repair_policy_and_rotation(kms, plan, &id, details).await?);
    if info.description != plan.description {
        kms.update_description(&id, &plan.description).await?;
        corrections.push(
            Repair::new("RestoreDescription", "restored the description").of_value(
                "Description",
                &info.description,
                &plan.description,
            ),
        );
    }
    corrections.extend(delete_surplus(kms, plan, &surplus).await?);
    if !adopted {
        keys.ledger.settle(false, jiff::Timestamp::now()).await;
    }
    Ok(KeyDone {
        info,
        created: false,
        adopted,
        corrections,
        tags_read,
    })
}

fn rotation_period(plan: &KeyPlan) -> i32 {
    i32::try_from(plan.rotation_period_days).expect("validated bounds")
}

fn deletion_window(plan: &KeyPlan) -> i32 {
    i32::try_from(plan.deletion_window_days).expect("validated bounds")
}

/// Makes the key: records that it may be made (see [`super::ledger`]), CreateKey, then its tags,
/// then its alias and rotation; then removes the record if nothing else was pending.
async fn create(kms: &Kms, plan: &KeyPlan, keys: &Keys<'_>) -> Result<KeyDone, StepError> {
    let owner = Owner::from_tags(&plan.tags);
    let policy = plan.policy.as_json();
    keys.ledger
        .record_creation(jiff::Timestamp::now())
        .await
        .map_err(StepError::CreationUnrecorded)?;
    let info = match kms.create_key(&plan.description, policy).await {
        Ok(info) => info,
        Err(e) => {
            if e.kind == ErrorKind::Unavailable {
                keys.records.lost_create(&owner);
            } else {
                keys.ledger.settle(true, jiff::Timestamp::now()).await;
            }
            return Err(e.into());
        }
    };
    keys.records.record(&info.key_id, &owner);
    // Through the key policy just written, which makes the operator an administrator:
    // before the alias, so that a key found by its alias always carries its tags.
    kms.tag(&info.key_id, &plan.tags).await?;
    // Together: each is put right by the next pass if the other fails.
    tokio::try_join!(
        kms.create_alias(&plan.alias, &info.key_id),
        kms.enable_rotation(&info.key_id, rotation_period(plan))
    )?;
    keys.ledger.settle(true, jiff::Timestamp::now()).await;
    Ok(KeyDone {
        info,
        created: true,
        adopted: false,
        corrections: Vec::new(),
        tags_read: true,
    })
}

/// Brings a customer-managed key back to `Enabled` (cancelling a scheduled deletion), or says
/// why it cannot be.
async fn repair_state(kms: &Kms, info: &mut KeyInfo) -> Result<Option<Repair>, StepError> {
    if !info.customer_managed {
        return Err(StepError::KeyUnusable(format!(
            "key {} is managed by AWS, not by the customer; securequeue needs a customer-managed key",
            info.arn
        )));
    }
    let id = &info.key_id;
    let repair = if info.pending_deletion() {
        kms.cancel_deletion(id).await?;
        kms.enable(id).await?;
        Some(
            Repair::new(
                "CancelKeyDeletion",
                "cancelled the key's scheduled deletion and re-enabled it",
            )
            .of_value("KeyState", &info.state, "Enabled"),
        )
    } else if info.state == "Disabled" {
        kms.enable(id).await?;
        Some(
            Repair::new("EnableKey", "re-enabled the disabled key")
                .of_value("KeyState", "Disabled", "Enabled"),
        )
    } else if info.state != "Enabled" {
        return Err(StepError::KeyUnusable(format!(
            "key {} is in state {}, which securequeue cannot repair; fix or delete the key",
            info.arn, info.state
        )));
    } else {
        None
    };
    info.state = "Enabled".to_string();
    Ok(repair)
}

/// Points the alias at the key, making it if it is missing.
async fn repair_alias(
    kms: &Kms,
    plan: &KeyPlan,
    alias: AliasState,
    id: &str,
) -> Result<Option<Repair>, StepError> {
    Ok(match alias {
        AliasState::Ours => None,
        AliasState::Missing => {
            kms.create_alias(&plan.alias, id).await?;
            Some(
                Repair::new(
                    "RecreateAlias",
                    format!("recreated the alias {}", plan.alias),
                )
                .of_value(&format!("Alias.{}", plan.alias), (), id),
            )
        }
        AliasState::Elsewhere => {
            kms.update_alias(&plan.alias, id).await?;
            Some(
                Repair::new(
                    "RepointAlias",
                    format!("pointed the alias {} back at the key", plan.alias),
                )
                .of_value(&format!("Alias.{}", plan.alias), "another key", id),
            )
        }
    })
}

/// Puts back the key policy (compared by meaning) and the rotation, reading them unless the
/// lookup already did.
async fn repair_policy_and_rotation(
    kms: &Kms,
    plan: &KeyPlan,
    id: &str,
    details: Option<(Option<String>, Rotation)>,
) -> Result<Vec<Repair>, StepError> {
    let (current_policy, rotation) = match details {
        Some(details) => details,
        None => tokio::try_join!(kms.policy(id), kms.rotation(id))?,
    };
    let mut repairs = Vec::new();
    let policy = plan.policy.as_json();
    if !current_policy
        .as_deref()
        .is_some_and(|p| normalize::same_policy(policy, p))
    {
        kms.put_policy(id, policy).await?;
        repairs.push(
            Repair::new("RestoreKeyPolicy", "restored the key policy").of(
                diff::document_differences("KeyPolicy", current_policy.as_deref(), policy),
            ),
        );
    }
    let period = rotation_period(plan);
    let wanted = Rotation {
        enabled: true,
        period_days: Some(period),
    };
    if rotation != wanted {
        kms.enable_rotation(id, period).await?;
        repairs.push(
            Repair::new(
                "RestoreRotation",
                format!("restored rotation every {period} days"),
            )
            .of_value("KeyRotation", rotation, wanted),
        );
    }
    Ok(repairs)
}

/// Schedules the deletion of the unaliased keys of ours that CreateKey calls whose answers
/// were lost made.
async fn delete_surplus(
    kms: &Kms,
    plan: &KeyPlan,
    surplus: &[KeyInfo],
) -> Result<Vec<Repair>, StepError> {
    let window = deletion_window(plan);
    let mut repairs = Vec::new();
    for extra in surplus.iter().filter(|k| !k.pending_deletion()) {
        kms.schedule_deletion(&extra.key_id, window).await?;
        repairs.push(Repair::new(
            "DeleteSurplusKey",
            format!(
                "scheduled the deletion of key {}, an unaliased key of this SecureQueue that a CreateKey whose answer was lost made, in {window} days",
                extra.arn
            ),
        ));
    }
    Ok(repairs)
}

/// Deletes the alias, then schedules the deletion of the key, and of any unaliased key of ours
/// (see the module's documentation): found by the orphan search where the ledger says one may
/// exist, else the key the status knows. Resumable: a key already pending deletion is left as
/// it is, and a key whose alias is gone is found again.
pub(super) async fn delete(
    kms: &Kms,
    plan: &KeyPlan,
    owner: &Owner,
    keys: &Keys<'_>,
) -> Result<String, StepError> {
    let mut ours = Vec::new();
    let mut done = Vec::new();
    if let Some(target) = kms.describe(&plan.alias).await? {
        let tags = kms.tags(&target.key_id).await?;
        if owner.judge_key(&tags, &target.description) == Ownership::Ours {
            // Unaliased next, it is listed by the search below; its tags need no second read.
            keys.records.record(&target.key_id, owner);
            kms.delete_alias(&plan.alias).await?;
            done.push(format!("deleted the alias {}", plan.alias));
            ours.push(target);
        }
    }
    let known_already = |id: &str| ours.iter().any(|k| k.key_id == id);
    let unaliased = if keys.ledger.must_search() {
        find_orphans(kms, owner, keys.records).await?
    } else if keys.ledger.known_key().is_some_and(known_already) {
        Vec::new()
    } else {
        unaliased(kms, owner, keys)
            .await?
            .map(|key| key.info)
            .into_iter()
            .collect()
    };
    for orphan in unaliased {
        if ours.iter().all(|k| k.key_id != orphan.key_id) {
            ours.push(orphan);
        }
    }
    if ours.is_empty() {
        return Ok("no key of this SecureQueue exists".to_string());
    }
    let window = deletion_window(plan);
    for key in &ours {
        if key.pending_deletion() {
            done.push(format!("key {} is already scheduled for deletion", key.arn));
        } else {
            kms.schedule_deletion(&key.key_id, window).await?;
            done.push(format!(
                "scheduled key {} for deletion in {window} days",
                key.arn
            ));
        }
    }
    Ok(done.join("; "))
}
