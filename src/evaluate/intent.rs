//! The intent table: every access a SecureQueue means to grant, and the nearby accesses that
//! must stay denied, checked against the generated policies with the evaluator.

use serde::Serialize;
use serde_json::Value;

use crate::arn::Arn;
use crate::iam::{self, Decision, Effect, Request, evaluate};
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::statements::{OPERATOR_QUEUE_ACTIONS, SourceService, service_sources};
use crate::resolve::Resolved;

/// What the check expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Expect {
    /// The policy allows it.
    Allowed,
    /// The policy does not allow it (explicitly or by default). Enough for principals of other
    /// accounts, which need the resource policy's Allow.
    Denied,
    /// A Deny statement applies. Needed for principals of the queue's own account, whose own
    /// IAM policies could otherwise grant what the queue policy merely does not.
    ExplicitlyDenied,
    /// The policy does not deny it explicitly (the principal's own IAM policy decides).
    NotDenied,
}

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// The part whose policy it is about.
    pub target: Part,
    /// What the row says, for people.
    pub description: String,
    /// The request.
    pub request: Request,
    /// The expected outcome.
    pub expect: Expect,
    /// Whether the Allow statements alone must not allow it either: least privilege of the
    /// grants themselves, not only of the denies behind them.
    pub not_granted: bool,
}

/// A checked row.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The check.
    #[serde(flatten)]
    pub check: Check,
    /// The decision.
    pub decision: Decision,
    /// Whether the decision is the expected one.
    pub holds: bool,
}

/// The three policies of a plan, as JSON.
#[derive(Clone, Debug)]
pub struct Policies {
    /// The key policy.
    pub key: Value,
    /// The dead-letter queue's policy.
    pub dead_letter_queue: Value,
    /// The main queue's policy.
    pub queue: Value,
}

impl Policies {
    /// The plan's generated policies.
    pub fn of(plan: &Plan) -> Self {
        Self {
            key: plan.key.policy.to_value(),
            dead_letter_queue: plan.dead_letter_queue.attributes.policy.to_value(),
            queue: plan.queue.attributes.policy.to_value(),
        }
    }
}

/// A row whose policy the evaluator cannot read: a policy AWS would not accept either.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {error}")]
pub struct Error {
    /// The row's description.
    pub check: String,
    /// Why its policy cannot be read.
    pub error: iam::Error,
}

/// Checks every row of the table against the policies.
pub fn verify(policies: &Policies, q: &Resolved) -> Result<Vec<Row>, Error> {
    checks(q)
        .into_iter()
        .map(|check| {
            let policy = match check.target {
                Part::Key => &policies.key,
                Part::DeadLetterQueue => &policies.dead_letter_queue,
                Part::Queue => &policies.queue,
            };
            let unreadable = |error| Error {
                check: check.description.clone(),
                error,
            };
            let decision = evaluate(policy, &check.request).map_err(unreadable)?;
            let mut holds = match check.expect {
                Expect::Allowed => decision.effect == Effect::Allowed,
                Expect::Denied => decision.effect != Effect::Allowed,
                Expect::ExplicitlyDenied => decision.effect == Effect::ExplicitDeny,
                Expect::NotDenied => decision.effect != Effect::ExplicitDeny,
            };
            if check.not_granted {
                let grants =
                    evaluate(&allow_statements(policy), &check.request).map_err(unreadable)?;
                holds &= grants.effect != Effect::Allowed;
            }
            Ok(Row {
                check,
                decision,
                holds,
            })
        })
        .collect()
}

impl Check {
    /// For a principal the spec does not name: the Allow statements alone must not grant it
    /// either.
    fn unnamed(mut self) -> Self {
        self.not_granted = true;
        self
    }
}

/// The policy with its Deny statements left out.
fn allow_statements(policy: &Value) -> Value {
    let mut grants = policy.clone();
    if let Some(list) = grants["Statement"].as_array_mut() {
        list.retain(|s| s["Effect"] != "Deny");
    }
    grants
}

/// An account that is not the SecureQueue's, for the same names elsewhere.
const OTHER_ACCOUNT: &str = "999999999999";
/// An organization that is not the SecureQueue's.
const OTHER_ORGANIZATION: &str = "o-otherorganization";
/// A VPC endpoint that is not the SecureQueue's.
const OTHER_ENDPOINT: &str = "vpce-00000000000000000";

/// The table's requests from elsewhere than the SecureQueue's organization and VPC endpoint.
pub(super) trait Elsewhere {
    /// From a principal of another organization.
    fn outside_organization(self) -> Self;
    /// Through another VPC endpoint than the SecureQueue's.
    fn outside_endpoint(self) -> Self;
}

impl Elsewhere for Request {
    fn outside_organization(self) -> Self {
        self.in_organization(OTHER_ORGANIZATION)
    }

    fn outside_endpoint(self) -> Self {
        self.through_endpoint(OTHER_ENDPOINT)
    }
}

/// A request of a role of the SecureQueue's account (or organization), over TLS, through its
/// VPC endpoint: as a legitimate caller makes it.
pub(super) fn member(q: &Resolved, role: &str, action: &str, resource: &str) -> Request {
    let mut request = Request::signed(role, action, resource);
    if let Some(organization) = &q.spec.organization_id {
        request = request.in_organization(organization);
    }
    if let Some(endpoint) = &q.spec.vpc_endpoint_id {
        request = request.through_endpoint(endpoint);
    }
    request
}

/// The KMS call SQS makes with the key for a member's request.
pub(super) fn through_sqs(q: &Resolved, role: &str, action: &str) -> Request {
    member(q, role, action, "*")
        .via_service(&q.sqs_service_endpoint())
        .with("kms:CallerAccount", &q.account_id)
}

/// A row about a principal the spec names.
fn check(target: Part, description: String, request: Request, expect: Expect) -> Check {
    Check {
        target,
        description,
        request,
        expect,
        not_granted: false,
    }
}

/// A role of another account with the same name.
fn elsewhere(role: &str) -> String {
    let mut parts: Vec<&str> = role.splitn(6, ':').collect();
    if parts.len() == 6 {
        parts[4] = OTHER_ACCOUNT;
    }
    parts.join(":")
}

/// A role of the account that the spec does not name.
fn stranger(q: &Resolved) -> String {
    Arn::role(q.partition, &q.account_id, "securequeue-verify-stranger")
}

/// Both queues, with the policy that decides for each.
fn queues(q: &Resolved) -> [(Part, &str); 2] {
    [
        (Part::Queue, q.queue_arn.as_str()),
        (Part::DeadLetterQueue, q.dead_letter_queue_arn.as_str()),
    ]
}

/// Every row for a resolved SecureQueue: the principals the spec names, then the operator,
/// strangers and the redrive.
pub fn checks(q: &Resolved) -> Vec<Check> {
    let mut rows = Vec::new();
    for consumer in &q.consumers {
        rows.extend(consumer_rows(q, consumer));
    }
    for consumer in &q.dead_letter_queue_consumers {
        rows.extend(dead_letter_consumer_rows(q, consumer));
    }
    for (service, sources) in service_sources(&q.spec.producers) {
        for source in sources {
            rows.extend(service_source_rows(q, service, source));
            rows.extend(source_impostor_rows(q, source));
        }
    }
    for producer in &q.spec.producers.role_arns {
        rows.extend(producer_rows(q, producer));
    }
    for admin in &q.administrators {
        rows.extend(administrator_rows(q, admin));
    }
    for (target, arn) in queues(q) {
        rows.extend(operator_rows(q, target, arn));
    }
    rows.extend(stranger_rows(q));
    rows.extend(redrive_rows(q));
    rows
}

/// A consumer of the main queue receives and decrypts through SQS, and only over TLS, through
/// the endpoint and from the organization; its namesake in another account gets nothing.
fn consumer_rows(q: &Resolved, consumer: &str) -> Vec<Check> {
    let receive = |role: &str| member(q, role, "sqs:ReceiveMessage", &q.queue_arn);
    let mut rows: Vec<Check> = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
    ]
    .into_iter()
    .map(|action| {
        check(
            Part::Queue,
            format!("consumer {consumer} may {action}"),
            member(q, consumer, action, &q.queue_arn),
            Expect::Allowed,
        )
    })
    .collect();
    let twin = elsewhere(consumer);
    rows.extend([
        check(
            Part::Key,
            format!("consumer {consumer} may decrypt through SQS"),
            through_sqs(q, consumer, "kms:Decrypt"),
            Expect::Allowed,
        ),
        check(
            Part::Key,
            format!("consumer {consumer} may not decrypt outside SQS"),
            member(q, consumer, "kms:Decrypt", "*"),
            Expect::Denied,
        ),
        check(
            Part::Queue,
            format!("consumer {consumer} may not receive over plain HTTP"),
            receive(consumer).over_plain_http(),
            Expect::ExplicitlyDenied,
        ),
        check(
            Part::Queue,
            format!("another account's role of the same name ({twin}) may not receive"),
            receive(&twin),
            Expect::Denied,
        )
        .unnamed(),
        check(
            Part::Key,
            format!("another account's role of the same name ({twin}) may not read the key"),
            member(q, &twin, "kms:DescribeKey", "*"),
            Expect::Denied,
        )
        .unnamed(),
    ]);
    if q.spec.vpc_endpoint_id.is_some() {
        rows.push(check(
            Part::Queue,
            format!("consumer {consumer} may not receive outside the VPC endpoint"),
            receive(consumer).outside_endpoint(),
            Expect::ExplicitlyDenied,
        ));
    }
    if q.spec.organization_id.is_some() {
        rows.push(check(
            Part::Queue,
            format!("consumer {consumer} may not receive from outside the organization"),
            receive(consumer).outside_organization(),
            Expect::ExplicitlyDenied,
        ));
    }
    rows
}

/// A consumer of the dead-letter queue receives from it, only over TLS and from the
/// organization.
fn dead_letter_consumer_rows(q: &Resolved, consumer: &str) -> Vec<Check> {
    let receive = || member(q, consumer, "sqs:ReceiveMessage", &q.dead_letter_queue_arn);
    let mut rows = vec![
        check(
            Part::DeadLetterQueue,
            format!("dead-letter consumer {consumer} may receive"),
            receive(),
            Expect::Allowed,
        ),
        check(
            Part::DeadLetterQueue,
            format!("dead-letter consumer {consumer} may not receive over plain HTTP"),
            receive().over_plain_http(),
            Expect::ExplicitlyDenied,
        ),
    ];
    if q.spec.organization_id.is_some() {
        rows.push(check(
            Part::DeadLetterQueue,
            format!(
                "dead-letter consumer {consumer} may not receive from outside the organization"
            ),
            receive().outside_organization(),
            Expect::ExplicitlyDenied,
        ));
    }
    rows
}

/// The account a source belongs to: the one its ARN names, or (S3 buckets) the SecureQueue's.
fn source_account(q: &Resolved, source: &str) -> String {
    Arn::parse(source)
        .ok()
        .filter(|a| !a.account.is_empty())
        .map_or(q.account_id.clone(), |a| a.account.to_string())
}

/// A service sends and encrypts for a declared source, and for no other source of the account,
/// nor for a source of that name in another account.
fn service_source_rows(q: &Resolved, service: SourceService, source: &str) -> Vec<Check> {
    let principal = service.principal();
    let account = source_account(q, source);
    let from = |source: &str, account: &str, action: &str, resource: &str| {
        Request::from_service(principal, action, resource).for_source(source, account)
    };
    let (prefix, _) = source.rsplit_once([':', '/']).unwrap_or((source, ""));
    let sibling = format!(
        "{prefix}{}securequeue-verify-other",
        if source.contains('/') { "/" } else { ":" }
    );
    let mut rows = vec![
        check(
            Part::Queue,
            format!("{principal} may send for {source}"),
            from(source, &account, "sqs:SendMessage", &q.queue_arn),
            Expect::Allowed,
        ),
        check(
            Part::Key,
            format!("{principal} may encrypt for {source}"),
            from(source, &account, "kms:GenerateDataKey", "*"),
            Expect::Allowed,
        ),
        check(
            Part::Queue,
            format!("another source ({sibling}) may not send through {principal}"),
            from(&sibling, &account, "sqs:SendMessage", &q.queue_arn),
            Expect::Denied,
        )
        .unnamed(),
        check(
            Part::Key,
            format!("another source ({sibling}) may not encrypt through {principal}"),
            from(&sibling, &account, "kms:GenerateDataKey", "*"),
            Expect::Denied,
        )
        .unnamed(),
        check(
            Part::Key,
            format!("another account may not encrypt through {principal} naming {source}"),
            from(source, OTHER_ACCOUNT, "kms:GenerateDataKey", "*"),
            Expect::Denied,
        )
        .unnamed(),
    ];
    if service == SourceService::S3 {
        rows.push(
            check(
                Part::Queue,
                format!("another account may not send through {principal} naming {source}"),
                from(source, OTHER_ACCOUNT, "sqs:SendMessage", &q.queue_arn),
                Expect::Denied,
            )
            .unnamed(),
        );
    }
    if source.split(':').nth(4).is_some_and(|a| !a.is_empty()) {
        let twin = elsewhere(source);
        rows.push(check(
            Part::Queue,
            format!(
                "another account's {twin}, the same source name, may not send through {principal}"
            ),
            from(&twin, OTHER_ACCOUNT, "sqs:SendMessage", &q.queue_arn),
            Expect::Denied,
        ));
    }
    rows
}

/// A role of the account claiming a declared source as its own gets nothing. Only services
/// set `aws:SourceArn`, so this request cannot really be made; the rows prove that no Allow
/// grants it, whatever the Deny behind it.
fn source_impostor_rows(q: &Resolved, source: &str) -> Vec<Check> {
    let stranger = stranger(q);
    let account = source_account(q, source);
    let impostor = |action: &str, resource: &str| {
        member(q, &stranger, action, resource).for_source(source, &account)
    };
    vec![
        check(
            Part::Queue,
            format!("another role of the account may not send claiming {source} as its source"),
            impostor("sqs:SendMessage", &q.queue_arn),
            Expect::Denied,
        )
        .unnamed(),
        check(
            Part::Key,
            format!("another role of the account may not encrypt claiming {source} as its source"),
            impostor("kms:GenerateDataKey", "*"),
            Expect::Denied,
        ),
    ]
}

/// A producer role sends and encrypts through SQS, only over TLS.
fn producer_rows(q: &Resolved, producer: &str) -> Vec<Check> {
    vec![
        check(
            Part::Queue,
            format!("producer {producer} may send"),
            member(q, producer, "sqs:SendMessage", &q.queue_arn),
            Expect::Allowed,
        ),
        check(
            Part::Key,
            format!("producer {producer} may encrypt through SQS"),
            through_sqs(q, producer, "kms:GenerateDataKey"),
            Expect::Allowed,
        ),
        check(
            Part::Key,
            format!("producer {producer} may not use the key outside SQS"),
            member(q, producer, "kms:GenerateDataKey", "*"),
            Expect::Denied,
        ),
        check(
            Part::Queue,
            format!("producer {producer} may not send over plain HTTP"),
            member(q, producer, "sqs:SendMessage", &q.queue_arn).over_plain_http(),
            Expect::ExplicitlyDenied,
        ),
    ]
}

/// An administrator keeps the key policy (no lockout) and is not denied changing either queue.
fn administrator_rows(q: &Resolved, admin: &str) -> Vec<Check> {
    let mut rows = vec![check(
        Part::Key,
        format!("administrator {admin} may change the key policy (no lockout)"),
        member(q, admin, "kms:PutKeyPolicy", "*"),
        Expect::Allowed,
    )];
    for (target, arn) in queues(q) {
        rows.push(check(
            target,
            format!("administrator {admin} is not denied SetQueueAttributes on {arn}"),
            member(q, admin, "sqs:SetQueueAttributes", arn),
            Expect::NotDenied,
        ));
    }
    rows
}

/// The operator manages the queue through its policy alone, and the tagging it is granted there
/// is granted to nobody else.
fn operator_rows(q: &Resolved, target: Part, arn: &str) -> Vec<Check> {
    let stranger = stranger(q);
    let operator = OPERATOR_QUEUE_ACTIONS.into_iter().map(|action| {
        check(
            target,
            format!("the operator's role may {action} on {arn}, through this policy alone"),
            member(q, &q.operator_role_arn, action, arn),
            Expect::Allowed,
        )
    });
    let others = ["sqs:TagQueue", "sqs:UntagQueue"]
        .into_iter()
        .map(|action| {
            check(
                target,
                format!("another role of the account is granted no {action} on {arn}"),
                member(q, &stranger, action, arn),
                Expect::Denied,
            )
            .unnamed()
        });
    operator.chain(others).collect()
}

/// A role of the account the spec does not name may not use or change either queue, and gets
/// nothing of the key even through SQS.
fn stranger_rows(q: &Resolved) -> Vec<Check> {
    let stranger = stranger(q);
    let mut rows = Vec::new();
    for (target, resource) in queues(q) {
        for action in [
            "sqs:ReceiveMessage",
            "sqs:SendMessage",
            "sqs:SetQueueAttributes",
        ] {
            rows.push(
                check(
                    target,
                    format!("another role of the account may not {action} on {resource}"),
                    member(q, &stranger, action, resource),
                    Expect::ExplicitlyDenied,
                )
                .unnamed(),
            );
        }
    }
    for action in [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
    ] {
        rows.push(
            check(
                Part::Key,
                format!("another role of the account may not {action}"),
                through_sqs(q, &stranger, action),
                Expect::Denied,
            )
            .unnamed(),
        );
    }
    rows
}

/// The main queue's redrive reaches the dead-letter queue, and no other queue's does.
fn redrive_rows(q: &Resolved) -> Vec<Check> {
    let redrive = |source: &str| {
        Request::from_service(
            "sqs.amazonaws.com",
            "sqs:SendMessage",
            &q.dead_letter_queue_arn,
        )
        .for_source(source, &q.account_id)
    };
    let other_queue = Arn::queue(
        q.partition,
        &q.region,
        &q.account_id,
        "securequeue-verify-other",
    );
    vec![
        check(
            Part::DeadLetterQueue,
            "the main queue's redrive reaches the dead-letter queue".to_string(),
            redrive(&q.queue_arn),
            Expect::NotDenied,
        ),
        check(
            Part::DeadLetterQueue,
            format!("another queue ({other_queue}) may not feed the dead-letter queue"),
            redrive(&other_queue),
            Expect::ExplicitlyDenied,
        )
        .unnamed(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SecureQueue;
    use crate::plan;
    use crate::resolve::Environment;

    #[test]
    fn an_unreadable_policy_is_reported_with_the_row_that_read_it() {
        let queue: SecureQueue = serde_saphyr::from_str(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: orders, namespace: shop}\nspec:\n  region: us-east-1\n  consumerRoleArns: [arn:aws:iam::111122223333:role/consumer]\n",
        )
        .unwrap();
        let env = Environment::for_operator(
            "arn:aws:iam::111122223333:role/securequeue".into(),
            None,
            Some("us-east-1".into()),
            "test".into(),
            false,
        );
        let (resolved, plan) = plan::build_resolved(&queue, &env).unwrap();
        let mut policies = Policies::of(&plan);
        policies.queue = serde_json::json!({"Statement": "none"});
        let error = verify(&policies, &resolved).unwrap_err();
        assert_eq!(error.error, iam::Error::NoStatement);
        assert_eq!(
            error.to_string(),
            "consumer arn:aws:iam::111122223333:role/consumer may sqs:ReceiveMessage: the policy has no Statement"
        );
    }

    #[test]
    fn a_helper_replaces_the_context_key_it_sets() {
        let request = Request::signed("arn:aws:iam::111122223333:role/r", "sqs:SendMessage", "q")
            .in_organization("o-a1b2c3d4e5")
            .over_plain_http()
            .outside_organization();
        assert_eq!(request.context["aws:securetransport"], ["false"]);
        assert_eq!(request.context["aws:principalorgid"], [OTHER_ORGANIZATION]);
        assert_eq!(request.context["aws:principalaccount"], ["111122223333"]);
    }
}
