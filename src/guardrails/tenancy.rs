//! The tenant scope of `Observe` and `Adopt`. The operator reads and takes over with its own
//! AWS authority, on behalf of whoever may create a SecureQueue in a namespace. Unscoped, one
//! team could name another team's queue and key and have their policies' principals written
//! into its own status (`Observe`), or take over a queue whose owner opened it to the operator
//! for a migration of their own (`Adopt`).
//!
//! The rule: an `Observe` or `Adopt` SecureQueue of namespace `N` names only
//! - queues whose names start with `N-`, after the queue name prefix guardrail if there is one
//!   (the names its defaults have);
//! - key aliases under `alias/securequeue/N/`, placed in the key alias prefix guardrail as a
//!   default alias is.
//!
//! Names alone cannot keep namespace `a` from `a-b`'s queues (`a-b-orders` starts with `a-`),
//! so an observer also reads only resources that are unowned or of a SecureQueue of its own
//! namespace and cluster: the ownership tags decide, where the pass reads them
//! (`Claim` in `src/reconcile/ownership.rs`). An adoption never takes another's anyway.
//!
//! A namespace the platform team trusts across tenants (`--cross-tenant-namespaces`: its own
//! namespace, or `*` on a cluster of one tenant) may name anything. `Manage` needs no scope: it
//! reads only to create, and refuses every existing resource it did not make
//! (`NameConflict`).

use super::{Guardrails, Violation};
use crate::api::conditions::Reason;
use crate::api::{Management, SecureQueue, patterns};
use crate::naming;
use crate::validation::{self, Problem};

/// What `--cross-tenant-namespaces` takes, one at a time: a namespace name, or `*`.
pub fn namespace(text: &str) -> Result<String, String> {
    if text == "*" || validation::matches(patterns::NAMESPACE, text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{} is neither a namespace name (at most 63 lowercase letters, digits and `-`) nor `*`",
            crate::quote::quoted(text)
        ))
    }
}

impl Guardrails {
    /// Whether SecureQueues of `namespace` may observe and adopt outside its names.
    pub fn trusts_across_tenants(&self, namespace: &str) -> bool {
        self.cross_tenant_namespaces
            .iter()
            .any(|trusted| trusted == "*" || trusted == namespace)
    }
}

/// The names `planned` (guardrail prefixes already applied) gives outside its namespace's, when
/// it observes or adopts and its namespace is not trusted across tenants.
pub(super) fn violations(
    guardrails: &Guardrails,
    planned: &SecureQueue,
    namespace: &str,
    name: &str,
) -> Vec<Violation> {
    let spec = &planned.spec;
    let management = match spec.management {
        Management::Manage => return Vec::new(),
        Management::Observe => "Observe",
        Management::Adopt => "Adopt",
    };
    if guardrails.trusts_across_tenants(namespace) {
        return Vec::new();
    }
    let queues = format!(
        "{}{namespace}-",
        guardrails.queue_name_prefix.as_deref().unwrap_or_default()
    );
    let aliases = guardrails.within_alias_prefix(&naming::default_alias(namespace, ""));
    let mut named = Vec::new();
    if let Ok((main, dead_letter)) = naming::queue_names(namespace, name, spec) {
        named.push(("spec.queueName", main, &queues));
        named.push(("spec.deadLetterQueue.queueName", dead_letter, &queues));
    }
    let alias = spec
        .key
        .alias
        .clone()
        .unwrap_or_else(|| naming::default_alias(namespace, name));
    named.push(("spec.key.alias", alias, &aliases));
    named
        .into_iter()
        .filter(|(_, given, root)| !given.starts_with(root.as_str()))
        .map(|(field, given, _)| Violation {
            reason: Reason::GuardrailTenantScope,
            problem: Problem::new(
                field,
                format!(
                    "{} is not one of namespace {namespace}'s names: with management: {management}, a SecureQueue names only queues starting with `{queues}` and key aliases starting with `{aliases}`, unless the platform team trusts its namespace across tenants (--cross-tenant-namespaces)",
                    crate::quote::quoted(&given)
                ),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(namespace: &str, spec: &str) -> SecureQueue {
        let mut queue: SecureQueue = serde_saphyr::from_str(&format!(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {{name: orders}}\nspec:\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{spec}"
        ))
        .unwrap();
        queue.metadata.namespace = Some(namespace.into());
        queue
    }

    fn refused_fields(guardrails: &Guardrails, namespace: &str, spec: &str) -> Vec<String> {
        match guardrails.apply(&queue(namespace, spec), "111122223333") {
            Ok(_) => Vec::new(),
            Err(violations) => violations
                .into_iter()
                .inspect(|v| assert_eq!(v.reason, Reason::GuardrailTenantScope))
                .map(|v| v.problem.field)
                .collect(),
        }
    }

    const ELSEWHERE: &str = "  queueName: billing-invoices\n  deadLetterQueue: {queueName: billing-invoices-dlq}\n  key: {alias: alias/securequeue/billing/invoices}\n";

    #[test]
    fn observe_and_adopt_name_only_their_namespaces_queues_and_aliases() {
        let none = Guardrails::default();
        for management in ["Observe", "Adopt"] {
            let own = format!(
                "  management: {management}\n  queueName: shop-legacy\n  deadLetterQueue: {{queueName: shop-legacy-failed}}\n  key: {{alias: alias/securequeue/shop/legacy}}\n"
            );
            assert_eq!(refused_fields(&none, "shop", &own), Vec::<String>::new());
            assert_eq!(
                refused_fields(&none, "shop", &format!("  management: {management}\n")),
                Vec::<String>::new(),
                "the default names are the namespace's"
            );
            assert_eq!(
                refused_fields(
                    &none,
                    "shop",
                    &format!("  management: {management}\n{ELSEWHERE}")
                ),
                [
                    "spec.queueName",
                    "spec.deadLetterQueue.queueName",
                    "spec.key.alias"
                ]
            );
        }
    }

    #[test]
    fn manage_needs_no_scope_as_it_never_uses_what_it_did_not_make() {
        assert!(refused_fields(&Guardrails::default(), "shop", ELSEWHERE).is_empty());
    }

    #[test]
    fn a_trusted_namespace_or_a_star_may_name_anything() {
        let spec = format!("  management: Observe\n{ELSEWHERE}");
        for trusted in [vec!["platform", "shop"], vec!["*"]] {
            let guardrails = Guardrails {
                cross_tenant_namespaces: trusted.iter().map(ToString::to_string).collect(),
                ..Guardrails::default()
            };
            assert!(refused_fields(&guardrails, "shop", &spec).is_empty());
        }
        let others = Guardrails {
            cross_tenant_namespaces: vec!["platform".into()],
            ..Guardrails::default()
        };
        assert_eq!(refused_fields(&others, "shop", &spec).len(), 3);
    }

    #[test]
    fn the_scope_follows_the_name_prefix_guardrails() {
        let guardrails = Guardrails {
            queue_name_prefix: Some("team-".into()),
            key_alias_prefix: Some("alias/team/".into()),
            ..Guardrails::default()
        };
        let inside = "  management: Adopt\n  queueName: team-shop-legacy\n  deadLetterQueue: {queueName: team-shop-legacy-dlq}\n  key: {alias: alias/team/securequeue/shop/legacy}\n";
        assert!(refused_fields(&guardrails, "shop", inside).is_empty());
        assert!(refused_fields(&guardrails, "shop", "  management: Adopt\n").is_empty());
        let outside = "  management: Adopt\n  queueName: team-billing-x\n  deadLetterQueue: {queueName: team-shop-x-dlq}\n  key: {alias: alias/team/securequeue/billing/x}\n";
        assert_eq!(
            refused_fields(&guardrails, "shop", outside),
            ["spec.queueName", "spec.key.alias"]
        );
    }

    #[test]
    fn the_message_names_the_rule_and_the_flag() {
        let violations = Guardrails::default()
            .apply(
                &queue("shop", &format!("  management: Observe\n{ELSEWHERE}")),
                "111122223333",
            )
            .unwrap_err();
        let reason = &violations[0].problem.reason;
        for part in [
            "`billing-invoices`",
            "`shop-`",
            "`alias/securequeue/shop/`",
            "--cross-tenant-namespaces",
        ] {
            assert!(reason.contains(part), "{reason}");
        }
    }

    #[test]
    fn the_flag_takes_namespace_names_and_a_star() {
        for good in ["*", "platform", "team-a"] {
            assert_eq!(namespace(good).as_deref(), Ok(good));
        }
        for bad in ["", "Team", "a*", "a b", "-a", &"a".repeat(64)] {
            assert!(namespace(bad).is_err(), "{bad:?}");
        }
    }
}
