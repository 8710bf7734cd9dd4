//! The ordered AWS calls of a fresh converge.
//!
//! Why these and no fewer: a pass reads before it writes, so that a name taken by another owner
//! stops it before anything changes. The key is looked up by its alias, and each queue by its
//! name (CreateQueue on an existing name silently returns someone else's queue, whose ownership
//! tags must be checked first); the three lookups run in parallel. CreateKey is not idempotent,
//! so it is recorded in the SecureQueue's status first (`reconcile::ledger`): a key a crash left
//! unaliased is searched for only where such a record says one may exist, and found and
//! finished, never created twice. Without a status (`apply`) the keys no alias points at are
//! listed (ListAliases and ListKeys, in parallel, two more reads, one more per page beyond 100
//! aliases or 1,000 keys) and their tags read, on every fresh converge.
//! Then the key, with its policy and a description naming its owner, but no tags:
//! tags on CreateKey would need `kms:TagResource` in an IAM policy over every key of the account,
//! so the key is tagged next, through its own key policy, before its alias (so a key found by
//! its alias always carries its tags); then the alias and its rotation, which CreateKey cannot
//! set. The dead-letter queue comes before the main queue, whose RedrivePolicy names it.
//! Policies, redrive documents and encryption travel in the CreateQueue calls, so no Set call is
//! needed; tags do not, as they would need `sqs:TagQueue` in an IAM policy over every queue, so
//! each queue is tagged next, through the policy its CreateQueue set. That makes 11 calls, of
//! which 3 are reads, in 8 dependent round trips, whatever else the account holds.
//!
//! A steady-state pass of a process that converged the SecureQueue before reads 6 times in 2
//! round trips: DescribeKey, then GetKeyPolicy, GetKeyRotationStatus and each queue's
//! GetQueueAttributes, plus the tags of one resource in turn (see `reconcile::memory`).

use serde::Serialize;

use crate::resolve::Resolved;

/// One AWS API call.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `kms` or `sqs`.
    pub service: &'static str,
    /// The API operation.
    pub operation: &'static str,
    /// The resource it is about.
    pub target: String,
    /// What it does and why here.
    pub purpose: &'static str,
}

/// The name a call gives the key (its alias), or the dead-letter or main queue.
type Target = fn(&Resolved) -> &str;

const KEY: Target = |q| &q.key_alias;
const DEAD_LETTER_QUEUE: Target = |q| &q.dead_letter_queue_name;
const QUEUE: Target = |q| &q.queue_name;

/// The calls of a fresh converge, in order: service, operation, the resource it is about, and
/// what it does and why there.
const FRESH_CONVERGE: [(&str, &str, Target, &str); 11] = [
    (
        "kms",
        "DescribeKey",
        KEY,
        "look the key up by alias; not found on a fresh converge",
    ),
    (
        "sqs",
        "GetQueueUrl",
        DEAD_LETTER_QUEUE,
        "look the dead-letter queue up; not found on a fresh converge",
    ),
    (
        "sqs",
        "GetQueueUrl",
        QUEUE,
        "look the main queue up; not found on a fresh converge",
    ),
    (
        "kms",
        "CreateKey",
        KEY,
        "create the symmetric key with its policy and a description naming its owner, once its creation is recorded in the SecureQueue's status",
    ),
    (
        "kms",
        "TagResource",
        KEY,
        "tag the new key through the key policy that makes the operator its administrator",
    ),
    (
        "kms",
        "CreateAlias",
        KEY,
        "name the new key at once, beside EnableKeyRotation",
    ),
    (
        "kms",
        "EnableKeyRotation",
        KEY,
        "turn on rotation with the requested period",
    ),
    (
        "sqs",
        "CreateQueue",
        DEAD_LETTER_QUEUE,
        "create the dead-letter queue with its attributes and a policy naming its owner",
    ),
    (
        "sqs",
        "TagQueue",
        DEAD_LETTER_QUEUE,
        "tag the new queue through its policy, which lets the operator manage it",
    ),
    (
        "sqs",
        "CreateQueue",
        QUEUE,
        "create the main queue with its attributes, redrive and a policy naming its owner",
    ),
    (
        "sqs",
        "TagQueue",
        QUEUE,
        "tag the new queue through its policy, which lets the operator manage it",
    ),
];

/// The calls of a fresh converge, in order.
pub fn fresh_converge(q: &Resolved) -> Vec<Step> {
    FRESH_CONVERGE
        .iter()
        .map(|&(service, operation, target, purpose)| Step {
            service,
            operation,
            target: target(q).to_string(),
            purpose,
        })
        .collect()
}
