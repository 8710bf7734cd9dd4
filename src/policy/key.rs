//! The KMS key policy: administrators manage the key, the account may read its metadata, and
//! each producer and consumer may use it only as far as SQS needs.

use super::document::{PolicyDocument, Principal, Statement};
use super::statements::{ALLOW_CONSUMERS_TO_RECEIVE, SourceService, service_sources};
use crate::arn;
use crate::resolve::Resolved;

/// Sid of the key administrators' statement.
pub const ALLOW_KEY_ADMIN_PERMISSIONS: &str = "AllowKeyAdminPermissions";
/// Sid of the account's read-only metadata statement. The guidance's sample misspells it
/// `AllowReadAcesssToKeyMetaData`; we use the spelling its text intends.
pub const ALLOW_READ_ACCESS_TO_KEY_METADATA: &str = "AllowReadAccessToKeyMetaData";
/// Sid of the producer roles' statement.
pub const ALLOW_PRODUCERS_TO_USE_THE_KEY: &str = "AllowProducersToUseTheKeyThroughSQS";

/// The guidance's key administrator actions.
const KEY_ADMIN_ACTIONS: [&str; 14] = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
];

/// What a sender needs: a data key, and its verification.
const PRODUCER_KEY_ACTIONS: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];

/// The key policy. `Resource` is `*`, which in a key policy means "this key".
pub fn key_policy(q: &Resolved) -> PolicyDocument {
    let producers = &q.spec.producers;
    let mut statements = vec![
        Statement::allow(
            ALLOW_KEY_ADMIN_PERMISSIONS,
            Principal::aws(q.administrators.iter().cloned()),
            &KEY_ADMIN_ACTIONS,
            "*",
        ),
        Statement::allow(
            ALLOW_READ_ACCESS_TO_KEY_METADATA,
            Principal::aws([q.account_root_arn()]),
            &["kms:Describe*", "kms:Get*", "kms:List*"],
            "*",
        ),
    ];

    for (service, sources) in service_sources(producers) {
        if !sources.is_empty() {
            statements.push(service_may_use_key(q, service, sources));
        }
    }

    let consumers = q
        .consumers
        .iter()
        .chain(&q.dead_letter_queue_consumers)
        .cloned();
    statements.push(
        Statement::allow(
            ALLOW_CONSUMERS_TO_RECEIVE,
            Principal::aws(consumers),
            &["kms:Decrypt"],
            "*",
        )
        .when("StringEquals", "kms:ViaService", [q.sqs_service_endpoint()]),
    );
    if !producers.role_arns.is_empty() {
        statements.push(
            Statement::allow(
                ALLOW_PRODUCERS_TO_USE_THE_KEY,
                Principal::aws(producers.role_arns.iter().cloned()),
                &PRODUCER_KEY_ACTIONS,
                "*",
            )
            .when("StringEquals", "kms:ViaService", [q.sqs_service_endpoint()]),
        );
    }
    PolicyDocument::new(statements)
}

/// `Allow<Service>ToSendToSQS` (the guidance's `AllowSNSToSendToSQS`): the service may use the
/// key on behalf of the declared sources only, guarded against the confused deputy by both
/// `aws:SourceAccount` (the guidance) and `aws:SourceArn` (stricter; these services support it).
fn service_may_use_key(q: &Resolved, service: SourceService, sources: &[String]) -> Statement {
    let accounts: Vec<String> = sources
        .iter()
        .map(|source| match arn::Arn::parse(source) {
            Ok(parsed) if !parsed.account.is_empty() => parsed.account.to_string(),
            _ => q.account_id.clone(),
        })
        .collect();
    Statement::allow(
        &format!("Allow{}ToSendToSQS", service.sid_name()),
        Principal::service(service.principal()),
        &PRODUCER_KEY_ACTIONS,
        "*",
    )
    .when("StringEquals", "aws:SourceAccount", accounts)
    .when("ArnEquals", "aws:SourceArn", sources.iter().cloned())
}
