//! The SQS queue policy statements of the AWS least-privilege guidance, one small function per
//! statement. Sids, actions and condition keys are the guidance's; where a function goes
//! further, its comment says how it is stricter.

use super::document::{Principal, Statement};
use crate::api::Producers;

/// Sid of the statement restricting queue management to the administrators.
pub const RESTRICT_ADMIN_QUEUE_ACTIONS: &str = "RestrictAdminQueueActions";
/// Sid of the statement denying queue actions outside the organization.
pub const DENY_QUEUE_ACTIONS_OUTSIDE_ORG: &str = "DenyQueueActionsOutsideOrg";
/// Sid of the statement allowing the consumers to receive (also used in the key policy).
pub const ALLOW_CONSUMERS_TO_RECEIVE: &str = "AllowConsumersToReceiveFromTheQueue";
/// Sid of the statement denying receipt to everyone but the consumers.
pub const DENY_OTHER_CONSUMERS_FROM_RECEIVING: &str = "DenyOtherConsumersFromReceiving";
/// Sid of the statement denying requests without TLS.
pub const DENY_UNSECURE_TRANSPORT: &str = "DenyUnsecureTransport";
/// Sid of the statement denying receipt outside the VPC endpoint.
pub const DENY_RECEIVING_IF_NOT_THROUGH_VPCE: &str = "DenyReceivingIfNotThroughVPCE";
/// Sid of the dead-letter queue's statement denying every sender but the main queue's redrive.
pub const DENY_ANY_PRODUCERS_EXCEPT_SQS: &str = "DenyAnyProducersExceptSQS";
/// Sid of the statement allowing producer roles to send directly.
pub const ALLOW_PRODUCER_ROLES_TO_SEND: &str = "AllowProducerRolesToSendToTheQueue";

/// Sid of the statement through which the operator manages the queue.
pub const ALLOW_THE_OPERATOR_TO_MANAGE_THE_QUEUE: &str = "AllowTheOperatorToManageTheQueue";

/// What the operator does to a queue it made, granted by the queue's own policy alone.
pub const OPERATOR_QUEUE_ACTIONS: [&str; 4] = [
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];

/// Management actions only administrators may take.
const ADMIN_QUEUE_ACTIONS: [&str; 4] = [
    "sqs:AddPermission",
    "sqs:DeleteQueue",
    "sqs:RemovePermission",
    "sqs:SetQueueAttributes",
];

/// `RestrictAdminQueueActions`: nobody but the administrators (always including the operator's
/// own role, so it is never locked out) may change the queue's permissions or attributes or
/// delete it.
pub fn restrict_admin_queue_actions(queue_arn: &str, administrators: &[String]) -> Statement {
    Statement::deny(
        RESTRICT_ADMIN_QUEUE_ACTIONS,
        Principal::any_aws(),
        &ADMIN_QUEUE_ACTIONS,
        queue_arn,
    )
    .when(
        "StringNotLike",
        "aws:PrincipalARN",
        administrators.iter().cloned(),
    )
}

/// `AllowTheOperatorToManageTheQueue`, beyond the guidance: the operator's role may change,
/// tag and delete this queue, and only this queue. The guidance leaves management to the
/// administrators' IAM policies; granting it here instead lets the operator's own IAM policy
/// hold no queue write at all, so it cannot change or claim a queue it did not make. For a
/// principal of the queue's account, "a statement to allow access is required in either the SQS
/// access policy or the IAM policy" (AWS Knowledge Center, "What permissions do I need to
/// access an Amazon SQS queue?",
/// <https://repost.aws/knowledge-center/sqs-queue-access-permissions>); SQS lets no queue
/// policy grant these actions to another account (Amazon SQS Developer Guide, "Limitations of
/// Amazon SQS custom policies"), and this one names only the operator's role.
pub fn allow_the_operator_to_manage_the_queue(
    queue_arn: &str,
    operator_role_arn: &str,
) -> Statement {
    Statement::allow(
        ALLOW_THE_OPERATOR_TO_MANAGE_THE_QUEUE,
        Principal::aws([operator_role_arn.to_string()]),
        &OPERATOR_QUEUE_ACTIONS,
        queue_arn,
    )
}

/// `DenyQueueActionsOutsideOrg`: principals outside the organization may neither manage nor
/// read the queue.
pub fn deny_queue_actions_outside_org(queue_arn: &str, organization_id: &str) -> Statement {
    Statement::deny(
        DENY_QUEUE_ACTIONS_OUTSIDE_ORG,
        Principal::any_aws(),
        &[
            "sqs:AddPermission",
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteQueue",
            "sqs:RemovePermission",
            "sqs:SetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
        queue_arn,
    )
    .when("StringNotEquals", "aws:PrincipalOrgID", [organization_id])
}

/// `AllowConsumersToReceiveFromTheQueue`: what a consumer needs to process messages.
pub fn allow_consumers_to_receive(queue_arn: &str, consumers: &[String]) -> Statement {
    Statement::allow(
        ALLOW_CONSUMERS_TO_RECEIVE,
        Principal::aws(consumers.iter().cloned()),
        &[
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
        queue_arn,
    )
}

/// `DenyOtherConsumersFromReceiving`: even principals whose own IAM policies allow it may not
/// receive, delete or hide messages.
pub fn deny_other_consumers_from_receiving(queue_arn: &str, consumers: &[String]) -> Statement {
    Statement::deny(
        DENY_OTHER_CONSUMERS_FROM_RECEIVING,
        Principal::any_aws(),
        &[
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:ReceiveMessage",
        ],
        queue_arn,
    )
    .when(
        "StringNotLike",
        "aws:PrincipalARN",
        consumers.iter().cloned(),
    )
}

/// `DenyUnsecureTransport`: sending and receiving only over TLS.
pub fn deny_unsecure_transport(queue_arn: &str) -> Statement {
    Statement::deny(
        DENY_UNSECURE_TRANSPORT,
        Principal::any_aws(),
        &["sqs:ReceiveMessage", "sqs:SendMessage"],
        queue_arn,
    )
    .when("Bool", "aws:SecureTransport", ["false"])
}

/// `DenyReceivingIfNotThroughVPCE`: messages are received only through the VPC endpoint.
pub fn deny_receiving_if_not_through_vpce(queue_arn: &str, vpc_endpoint_id: &str) -> Statement {
    Statement::deny(
        DENY_RECEIVING_IF_NOT_THROUGH_VPCE,
        Principal::Everyone,
        &["sqs:ReceiveMessage"],
        queue_arn,
    )
    .when("StringNotEquals", "aws:sourceVpce", [vpc_endpoint_id])
}

/// An AWS service that delivers to the queue on behalf of named source resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceService {
    /// SNS topic subscriptions.
    Sns,
    /// S3 event notifications.
    S3,
    /// EventBridge rule targets.
    EventBridge,
}

impl SourceService {
    /// The service principal.
    pub fn principal(self) -> &'static str {
        match self {
            SourceService::Sns => "sns.amazonaws.com",
            SourceService::S3 => "s3.amazonaws.com",
            SourceService::EventBridge => "events.amazonaws.com",
        }
    }

    /// The service's name inside Sids.
    pub fn sid_name(self) -> &'static str {
        match self {
            SourceService::Sns => "SNS",
            SourceService::S3 => "S3",
            SourceService::EventBridge => "EventBridge",
        }
    }
}

/// The declared sources of each service, in the order statements are generated.
pub fn service_sources(producers: &Producers) -> [(SourceService, &[String]); 3] {
    [
        (SourceService::Sns, &producers.sns_topic_arns),
        (SourceService::S3, &producers.s3_bucket_arns),
        (
            SourceService::EventBridge,
            &producers.event_bridge_rule_arns,
        ),
    ]
}

/// `Allow<Service>ToSendToTheQueue` (the guidance's `AllowSNSToSendToTheQueue` for SNS): the
/// service may send only on behalf of the named sources. With `source_accounts` (S3, whose
/// bucket ARNs carry no account) the source must also belong to one of those accounts, so a
/// bucket name re-registered by someone else after deletion cannot send.
pub fn allow_service_to_send(
    queue_arn: &str,
    service: SourceService,
    source_arns: &[String],
    source_accounts: Option<&[String]>,
) -> Statement {
    let sid = format!("Allow{}ToSendToTheQueue", service.sid_name());
    let statement = Statement::allow(
        &sid,
        Principal::service(service.principal()),
        &["sqs:SendMessage"],
        queue_arn,
    )
    .when("ArnLike", "aws:SourceArn", source_arns.iter().cloned());
    match source_accounts {
        Some(accounts) => statement.when(
            "StringEquals",
            "aws:SourceAccount",
            accounts.iter().cloned(),
        ),
        None => statement,
    }
}

/// `AllowProducerRolesToSendToTheQueue`: roles that call SendMessage directly.
pub fn allow_roles_to_send(queue_arn: &str, roles: &[String]) -> Statement {
    Statement::allow(
        ALLOW_PRODUCER_ROLES_TO_SEND,
        Principal::aws(roles.iter().cloned()),
        &["sqs:SendMessage"],
        queue_arn,
    )
}

/// The one Deny of `sqs:SendMessage` for everyone but the declared producers (the guidance's
/// `DenyAllProducersExceptSNSFromSending`, named after the producer kinds in use).
///
/// Conditions in one statement are ANDed, and a negated operator holds when its key is absent:
/// the Deny applies when the request's `aws:SourceArn` is none of the declared sources (true for
/// a role calling directly, which carries no source) *and* its `aws:PrincipalArn` is none of the
/// producer roles (true for a service principal, which carries no principal ARN). A declared
/// service source and a declared role each escape it; nothing else does. With no producers the
/// statement has no condition: nobody can send.
pub fn deny_all_producers_except(
    queue_arn: &str,
    kinds: &[&str],
    source_arns: &[String],
    roles: &[String],
) -> Statement {
    let sid = if kinds.is_empty() {
        "DenyAllProducersFromSending".to_string()
    } else {
        format!("DenyAllProducersExcept{}FromSending", kinds.join("And"))
    };
    let mut statement =
        Statement::deny(&sid, Principal::any_aws(), &["sqs:SendMessage"], queue_arn);
    if !source_arns.is_empty() {
        statement = statement.when("ArnNotLike", "aws:SourceArn", source_arns.iter().cloned());
    }
    if !roles.is_empty() {
        statement = statement.when("ArnNotLike", "aws:PrincipalArn", roles.iter().cloned());
    }
    statement
}

/// `DenyAnyProducersExceptSQS`, stricter than the guidance: the operator knows the main queue's
/// ARN before creating the dead-letter queue, so only that queue's redrive may deliver, not any
/// queue of the account.
pub fn deny_any_producers_except_sqs(
    dead_letter_queue_arn: &str,
    source_queue_arn: &str,
) -> Statement {
    Statement::deny(
        DENY_ANY_PRODUCERS_EXCEPT_SQS,
        Principal::any_aws(),
        &["sqs:SendMessage"],
        dead_letter_queue_arn,
    )
    .when("ArnNotLike", "aws:SourceArn", [source_queue_arn])
}
