//! The two queue policies: the main queue's and the dead-letter queue's.

use super::document::PolicyDocument;
use super::statements::{self as s, SourceService};
use crate::resolve::{self, Resolved};

/// The main queue's policy: administrators only may manage it, consumers only may receive,
/// declared producers only may send, always over TLS; optionally only from inside the
/// organization and only through the VPC endpoint.
pub fn main_queue_policy(q: &Resolved) -> PolicyDocument {
    let arn = q.queue_arn.as_str();
    let producers = &q.spec.producers;
    let mut statements = shared_statements(q, arn, &q.consumers);

    let mut kinds = Vec::new();
    let mut source_arns = Vec::new();
    for (service, sources) in s::service_sources(producers) {
        if !sources.is_empty() {
            // Bucket ARNs carry no account: pin S3 sources to the queue's account.
            let accounts =
                (service == SourceService::S3).then_some(std::slice::from_ref(&q.account_id));
            statements.push(s::allow_service_to_send(arn, service, sources, accounts));
            kinds.push(service.sid_name());
            source_arns.extend(sources.iter().cloned());
        }
    }
    if !producers.role_arns.is_empty() {
        statements.push(s::allow_roles_to_send(arn, &producers.role_arns));
        kinds.push("Roles");
    }
    statements.push(s::deny_all_producers_except(
        arn,
        &kinds,
        &source_arns,
        &producers.role_arns,
    ));

    if let Some(vpce) = &q.spec.vpc_endpoint_id {
        statements.push(s::deny_receiving_if_not_through_vpce(arn, vpce));
    }
    document(q, statements)
}

/// The dead-letter queue's policy: the five statements the guidance lists for a DLQ, and a Deny
/// of every sender but the main queue's redrive.
pub fn dead_letter_queue_policy(q: &Resolved) -> PolicyDocument {
    let arn = q.dead_letter_queue_arn.as_str();
    let mut statements = shared_statements(q, arn, &q.dead_letter_queue_consumers);
    statements.push(s::deny_any_producers_except_sqs(arn, &q.queue_arn));
    document(q, statements)
}

/// The statements under the `Id` that marks the SecureQueue owning the queue.
fn document(q: &Resolved, statements: Vec<super::document::Statement>) -> PolicyDocument {
    let id = resolve::queue_policy_id(&q.namespace, &q.name, &q.tags[resolve::TAG_CLUSTER]);
    PolicyDocument::new(statements).with_id(id)
}

/// `RestrictAdminQueueActions`, `AllowTheOperatorToManageTheQueue`,
/// `DenyQueueActionsOutsideOrg` (with an organization),
/// `AllowConsumersToReceiveFromTheQueue`, `DenyOtherConsumersFromReceiving` and
/// `DenyUnsecureTransport`, which both queues carry.
fn shared_statements(
    q: &Resolved,
    arn: &str,
    consumers: &[String],
) -> Vec<super::document::Statement> {
    let mut statements = vec![
        s::restrict_admin_queue_actions(arn, &q.administrators),
        s::allow_the_operator_to_manage_the_queue(arn, &q.operator_role_arn),
    ];
    if let Some(org) = &q.spec.organization_id {
        statements.push(s::deny_queue_actions_outside_org(arn, org));
    }
    statements.push(s::allow_consumers_to_receive(arn, consumers));
    statements.push(s::deny_other_consumers_from_receiving(arn, consumers));
    statements.push(s::deny_unsecure_transport(arn));
    statements
}
