//! AWS's policy quotas, computed on the compact serialization, and the one kind of rewriting
//! allowed to fit them: merging statements whose union means exactly what the two meant.

use std::fmt;

use super::document::{PolicyDocument, Principal, Statement, Values};

/// Which service stores the policy, and so which quotas apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// An SQS queue policy.
    Queue,
    /// A KMS key policy.
    Key,
}

/// The quotas of one kind of policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Compact JSON size, bytes.
    pub bytes: usize,
    /// Statements.
    pub statements: usize,
    /// Principals, summed over statements; `"*"` counts as one.
    pub principals: usize,
    /// Conditions (operator and key pairs), summed over statements.
    pub conditions: usize,
    /// Actions in any one statement.
    pub actions_per_statement: usize,
}

impl PolicyKind {
    /// The documented quotas: SQS's policy quotas, and KMS's 32 KB key policy limit (which has
    /// no statement, principal, condition or action limits of its own).
    pub fn quotas(self) -> Quotas {
        match self {
            PolicyKind::Queue => Quotas {
                bytes: 8_192,
                statements: 20,
                principals: 50,
                conditions: 10,
                actions_per_statement: 7,
            },
            PolicyKind::Key => Quotas {
                bytes: 32_768,
                statements: usize::MAX,
                principals: usize::MAX,
                conditions: usize::MAX,
                actions_per_statement: usize::MAX,
            },
        }
    }
}

/// What a document uses of each quota.
pub fn usage(doc: &PolicyDocument) -> Quotas {
    Quotas {
        bytes: doc.to_compact_json().len(),
        statements: doc.statement.len(),
        principals: doc.statement.iter().map(|s| s.principal.count()).sum(),
        conditions: doc
            .statement
            .iter()
            .map(|s| s.condition.values().map(|keys| keys.len()).sum::<usize>())
            .sum(),
        actions_per_statement: doc
            .statement
            .iter()
            .map(|s| s.action.len())
            .max()
            .unwrap_or(0),
    }
}

/// One quota a document exceeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The quota's name.
    pub quota: &'static str,
    /// Its limit.
    pub limit: usize,
    /// What the document needs.
    pub value: usize,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} over the quota of {}",
            self.value, self.quota, self.limit
        )
    }
}

/// The quotas `doc` exceeds.
pub fn violations(kind: PolicyKind, doc: &PolicyDocument) -> Vec<Violation> {
    let limit = kind.quotas();
    let used = usage(doc);
    [
        ("bytes", limit.bytes, used.bytes),
        ("statements", limit.statements, used.statements),
        ("principals", limit.principals, used.principals),
        ("conditions", limit.conditions, used.conditions),
        (
            "actions in one statement",
            limit.actions_per_statement,
            used.actions_per_statement,
        ),
    ]
    .into_iter()
    .filter(|(_, limit, value)| value > limit)
    .map(|(quota, limit, value)| Violation {
        quota,
        limit,
        value,
    })
    .collect()
}

/// The document itself when it fits its quotas; else the document with its mergeable statements
/// merged, when that fits; else what it still exceeds.
pub fn fit(kind: PolicyKind, doc: PolicyDocument) -> Result<PolicyDocument, Vec<Violation>> {
    if violations(kind, &doc).is_empty() {
        return Ok(doc);
    }
    let merged = merge_statements(doc, kind.quotas().actions_per_statement);
    match violations(kind, &merged) {
        none if none.is_empty() => Ok(merged),
        some => Err(some),
    }
}

/// Merges pairs of statements that differ only in their actions (same effect, principal,
/// resource and conditions: the union grants or denies exactly what the two did), or only in
/// their principals of one kind (same effect, actions, resource and conditions). Repeats until
/// nothing merges. The merged statement's Sid joins both Sids.
pub fn merge_statements(mut doc: PolicyDocument, max_actions: usize) -> PolicyDocument {
    'again: loop {
        for i in 0..doc.statement.len() {
            for j in i + 1..doc.statement.len() {
                if let Some(merged) = merge_pair(&doc.statement[i], &doc.statement[j], max_actions)
                {
                    doc.statement[i] = merged;
                    doc.statement.remove(j);
                    continue 'again;
                }
            }
        }
        return doc;
    }
}

fn merge_pair(a: &Statement, b: &Statement, max_actions: usize) -> Option<Statement> {
    if a.effect != b.effect || a.resource != b.resource || a.condition != b.condition {
        return None;
    }
    let sid = format!("{}And{}", a.sid, b.sid);
    if a.principal == b.principal {
        let actions = Values::ordered(
            a.action
                .as_slice()
                .iter()
                .chain(b.action.as_slice())
                .cloned(),
        );
        if actions.len() > max_actions {
            return None;
        }
        return Some(Statement {
            sid,
            action: actions,
            ..a.clone()
        });
    }
    if same_set(&a.action, &b.action) {
        let principal = match (&a.principal, &b.principal) {
            (Principal::Aws(x), Principal::Aws(y)) => {
                Principal::aws(x.as_slice().iter().chain(y.as_slice()).cloned())
            }
            (Principal::Service(x), Principal::Service(y)) => Principal::Service(Values::set(
                x.as_slice().iter().chain(y.as_slice()).cloned(),
            )),
            _ => return None,
        };
        return Some(Statement {
            sid,
            principal,
            ..a.clone()
        });
    }
    None
}

fn same_set(a: &Values, b: &Values) -> bool {
    a.len() == b.len() && a.as_slice().iter().all(|x| b.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arn::{Arn, Partition};
    use crate::policy::document::Statement;

    fn roles(names: &[&str]) -> Principal {
        Principal::aws(
            names
                .iter()
                .map(|n| Arn::role(Partition::Aws, "111122223333", n)),
        )
    }

    #[test]
    fn statements_differing_only_in_actions_merge() {
        let doc = PolicyDocument::new(vec![
            Statement::allow("A", roles(&["x"]), &["sqs:ReceiveMessage"], "arn:q"),
            Statement::allow("B", roles(&["x"]), &["sqs:SendMessage"], "arn:q"),
        ]);
        let merged = merge_statements(doc, 7);
        assert_eq!(merged.statement.len(), 1);
        assert_eq!(merged.statement[0].sid, "AAndB");
        assert_eq!(
            merged.statement[0].action.as_slice(),
            ["sqs:ReceiveMessage", "sqs:SendMessage"]
        );
    }

    #[test]
    fn statements_differing_only_in_principals_merge() {
        let doc = PolicyDocument::new(vec![
            Statement::allow("A", roles(&["x"]), &["sqs:SendMessage"], "arn:q"),
            Statement::allow("B", roles(&["y"]), &["sqs:SendMessage"], "arn:q"),
        ]);
        let merged = merge_statements(doc, 7);
        assert_eq!(merged.statement.len(), 1);
        assert_eq!(merged.statement[0].principal, roles(&["x", "y"]));
    }

    #[test]
    fn statements_with_different_conditions_or_effects_stay_apart() {
        let doc = PolicyDocument::new(vec![
            Statement::allow("A", roles(&["x"]), &["sqs:SendMessage"], "arn:q"),
            Statement::allow("B", roles(&["y"]), &["sqs:SendMessage"], "arn:q").when(
                "Bool",
                "aws:SecureTransport",
                ["true"],
            ),
            Statement::deny("C", roles(&["x"]), &["sqs:SendMessage"], "arn:q"),
            Statement::allow("D", roles(&["x"]), &["sqs:SendMessage"], "arn:other"),
        ]);
        assert_eq!(merge_statements(doc.clone(), 7), doc);
    }

    #[test]
    fn a_merge_that_would_break_the_action_quota_is_not_made() {
        let doc = PolicyDocument::new(vec![
            Statement::allow("A", roles(&["x"]), &["a:1", "a:2", "a:3", "a:4"], "arn:q"),
            Statement::allow("B", roles(&["x"]), &["a:5", "a:6", "a:7", "a:8"], "arn:q"),
        ]);
        assert_eq!(merge_statements(doc.clone(), 7), doc);
    }

    #[test]
    fn usage_counts_principals_and_conditions_over_all_statements() {
        let doc = PolicyDocument::new(vec![
            Statement::deny("A", Principal::any_aws(), &["sqs:SendMessage"], "arn:q")
                .when("ArnNotLike", "aws:SourceArn", ["s"])
                .when("ArnNotLike", "aws:PrincipalArn", ["p"]),
            Statement::allow("B", roles(&["x", "y"]), &["sqs:SendMessage"], "arn:q"),
        ]);
        let used = usage(&doc);
        assert_eq!(
            (
                used.statements,
                used.principals,
                used.conditions,
                used.actions_per_statement
            ),
            (2, 3, 2, 1)
        );
        assert_eq!(used.bytes, doc.to_compact_json().len());
    }

    #[test]
    fn a_policy_over_the_byte_quota_is_refused_with_its_numbers() {
        let many: Vec<String> = (0..300)
            .map(|i| Arn::role(Partition::Aws, "111122223333", &format!("r{i:03}")))
            .collect();
        let doc = PolicyDocument::new(vec![Statement::allow(
            "A",
            Principal::aws(many),
            &["sqs:SendMessage"],
            "arn:q",
        )]);
        let violations = fit(PolicyKind::Queue, doc).unwrap_err();
        let quotas: Vec<&str> = violations.iter().map(|v| v.quota).collect();
        assert_eq!(quotas, ["bytes", "principals"]);
        assert_eq!(
            violations[1].to_string(),
            "300 principals over the quota of 50"
        );
    }
}
