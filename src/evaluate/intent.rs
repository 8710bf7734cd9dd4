//! The intent table: every access a SecureQueue means to grant, and the nearby accesses that
//! must stay denied, checked against the generated policies with the evaluator.

use serde::Serialize;
use serde_json::Value;

use crate::arn;
use crate::plan::Plan;
use crate::policy::statements::{OPERATOR_QUEUE_ACTIONS, service_sources};
use crate::resolve::Resolved;

use super::{Decision, Effect, Principal, Request, evaluate};

/// Which policy a check is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The key policy.
    Key,
    /// The dead-letter queue's policy.
    DeadLetterQueue,
    /// The main queue's policy.
    Queue,
}

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
    /// The policy.
    pub target: Target,
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

/// Checks every row of the table against the policies.
pub fn verify(policies: &Policies, q: &Resolved) -> Result<Vec<Row>, String> {
    checks(q)
        .into_iter()
        .map(|check| {
            let policy = match check.target {
                Target::Key => &policies.key,
                Target::DeadLetterQueue => &policies.dead_letter_queue,
                Target::Queue => &policies.queue,
            };
            let decision = evaluate(policy, &check.request)
                .map_err(|e| format!("{}: {e}", check.description))?;
            let mut holds = match check.expect {
                Expect::Allowed => decision.effect == Effect::Allowed,
                Expect::Denied => decision.effect != Effect::Allowed,
                Expect::ExplicitlyDenied => decision.effect == Effect::ExplicitDeny,
                Expect::NotDenied => decision.effect != Effect::ExplicitDeny,
            };
            if check.not_granted {
                let grants = evaluate(&allow_statements(policy), &check.request)
                    .map_err(|e| format!("{}: {e}", check.description))?;
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

/// A role of another account with the same name.
fn elsewhere(role: &str) -> String {
    let mut parts: Vec<&str> = role.splitn(6, ':').collect();
    if parts.len() == 6 {
        parts[4] = "999999999999";
    }
    parts.join(":")
}

/// Every row for a resolved SecureQueue.
pub fn checks(q: &Resolved) -> Vec<Check> {
    let mut rows = Vec::new();
    let spec = &q.spec;
    let sqs_endpoint = q.sqs_service_endpoint();
    let stranger = format!(
        "arn:{}:iam::{}:role/securequeue-verify-stranger",
        q.partition, q.account_id
    );
    // A request of a role of the account (or organization), over TLS, through the endpoint.
    let signed = |role: &str, action: &str, resource: &str| {
        let mut request = Request::new(Principal::Aws(role.to_string()), action, resource)
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalArn", role)
            .with(
                "aws:PrincipalAccount",
                role.split(':').nth(4).unwrap_or_default(),
            );
        if let Some(org) = &spec.organization_id {
            request = request.with("aws:PrincipalOrgID", org);
        }
        if let Some(vpce) = &spec.vpc_endpoint_id {
            request = request.with("aws:SourceVpce", vpce);
        }
        request
    };
    let through_sqs = |role: &str, action: &str| {
        signed(role, action, "*")
            .with("kms:ViaService", &sqs_endpoint)
            .with("kms:CallerAccount", &q.account_id)
    };
    let check = |target, description: String, request, expect| Check {
        target,
        description,
        request,
        expect,
        not_granted: false,
    };

    for consumer in &q.consumers {
        for action in [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
        ] {
            rows.push(check(
                Target::Queue,
                format!("consumer {consumer} may {action}"),
                signed(consumer, action, &q.queue_arn),
                Expect::Allowed,
            ));
        }
        rows.push(check(
            Target::Key,
            format!("consumer {consumer} may decrypt through SQS"),
            through_sqs(consumer, "kms:Decrypt"),
            Expect::Allowed,
        ));
        rows.push(check(
            Target::Key,
            format!("consumer {consumer} may not decrypt outside SQS"),
            signed(consumer, "kms:Decrypt", "*"),
            Expect::Denied,
        ));
        rows.push(check(
            Target::Queue,
            format!("consumer {consumer} may not receive over plain HTTP"),
            signed(consumer, "sqs:ReceiveMessage", &q.queue_arn)
                .without("aws:SecureTransport")
                .with("aws:SecureTransport", "false"),
            Expect::ExplicitlyDenied,
        ));
        let twin = elsewhere(consumer);
        rows.push(
            check(
                Target::Queue,
                format!("another account's role of the same name ({twin}) may not receive"),
                signed(&twin, "sqs:ReceiveMessage", &q.queue_arn),
                Expect::Denied,
            )
            .unnamed(),
        );
        rows.push(
            check(
                Target::Key,
                format!("another account's role of the same name ({twin}) may not read the key"),
                signed(&twin, "kms:DescribeKey", "*"),
                Expect::Denied,
            )
            .unnamed(),
        );
        if spec.vpc_endpoint_id.is_some() {
            rows.push(check(
                Target::Queue,
                format!("consumer {consumer} may not receive outside the VPC endpoint"),
                signed(consumer, "sqs:ReceiveMessage", &q.queue_arn)
                    .without("aws:SourceVpce")
                    .with("aws:SourceVpce", "vpce-00000000000000000"),
                Expect::ExplicitlyDenied,
            ));
        }
        if spec.organization_id.is_some() {
            rows.push(check(
                Target::Queue,
                format!("consumer {consumer} may not receive from outside the organization"),
                signed(consumer, "sqs:ReceiveMessage", &q.queue_arn)
                    .without("aws:PrincipalOrgID")
                    .with("aws:PrincipalOrgID", "o-otherorganization"),
                Expect::ExplicitlyDenied,
            ));
        }
    }
    for consumer in &q.dead_letter_queue_consumers {
        rows.push(check(
            Target::DeadLetterQueue,
            format!("dead-letter consumer {consumer} may receive"),
            signed(consumer, "sqs:ReceiveMessage", &q.dead_letter_queue_arn),
            Expect::Allowed,
        ));
        rows.push(check(
            Target::DeadLetterQueue,
            format!("dead-letter consumer {consumer} may not receive over plain HTTP"),
            signed(consumer, "sqs:ReceiveMessage", &q.dead_letter_queue_arn)
                .without("aws:SecureTransport")
                .with("aws:SecureTransport", "false"),
            Expect::ExplicitlyDenied,
        ));
        if spec.organization_id.is_some() {
            rows.push(check(
                Target::DeadLetterQueue,
                format!(
                    "dead-letter consumer {consumer} may not receive from outside the organization"
                ),
                signed(consumer, "sqs:ReceiveMessage", &q.dead_letter_queue_arn)
                    .without("aws:PrincipalOrgID")
                    .with("aws:PrincipalOrgID", "o-otherorganization"),
                Expect::ExplicitlyDenied,
            ));
        }
    }

    for (service, sources) in service_sources(&spec.producers) {
        let principal = service.principal();
        for source in sources {
            let account = arn::Arn::parse(source)
                .ok()
                .filter(|a| !a.account.is_empty())
                .map_or(q.account_id.clone(), |a| a.account.to_string());
            let from = |source: &str, account: &str, action: &str, resource: &str| {
                Request::new(Principal::Service(principal.to_string()), action, resource)
                    .with("aws:SecureTransport", "true")
                    .with("aws:SourceArn", source)
                    .with("aws:SourceAccount", account)
            };
            rows.push(check(
                Target::Queue,
                format!("{principal} may send for {source}"),
                from(source, &account, "sqs:SendMessage", &q.queue_arn),
                Expect::Allowed,
            ));
            rows.push(check(
                Target::Key,
                format!("{principal} may encrypt for {source}"),
                from(source, &account, "kms:GenerateDataKey", "*"),
                Expect::Allowed,
            ));
            let (prefix, _) = source.rsplit_once([':', '/']).unwrap_or((source, ""));
            let sibling = format!(
                "{prefix}{}securequeue-verify-other",
                if source.contains('/') { "/" } else { ":" }
            );
            rows.push(
                check(
                    Target::Queue,
                    format!("another source ({sibling}) may not send through {principal}"),
                    from(&sibling, &account, "sqs:SendMessage", &q.queue_arn),
                    Expect::Denied,
                )
                .unnamed(),
            );
            rows.push(
                check(
                    Target::Key,
                    format!("another source ({sibling}) may not encrypt through {principal}"),
                    from(&sibling, &account, "kms:GenerateDataKey", "*"),
                    Expect::Denied,
                )
                .unnamed(),
            );
            rows.push(
                check(
                    Target::Key,
                    format!("another account may not encrypt through {principal} naming {source}"),
                    from(source, "999999999999", "kms:GenerateDataKey", "*"),
                    Expect::Denied,
                )
                .unnamed(),
            );
            if service.principal() == "s3.amazonaws.com" {
                rows.push(
                    check(
                        Target::Queue,
                        format!("another account may not send through {principal} naming {source}"),
                        from(source, "999999999999", "sqs:SendMessage", &q.queue_arn),
                        Expect::Denied,
                    )
                    .unnamed(),
                );
            }
            if source.split(':').nth(4).is_some_and(|a| !a.is_empty()) {
                let twin = elsewhere(source);
                rows.push(check(
                    Target::Queue,
                    format!(
                        "another account's {twin}, the same source name, may not send through {principal}"
                    ),
                    from(&twin, "999999999999", "sqs:SendMessage", &q.queue_arn),
                    Expect::Denied,
                ));
            }
            let impostor = |action: &str, resource: &str| {
                signed(&stranger, action, resource)
                    .with("aws:SourceArn", source)
                    .with("aws:SourceAccount", &account)
            };
            // Only services set aws:SourceArn, so this request cannot really be made; the row
            // proves that no Allow grants it, whatever the Deny behind it.
            rows.push(
                check(
                    Target::Queue,
                    format!(
                        "another role of the account may not send claiming {source} as its source"
                    ),
                    impostor("sqs:SendMessage", &q.queue_arn),
                    Expect::Denied,
                )
                .unnamed(),
            );
            rows.push(check(
                Target::Key,
                format!(
                    "another role of the account may not encrypt claiming {source} as its source"
                ),
                impostor("kms:GenerateDataKey", "*"),
                Expect::Denied,
            ));
        }
    }
    for producer in &spec.producers.role_arns {
        rows.push(check(
            Target::Queue,
            format!("producer {producer} may send"),
            signed(producer, "sqs:SendMessage", &q.queue_arn),
            Expect::Allowed,
        ));
        rows.push(check(
            Target::Key,
            format!("producer {producer} may encrypt through SQS"),
            through_sqs(producer, "kms:GenerateDataKey"),
            Expect::Allowed,
        ));
        rows.push(check(
            Target::Key,
            format!("producer {producer} may not use the key outside SQS"),
            signed(producer, "kms:GenerateDataKey", "*"),
            Expect::Denied,
        ));
        rows.push(check(
            Target::Queue,
            format!("producer {producer} may not send over plain HTTP"),
            signed(producer, "sqs:SendMessage", &q.queue_arn)
                .without("aws:SecureTransport")
                .with("aws:SecureTransport", "false"),
            Expect::ExplicitlyDenied,
        ));
    }

    for admin in &q.administrators {
        rows.push(check(
            Target::Key,
            format!("administrator {admin} may change the key policy (no lockout)"),
            signed(admin, "kms:PutKeyPolicy", "*"),
            Expect::Allowed,
        ));
        for (target, arn) in [
            (Target::Queue, &q.queue_arn),
            (Target::DeadLetterQueue, &q.dead_letter_queue_arn),
        ] {
            rows.push(check(
                target,
                format!("administrator {admin} is not denied SetQueueAttributes on {arn}"),
                signed(admin, "sqs:SetQueueAttributes", arn),
                Expect::NotDenied,
            ));
        }
    }

    for (target, arn) in [
        (Target::Queue, &q.queue_arn),
        (Target::DeadLetterQueue, &q.dead_letter_queue_arn),
    ] {
        for action in OPERATOR_QUEUE_ACTIONS {
            rows.push(check(
                target,
                format!("the operator's role may {action} on {arn}, through this policy alone"),
                signed(&q.operator_role_arn, action, arn),
                Expect::Allowed,
            ));
        }
        for action in ["sqs:TagQueue", "sqs:UntagQueue"] {
            rows.push(
                check(
                    target,
                    format!("another role of the account is granted no {action} on {arn}"),
                    signed(&stranger, action, arn),
                    Expect::Denied,
                )
                .unnamed(),
            );
        }
    }

    for (action, target, resource) in [
        ("sqs:ReceiveMessage", Target::Queue, q.queue_arn.as_str()),
        ("sqs:SendMessage", Target::Queue, q.queue_arn.as_str()),
        (
            "sqs:SetQueueAttributes",
            Target::Queue,
            q.queue_arn.as_str(),
        ),
        (
            "sqs:ReceiveMessage",
            Target::DeadLetterQueue,
            q.dead_letter_queue_arn.as_str(),
        ),
        (
            "sqs:SendMessage",
            Target::DeadLetterQueue,
            q.dead_letter_queue_arn.as_str(),
        ),
        (
            "sqs:SetQueueAttributes",
            Target::DeadLetterQueue,
            q.dead_letter_queue_arn.as_str(),
        ),
    ] {
        rows.push(
            check(
                target,
                format!("another role of the account may not {action} on {resource}"),
                signed(&stranger, action, resource),
                Expect::ExplicitlyDenied,
            )
            .unnamed(),
        );
    }
    for action in [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
    ] {
        rows.push(
            check(
                Target::Key,
                format!("another role of the account may not {action}"),
                through_sqs(&stranger, action),
                Expect::Denied,
            )
            .unnamed(),
        );
    }

    let redrive = |source: &str| {
        Request::new(
            Principal::Service("sqs.amazonaws.com".into()),
            "sqs:SendMessage",
            &q.dead_letter_queue_arn,
        )
        .with("aws:SecureTransport", "true")
        .with("aws:SourceArn", source)
        .with("aws:SourceAccount", &q.account_id)
    };
    rows.push(check(
        Target::DeadLetterQueue,
        "the main queue's redrive reaches the dead-letter queue".to_string(),
        redrive(&q.queue_arn),
        Expect::NotDenied,
    ));
    let other_queue = format!(
        "arn:{}:sqs:{}:{}:securequeue-verify-other",
        q.partition, q.region, q.account_id
    );
    rows.push(
        check(
            Target::DeadLetterQueue,
            format!("another queue ({other_queue}) may not feed the dead-letter queue"),
            redrive(&other_queue),
            Expect::ExplicitlyDenied,
        )
        .unnamed(),
    );
    rows
}
