//! Guardrails the platform team sets on the operator, applied to every SecureQueue before it is
//! planned: principals and sources only from allowed accounts, a required organization, admin
//! roles added everywhere, a queue name prefix, a key alias prefix, and `Observe` and `Adopt`
//! kept to the SecureQueue's own namespace ([`tenancy`]). Pure: a SecureQueue in, the
//! SecureQueue the operator will plan (or the guardrails it breaks) out.

use crate::api::conditions::Reason;
use crate::api::{SecureQueue, SecureQueueSpec};
use crate::arn::Arn;
use crate::naming;
use crate::validation::Problem;

pub mod tenancy;

/// The platform team's guardrails; the default has none.
#[derive(Clone, Debug, Default)]
pub struct Guardrails {
    /// Accounts whose principals and sources a spec may name, besides the operator's own; empty
    /// means no restriction beyond the operator's cross-account setting.
    pub allowed_account_ids: Vec<String>,
    /// The organization every SecureQueue must restrict its queues to (`spec.organizationId`).
    pub required_organization_id: Option<String>,
    /// Roles added to every key's and queue's administrators.
    pub admin_role_arns: Vec<String>,
    /// A prefix every queue name must start with; default names get it added.
    pub queue_name_prefix: Option<String>,
    /// A prefix every key alias must start with (`alias/...`); a default alias outside it gets
    /// it in place of `alias/`. The operator's IAM policy can then be scoped to it.
    pub key_alias_prefix: Option<String>,
    /// Namespaces whose `Observe` and `Adopt` SecureQueues may name any queue and key; `*`
    /// stands for every namespace. Elsewhere they keep to their namespace's names
    /// ([`tenancy`]).
    pub cross_tenant_namespaces: Vec<String>,
}

/// A broken guardrail: the condition reason naming it, and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `GuardrailAllowedAccounts`, `GuardrailOrganization`, `GuardrailQueueNamePrefix`,
    /// `GuardrailKeyAliasPrefix` or `GuardrailTenantScope`.
    pub reason: Reason,
    /// The field and what is wrong with it.
    pub problem: Problem,
}

/// A key alias prefix, as the `--key-alias-prefix` flags take it: empty (any alias), or one
/// naming aliases a SecureQueue may have, under `alias/` and outside `alias/aws/`, which AWS
/// keeps for its own keys.
pub fn key_alias_prefix(prefix: &str) -> Result<String, String> {
    if prefix.is_empty() {
        return Ok(String::new());
    }
    let Some(rest) = prefix.strip_prefix("alias/") else {
        return Err(format!(
            "{prefix} must start with `alias/`",
            prefix = crate::quote::quoted(prefix)
        ));
    };
    if rest.starts_with("aws/") || rest.contains('*') {
        return Err(format!(
            "{prefix} must not start with `alias/aws/` nor hold `*`",
            prefix = crate::quote::quoted(prefix)
        ));
    }
    if !rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
    {
        return Err(format!(
            "{} holds characters KMS does not allow in an alias (letters, digits, `/`, `_` and `-` only)",
            crate::quote::quoted(prefix)
        ));
    }
    Ok(prefix.to_string())
}

/// A queue name prefix, as the `--queue-name-prefix` flags take it: empty (any name), or the
/// start of a queue name: the characters SQS allows in one, short enough to leave room for a
/// name after it.
pub fn queue_name_prefix(prefix: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
    if !prefix.chars().all(allowed) {
        return Err(format!(
            "{} holds characters SQS does not allow in a queue name (letters, digits, `_` and `-` only)",
            crate::quote::quoted(prefix)
        ));
    }
    if prefix.len() >= crate::api::limits::QUEUE_NAME_MAX as usize {
        return Err(format!(
            "is {} characters long, leaving no room for a queue name within SQS's 80",
            prefix.len()
        ));
    }
    Ok(prefix.to_string())
}

/// An organization id, as `--required-organization-id` takes it.
pub fn organization_id(id: &str) -> Result<String, String> {
    let valid = crate::validation::matches(crate::api::patterns::ORGANIZATION_ID, id);
    kept_if(
        id,
        valid,
        "an organization id such as o-a1b2c3d4e5 (no wildcards)",
    )
}

/// An account id, as `--allowed-account-ids` takes each.
pub fn account_id(id: &str) -> Result<String, String> {
    kept_if(id, crate::arn::is_account_id(id), "a 12-digit account id")
}

/// `value` when `valid`; otherwise why not: it is not `what`.
fn kept_if(value: &str, valid: bool, what: &str) -> Result<String, String> {
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!("{} is not {what}", crate::quote::quoted(value)))
    }
}

/// A role ARN, as `--admin-role-arns` takes each: one role, no wildcards, no root or user.
pub fn role_arn(arn: &str) -> Result<String, String> {
    crate::arn::parse_role(arn)
        .map(|_| arn.to_string())
        .map_err(|e| e.to_string())
}

impl Guardrails {
    /// The SecureQueue as the operator will plan it, or every guardrail it breaks.
    pub fn apply(
        &self,
        queue: &SecureQueue,
        operator_account: &str,
    ) -> Result<SecureQueue, Vec<Violation>> {
        let mut violations = self.foreign_accounts(&queue.spec, operator_account);
        violations.extend(self.missing_organization(&queue.spec));
        let mut planned = queue.clone();
        let namespace = queue.metadata.namespace.as_deref().unwrap_or("default");
        let name = queue.metadata.name.as_deref().unwrap_or_default();
        violations.extend(self.hold_to_prefixes(&mut planned, namespace, name));
        violations.extend(tenancy::violations(self, &planned, namespace, name));
        for role in &self.admin_role_arns {
            if !planned.spec.admin_role_arns.contains(role) {
                planned.spec.admin_role_arns.push(role.clone());
            }
        }
        if violations.is_empty() {
            Ok(planned)
        } else {
            Err(violations)
        }
    }

    /// Every principal and source `spec` names in an account other than the operator's and
    /// the allowed ones, when accounts are restricted.
    fn foreign_accounts(&self, spec: &SecureQueueSpec, operator_account: &str) -> Vec<Violation> {
        if self.allowed_account_ids.is_empty() {
            return Vec::new();
        }
        let named = [
            ("spec.adminRoleArns", &spec.admin_role_arns),
            ("spec.consumerRoleArns", &spec.consumer_role_arns),
            (
                "spec.deadLetterQueue.consumerRoleArns",
                &spec.dead_letter_queue.consumer_role_arns,
            ),
            (
                "spec.producers.snsTopicArns",
                &spec.producers.sns_topic_arns,
            ),
            (
                "spec.producers.eventBridgeRuleArns",
                &spec.producers.event_bridge_rule_arns,
            ),
            ("spec.producers.roleArns", &spec.producers.role_arns),
        ];
        let mut violations = Vec::new();
        for (field, arns) in named {
            for (i, text) in arns.iter().enumerate() {
                let Ok(arn) = Arn::parse(text) else { continue };
                if arn.account != operator_account
                    && !self.allowed_account_ids.iter().any(|a| a == arn.account)
                {
                    violations.push(Violation {
                        reason: Reason::GuardrailAllowedAccounts,
                        problem: Problem::new(
                            format!("{field}[{i}]"),
                            format!(
                                "{text} is in account {}, which the operator's guardrail does not allow (allowed: {})",
                                arn.account,
                                self.allowed_account_ids.join(", "),
                                text = crate::quote::quoted(text)
                            ),
                        ),
                    });
                }
            }
        }
        violations
    }

    /// The required organization, when `spec` does not name it.
    fn missing_organization(&self, spec: &SecureQueueSpec) -> Option<Violation> {
        let required = self.required_organization_id.as_ref()?;
        (spec.organization_id.as_ref() != Some(required)).then(|| Violation {
            reason: Reason::GuardrailOrganization,
            problem: Problem::new(
                "spec.organizationId",
                format!("the operator's guardrail requires organizationId: {required}"),
            ),
        })
    }

    /// Holds `planned`'s queue name and key alias to the prefix guardrails: a default name is
    /// given the prefix, and a given name outside it is a violation.
    fn hold_to_prefixes(
        &self,
        planned: &mut SecureQueue,
        namespace: &str,
        name: &str,
    ) -> Vec<Violation> {
        let mut violations = Vec::new();
        let spec = &mut planned.spec;
        if let Some(prefix) = &self.queue_name_prefix {
            let default = naming::queue_names(namespace, name, spec)
                .ok()
                .map(|(main, _)| format!("{prefix}{main}"));
            Prefix {
                prefix,
                field: "spec.queueName",
                what: "queue name",
                reason: Reason::GuardrailQueueNamePrefix,
            }
            .hold(&mut spec.queue_name, || default, &mut violations);
        }
        if let Some(prefix) = &self.key_alias_prefix {
            let default = || {
                let alias = naming::default_alias(namespace, name);
                let within = self.within_alias_prefix(&alias);
                (within != alias).then_some(within)
            };
            Prefix {
                prefix,
                field: "spec.key.alias",
                what: "key alias",
                reason: Reason::GuardrailKeyAliasPrefix,
            }
            .hold(&mut spec.key.alias, default, &mut violations);
        }
        violations
    }

    /// `alias` as a default alias is given the key alias prefix: unchanged when it starts with
    /// it already (or there is none), else with the prefix in place of `alias/`.
    fn within_alias_prefix(&self, alias: &str) -> String {
        match &self.key_alias_prefix {
            Some(prefix) if !alias.starts_with(prefix.as_str()) => {
                format!("{prefix}{}", alias.trim_start_matches("alias/"))
            }
            _ => alias.to_string(),
        }
    }
}

/// A name prefix guardrail: a name the spec gives must start with it, and a default name gets
/// it.
struct Prefix<'a> {
    prefix: &'a str,
    field: &'static str,
    what: &'static str,
    reason: Reason,
}

impl Prefix<'_> {
    /// Holds the planned spec's `name` to the prefix: a given name outside it is a violation, and
    /// an absent one becomes what `default` makes (`None`: the default needs no change).
    fn hold(
        &self,
        name: &mut Option<String>,
        default: impl FnOnce() -> Option<String>,
        violations: &mut Vec<Violation>,
    ) {
        match name {
            Some(given) if !given.starts_with(self.prefix) => violations.push(Violation {
                reason: self.reason,
                problem: Problem::new(
                    self.field,
                    format!(
                        "{given} must start with `{}`, the operator's {} prefix",
                        self.prefix,
                        self.what,
                        given = crate::quote::quoted(given)
                    ),
                ),
            }),
            Some(_) => {}
            None => *name = default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(spec: &str) -> SecureQueue {
        let mut queue: SecureQueue = serde_saphyr::from_str(&format!(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {{name: orders, namespace: shop}}\nspec:\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{spec}"
        ))
        .unwrap();
        queue.metadata.namespace = Some("shop".into());
        queue
    }

    #[test]
    fn no_guardrails_change_nothing() {
        let q = queue("");
        assert_eq!(Guardrails::default().apply(&q, "111122223333").unwrap(), q);
    }

    #[test]
    fn principals_of_other_accounts_need_an_allowed_account() {
        let g = Guardrails {
            allowed_account_ids: vec!["444455556666".into()],
            ..Default::default()
        };
        let q = queue(
            "  producers: {roleArns: [arn:aws:iam::999988887777:role/p, arn:aws:iam::444455556666:role/ok]}\n",
        );
        let violations = g.apply(&q, "111122223333").unwrap_err();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].reason, Reason::GuardrailAllowedAccounts);
        assert_eq!(violations[0].problem.field, "spec.producers.roleArns[0]");
    }

    #[test]
    fn a_required_organization_must_be_named() {
        let g = Guardrails {
            required_organization_id: Some("o-abcdefghij".into()),
            ..Default::default()
        };
        assert_eq!(
            g.apply(&queue(""), "111122223333").unwrap_err()[0].reason,
            Reason::GuardrailOrganization
        );
        assert!(
            g.apply(&queue("  organizationId: o-abcdefghij\n"), "111122223333")
                .is_ok()
        );
    }

    #[test]
    fn the_prefix_is_added_to_default_names_and_required_of_given_ones() {
        let g = Guardrails {
            queue_name_prefix: Some("team-".into()),
            ..Default::default()
        };
        let planned = g.apply(&queue(""), "111122223333").unwrap();
        assert_eq!(planned.spec.queue_name.as_deref(), Some("team-shop-orders"));
        let refused = g
            .apply(&queue("  queueName: orders\n"), "111122223333")
            .unwrap_err();
        assert_eq!(refused[0].reason, Reason::GuardrailQueueNamePrefix);
        assert!(
            g.apply(&queue("  queueName: team-orders\n"), "111122223333")
                .is_ok()
        );
    }

    #[test]
    fn the_alias_prefix_is_required_of_given_aliases_and_given_to_default_ones() {
        let g = Guardrails {
            key_alias_prefix: Some("alias/securequeue/".into()),
            ..Default::default()
        };
        // The default alias already starts with it: nothing changes.
        let q = queue("");
        assert_eq!(g.apply(&q, "111122223333").unwrap(), q);
        let refused = g
            .apply(
                &queue("  key: {alias: alias/team/orders}\n"),
                "111122223333",
            )
            .unwrap_err();
        assert_eq!(refused[0].reason, Reason::GuardrailKeyAliasPrefix);
        assert_eq!(refused[0].problem.field, "spec.key.alias");
        let team = Guardrails {
            key_alias_prefix: Some("alias/team-a/".into()),
            ..Default::default()
        };
        let planned = team.apply(&queue(""), "111122223333").unwrap();
        assert_eq!(
            planned.spec.key.alias.as_deref(),
            Some("alias/team-a/securequeue/shop/orders")
        );
    }

    #[test]
    fn an_alias_prefix_must_be_one_a_secure_queue_can_have() {
        for good in ["alias/securequeue/", "alias/team-", ""] {
            assert_eq!(key_alias_prefix(good).as_deref(), Ok(good));
        }
        for bad in [
            "securequeue/",
            "alias/aws/",
            "alias/*",
            "alias/team?",
            "alias/a b",
        ] {
            assert!(key_alias_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn guardrail_flags_take_only_what_aws_allows_there() {
        for good in ["", "team-", "team_a-"] {
            assert_eq!(queue_name_prefix(good).as_deref(), Ok(good));
        }
        for bad in ["*", "team?", "team*", "a b", "t\n", &"a".repeat(76)] {
            assert!(queue_name_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(organization_id("o-a1b2c3d4e5").is_ok());
        assert!(organization_id("o-*").is_err());
        assert!(account_id("111122223333").is_ok());
        assert!(account_id("1111*").is_err());
        assert!(role_arn("arn:aws:iam::111122223333:role/platform-admin").is_ok());
        for bad in [
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/u",
            "*",
        ] {
            assert!(role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_roles_are_added_once() {
        let g = Guardrails {
            admin_role_arns: vec!["arn:aws:iam::111122223333:role/platform".into()],
            ..Default::default()
        };
        let q = queue("  adminRoleArns: [arn:aws:iam::111122223333:role/platform]\n");
        assert_eq!(
            g.apply(&q, "111122223333")
                .unwrap()
                .spec
                .admin_role_arns
                .len(),
            1
        );
        assert_eq!(
            g.apply(&queue(""), "111122223333")
                .unwrap()
                .spec
                .admin_role_arns
                .len(),
            1
        );
    }
}
