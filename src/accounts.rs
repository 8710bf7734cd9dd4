//! Which AWS account a SecureQueue's resources are in, and with which role the operator works
//! there. Pure: the platform team's `SecureQueueAccount` bindings and a SecureQueue in, the
//! configuration to plan it with (or why its namespace may not use the account) out.
//!
//! A SecureQueue without `spec.accountId`, or naming the operator's own account, is planned
//! with the operator's configuration, as before accounts could be bound. One naming another
//! account needs a binding of that account that admits its namespace; it is then planned as if
//! the operator ran as the binding's role in that account: that role administers the key and
//! queues, and the binding's guardrails are added to the operator's. Without such a binding the
//! SecureQueue is refused (`GuardrailAccount`) before any AWS call: a namespace never reaches
//! an account it was not given.

use std::collections::{BTreeMap, BTreeSet};

use kube::core::{Selector, SelectorExt};

use crate::api::conditions::Reason;
use crate::api::{
    AccountGuardrails, SecureQueue, SecureQueueAccount, SecureQueueAccountSpec, limits, patterns,
};
use crate::arn;
use crate::resolve::Environment;
use crate::validation::{Problem, matches};

/// One valid binding: an account, the role to assume in it, and who may use it.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The SecureQueueAccount's name.
    pub name: String,
    /// The bound account.
    pub account_id: String,
    /// The role the operator assumes in it.
    pub role_arn: String,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    namespaces: Vec<String>,
    selector: Option<Selector>,
    guardrails: AccountGuardrails,
}

impl Binding {
    /// The binding a SecureQueueAccount makes, or every problem with it, each naming its field.
    pub fn of(account: &SecureQueueAccount) -> Result<Self, Vec<Problem>> {
        let spec = &account.spec;
        let mut problems = identity_problems(spec);
        problems.extend(guardrail_problems(&spec.guardrails));
        for (i, namespace) in spec.namespaces.iter().enumerate() {
            if !matches(patterns::NAMESPACE, namespace) {
                problems.push(Problem::new(
                    format!("spec.namespaces[{i}]"),
                    format!(
                        "{namespace} is not a namespace name",
                        namespace = crate::quote::quoted(namespace)
                    ),
                ));
            }
        }
        let selector = match spec.namespace_selector.clone().map(Selector::try_from) {
            Some(Err(e)) => {
                problems.push(Problem::new("spec.namespaceSelector", e.to_string()));
                None
            }
            parsed => parsed.and_then(Result::ok),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            name: account.metadata.name.clone().unwrap_or_default(),
            account_id: spec.account_id.clone(),
            role_arn: spec.role_arn.clone(),
            external_id: spec.external_id.clone(),
            namespaces: spec.namespaces.clone(),
            selector,
            guardrails: spec.guardrails.clone(),
        })
    }

    /// What a SecureQueue it admits is planned with: whom it may admit aside.
    fn terms(&self) -> Terms<'_> {
        (
            &self.name,
            &self.account_id,
            &self.role_arn,
            self.external_id.as_deref(),
            &self.guardrails,
        )
    }

    /// Whether SecureQueues of `namespace` may use the account: by name, or by the namespace's
    /// labels when they are known.
    fn admits(&self, namespace: &str, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.namespaces.iter().any(|n| n == namespace)
            || matches!((&self.selector, labels), (Some(s), Some(l)) if s.matches(l))
    }

    /// The operator's configuration `home`, as it is in this account: the binding's role is
    /// the operator, and the binding's guardrails are added to the operator's.
    pub fn environment(&self, home: &Environment) -> Result<Environment, Problem> {
        let mut guardrails = home.guardrails.clone();
        guardrails
            .admin_role_arns
            .extend(self.guardrails.admin_role_arns.iter().cloned());
        if let Some(required) = &self.guardrails.required_organization_id {
            match &guardrails.required_organization_id {
                Some(operator) if operator != required => {
                    return Err(Problem::new(
                        "spec.accountId",
                        format!(
                            "SecureQueueAccount {} requires organization {required}, but the operator requires {operator}: no SecureQueue can meet both; the platform team must make them agree",
                            self.name
                        ),
                    )
                    .refused_as(Reason::GuardrailAccount));
                }
                _ => guardrails.required_organization_id = Some(required.clone()),
            }
        }
        Ok(Environment {
            account_id: self.account_id.clone(),
            operator_role_arn: self.role_arn.clone(),
            guardrails,
            ..home.clone()
        })
    }
}

/// What is wrong with the account, its role and the external id: the role must be the
/// account's, as the operator assumes it to work there.
fn identity_problems(spec: &SecureQueueAccountSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !arn::is_account_id(&spec.account_id) {
        problems.push(Problem::new(
            "spec.accountId",
            format!("`{}` is not a 12-digit account id", spec.account_id),
        ));
    }
    match arn::parse_role(&spec.role_arn) {
        Ok(role) if role.arn.account != spec.account_id => problems.push(Problem::new(
            "spec.roleArn",
            format!(
                "`{}` is in account {}, not in spec.accountId {}: the operator assumes it to work in that account",
                spec.role_arn, role.arn.account, spec.account_id
            ),
        )),
        Ok(_) => {}
        Err(reason) => problems.push(Problem::new("spec.roleArn", reason)),
    }
    if let Some(id) = &spec.external_id
        && !is_external_id(id)
    {
        problems.push(Problem::new("spec.externalId", EXTERNAL_ID_RULE));
    }
    problems
}

/// What is wrong with a binding's guardrails.
fn guardrail_problems(guardrails: &AccountGuardrails) -> Vec<Problem> {
    let mut problems: Vec<Problem> = guardrails
        .admin_role_arns
        .iter()
        .enumerate()
        .filter_map(|(i, role)| {
            let reason = arn::parse_role(role).err()?;
            Some(Problem::new(
                format!("spec.guardrails.adminRoleArns[{i}]"),
                reason,
            ))
        })
        .collect();
    if let Some(org) = &guardrails.required_organization_id
        && !matches(patterns::ORGANIZATION_ID, org)
    {
        problems.push(Problem::new(
            "spec.guardrails.requiredOrganizationId",
            format!(
                "{org} is not an organization id (`o-...`)",
                org = crate::quote::quoted(org)
            ),
        ));
    }
    problems
}

/// What STS takes as an external id, in words for an error message.
pub const EXTERNAL_ID_RULE: &str = "must be 2 to 1224 letters, digits or `+=,.@:/_-`";

/// Whether STS accepts `id` as an external id: 2 to 1224 of the characters it allows.
pub fn is_external_id(id: &str) -> bool {
    (limits::EXTERNAL_ID_MIN..=limits::EXTERNAL_ID_MAX).contains(&id.len())
        && matches(patterns::EXTERNAL_ID, id)
}

/// Every binding the platform team made, and what is known of the namespaces' labels.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    bindings: Vec<Binding>,
    broken: Vec<Broken>,
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// A binding's name, account, role, external id and guardrails: all it decides for the
/// SecureQueues it admits.
type Terms<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a AccountGuardrails,
);

/// An invalid SecureQueueAccount: it binds nothing, and SecureQueues naming its account are
/// told why.
#[derive(Clone, Debug, PartialEq)]
struct Broken {
    name: String,
    account_id: String,
    namespaces: Vec<String>,
    problems: Vec<Problem>,
}

/// Where a SecureQueue's resources are and who the operator is there.
#[derive(Clone, Debug)]
pub struct Tenant<'a> {
    /// The configuration to plan it with.
    pub env: Environment,
    /// The binding whose role the operator assumes; `None` in the operator's own account.
    pub binding: Option<&'a Binding>,
}

impl Accounts {
    /// The bindings of these SecureQueueAccounts; an invalid one binds nothing, and a
    /// SecureQueue naming its account is told what is wrong with it.
    pub fn of(resources: &[SecureQueueAccount]) -> Self {
        let mut accounts = Self::default();
        for resource in resources {
            match Binding::of(resource) {
                Ok(binding) => accounts.bindings.push(binding),
                Err(problems) => accounts.broken.push(Broken {
                    name: resource.metadata.name.clone().unwrap_or_default(),
                    account_id: resource.spec.account_id.clone(),
                    namespaces: resource.spec.namespaces.clone(),
                    problems,
                }),
            }
        }
        accounts.bindings.sort_by(|a, b| a.name.cmp(&b.name));
        accounts
    }

    /// The same bindings, knowing these namespaces' labels for the namespace selectors.
    pub fn with_labels(self, labels: BTreeMap<String, BTreeMap<String, String>>) -> Self {
        Self { labels, ..self }
    }

    /// The namespaces whose SecureQueues these bindings treat otherwise than `before` did: a
    /// binding that admits them came, went or changed, or an invalid one naming them did. Only
    /// SecureQueues there can pass or be refused otherwise, so only they need another look.
    pub fn changed_namespaces(&self, before: &Accounts) -> BTreeSet<String> {
        let mut named = self.mentioned();
        named.extend(before.mentioned());
        named
            .into_iter()
            .filter(|namespace| self.view(namespace) != before.view(namespace))
            .collect()
    }

    /// Every namespace a binding names, or whose labels are known.
    fn mentioned(&self) -> BTreeSet<String> {
        let listed = self.bindings.iter().flat_map(|b| &b.namespaces);
        let broken = self.broken.iter().flat_map(|b| &b.namespaces);
        listed
            .chain(broken)
            .chain(self.labels.keys())
            .cloned()
            .collect()
    }

    /// What decides for `namespace`: the terms of the bindings that admit it, and the invalid
    /// ones naming it.
    fn view(&self, namespace: &str) -> (Vec<Terms<'_>>, Vec<&Broken>) {
        let labels = self.labels.get(namespace);
        let admitting = self
            .bindings
            .iter()
            .filter(|b| b.admits(namespace, labels))
            .map(Binding::terms)
            .collect();
        let broken = self
            .broken
            .iter()
            .filter(|b| b.namespaces.iter().any(|n| n == namespace))
            .collect();
        (admitting, broken)
    }

    /// Whether any binding selects namespaces by their labels.
    pub fn selects_by_labels(&self) -> bool {
        self.bindings.iter().any(|b| b.selector.is_some())
    }

    /// How many valid bindings there are.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// Whether there are no valid bindings.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Every problem of the invalid bindings, each prefixed with the SecureQueueAccount's name.
    pub fn problems(&self) -> Vec<String> {
        self.broken
            .iter()
            .flat_map(|broken| {
                broken
                    .problems
                    .iter()
                    .map(move |p| format!("SecureQueueAccount {}: {p}", broken.name))
            })
            .collect()
    }

    /// Where `queue` is planned, given the operator's configuration `home`; or, refused as
    /// `GuardrailAccount`, why its namespace may not use the account it names.
    pub fn tenant(&self, queue: &SecureQueue, home: &Environment) -> Result<Tenant<'_>, Problem> {
        let wanted = match &queue.spec.account_id {
            Some(account) if *account != home.account_id => account,
            _ => {
                return Ok(Tenant {
                    env: home.clone(),
                    binding: None,
                });
            }
        };
        let namespace = queue.metadata.namespace.as_deref().unwrap_or("default");
        let labels = self.labels.get(namespace);
        let Some(binding) = self
            .bindings
            .iter()
            .find(|b| b.account_id == *wanted && b.admits(namespace, labels))
        else {
            return Err(self.unbound(wanted, namespace));
        };
        Ok(Tenant {
            env: binding.environment(home)?,
            binding: Some(binding),
        })
    }

    /// Why `namespace` may not use `account`.
    fn unbound(&self, account: &str, namespace: &str) -> Problem {
        let broken: Vec<String> = self
            .broken
            .iter()
            .filter(|b| b.account_id == account)
            .map(|b| {
                let what: Vec<String> = b.problems.iter().map(ToString::to_string).collect();
                format!(
                    "SecureQueueAccount {} is invalid ({})",
                    b.name,
                    what.join("; ")
                )
            })
            .collect();
        let reason = if broken.is_empty() {
            format!(
                "account {account} is not bound to namespace {namespace}: no SecureQueueAccount names both, so the operator may not work there for this namespace; the platform team binds accounts to namespaces (SecureQueueAccount spec.namespaces or spec.namespaceSelector), or leave accountId out to use the operator's own account"
            )
        } else {
            format!(
                "account {account} is not bound to namespace {namespace}: {}",
                broken.join("; ")
            )
        };
        Problem::new("spec.accountId", reason).refused_as(Reason::GuardrailAccount)
    }
}

/// The STS session name of the operator's calls for one SecureQueue: it names the cluster and
/// the SecureQueue, so CloudTrail in the target account says who acted for which resource. STS
/// allows 2 to 64 of `[\w+=,.@-]`; a longer name is cut and ends in a hash of the whole, so two
/// SecureQueues never share a session name.
pub fn session_name(cluster: &str, namespace: &str, name: &str) -> String {
    const MAX: usize = 64;
    let full = format!("securequeue@{cluster}@{namespace}@{name}");
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let clean: String = full
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect();
    if clean.len() <= MAX && clean == full {
        return clean;
    }
    let hash = fnv1a(full.as_bytes());
    let suffix = format!("-{hash:08x}");
    let kept: String = clean.chars().take(MAX - suffix.len()).collect();
    format!("{kept}{suffix}")
}

/// The 32-bit FNV-1a hash: stable across builds and platforms, unlike the standard hasher.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arn::{Arn, Partition};

    const HOME: &str = "111122223333";

    fn home() -> Environment {
        Environment::for_operator(
            Arn::role(Partition::Aws, HOME, "securequeue-operator"),
            None,
            Some("us-east-1".into()),
            "prod".into(),
            false,
        )
    }

    fn account(name: &str, id: &str, namespaces: &[&str]) -> SecureQueueAccount {
        SecureQueueAccount::new(
            name,
            SecureQueueAccountSpec {
                account_id: id.into(),
                role_arn: Arn::role(Partition::Aws, id, "securequeue-target"),
                external_id: None,
                namespaces: namespaces.iter().map(ToString::to_string).collect(),
                namespace_selector: None,
                guardrails: AccountGuardrails::default(),
            },
        )
    }

    /// A binding of 222233334444 to the namespaces labelled `team: <team>`.
    fn selecting_team(team: &str) -> SecureQueueAccount {
        let mut resource = account(team, "222233334444", &[]);
        resource.spec.namespace_selector = Some(
            serde_json::from_value(serde_json::json!({"matchLabels": {"team": team}})).unwrap(),
        );
        resource
    }

    /// `namespace`'s labels: `team: <team>`.
    fn team_label(namespace: &str, team: &str) -> (String, BTreeMap<String, String>) {
        (
            namespace.to_string(),
            BTreeMap::from([("team".to_string(), team.to_string())]),
        )
    }

    fn queue(namespace: &str, account_id: Option<&str>) -> SecureQueue {
        let mut queue: SecureQueue = serde_json::from_value(serde_json::json!({
            "apiVersion": "securequeue.io/v1alpha1",
            "kind": "SecureQueue",
            "metadata": {"name": "orders", "namespace": namespace},
            "spec": {"consumerRoleArns": [Arn::role(Partition::Aws, HOME, "c")]},
        }))
        .unwrap();
        queue.spec.account_id = account_id.map(Into::into);
        queue
    }

    #[test]
    fn no_account_or_the_operators_own_is_planned_as_before() {
        let accounts = Accounts::default();
        for named in [None, Some(HOME)] {
            let tenant = accounts.tenant(&queue("shop", named), &home()).unwrap();
            assert!(tenant.binding.is_none());
            assert_eq!(tenant.env.account_id, HOME);
        }
    }

    #[test]
    fn a_bound_namespace_works_as_the_bound_role_in_the_bound_account() {
        let accounts = Accounts::of(&[account("payments", "222233334444", &["shop"])]);
        let tenant = accounts
            .tenant(&queue("shop", Some("222233334444")), &home())
            .unwrap();
        assert_eq!(tenant.binding.unwrap().name, "payments");
        assert_eq!(tenant.env.account_id, "222233334444");
        assert_eq!(
            tenant.env.operator_role_arn,
            "arn:aws:iam::222233334444:role/securequeue-target"
        );
        assert!(tenant.env.validate().is_empty());
    }

    #[test]
    fn a_namespace_never_reaches_an_account_it_was_not_given() {
        let accounts = Accounts::of(&[account("payments", "222233334444", &["shop"])]);
        for (namespace, named) in [("other", "222233334444"), ("shop", "333344445555")] {
            let refused = accounts
                .tenant(&queue(namespace, Some(named)), &home())
                .unwrap_err();
            assert_eq!(refused.refusal, Reason::GuardrailAccount);
            assert_eq!(refused.field, "spec.accountId");
            assert!(refused.reason.contains(namespace), "{}", refused.reason);
        }
    }

    #[test]
    fn a_selector_admits_by_labels_and_only_where_they_are_known() {
        let resource = selecting_team("payments");
        let labels = |team: &str| BTreeMap::from([team_label("shop", team)]);
        let named = queue("shop", Some("222233334444"));
        let by_name_only = Accounts::of(std::slice::from_ref(&resource));
        assert!(by_name_only.selects_by_labels());
        assert!(by_name_only.tenant(&named, &home()).is_err());
        let matching =
            Accounts::of(std::slice::from_ref(&resource)).with_labels(labels("payments"));
        assert!(matching.tenant(&named, &home()).is_ok());
        let other = Accounts::of(&[resource]).with_labels(labels("search"));
        assert!(other.tenant(&named, &home()).is_err());
    }

    #[test]
    fn an_invalid_binding_binds_nothing_and_says_why() {
        let mut resource = account("payments", "222233334444", &["shop"]);
        resource.spec.role_arn = "arn:aws:iam::999999999999:role/elsewhere".into();
        let accounts = Accounts::of(&[resource]);
        assert!(accounts.is_empty());
        assert_eq!(accounts.problems().len(), 1);
        let refused = accounts
            .tenant(&queue("shop", Some("222233334444")), &home())
            .unwrap_err();
        assert!(
            refused
                .reason
                .contains("SecureQueueAccount payments is invalid"),
            "{}",
            refused.reason
        );
    }

    #[test]
    fn every_problem_of_a_binding_names_its_field() {
        let mut resource = account("payments", "222233334444", &["Not_A_Namespace"]);
        resource.spec.external_id = Some("x".into());
        resource.spec.namespace_selector = Some(
            serde_json::from_value(serde_json::json!({
                "matchExpressions": [{"key": "team", "operator": "Near", "values": ["a"]}]
            }))
            .unwrap(),
        );
        resource.spec.guardrails.admin_role_arns =
            vec!["arn:aws:iam::222233334444:user/bob".into()];
        resource.spec.guardrails.required_organization_id = Some("org-1".into());
        let fields: Vec<String> = Binding::of(&resource)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.externalId",
                "spec.guardrails.adminRoleArns[0]",
                "spec.guardrails.requiredOrganizationId",
                "spec.namespaces[0]",
                "spec.namespaceSelector",
            ]
        );
    }

    #[test]
    fn the_bindings_guardrails_are_added_to_the_operators() {
        let mut resource = account("payments", "222233334444", &["shop"]);
        resource.spec.guardrails = AccountGuardrails {
            required_organization_id: Some("o-abcdefghij".into()),
            admin_role_arns: vec!["arn:aws:iam::222233334444:role/break-glass".into()],
        };
        let mut operator = home();
        operator.guardrails.admin_role_arns = vec![Arn::role(Partition::Aws, HOME, "platform")];
        let accounts = Accounts::of(std::slice::from_ref(&resource));
        let env = accounts
            .tenant(&queue("shop", Some("222233334444")), &operator)
            .unwrap()
            .env;
        assert_eq!(env.guardrails.admin_role_arns.len(), 2);
        assert_eq!(
            env.guardrails.required_organization_id.as_deref(),
            Some("o-abcdefghij")
        );
        operator.guardrails.required_organization_id = Some("o-zzzzzzzzzz".into());
        let refused = accounts
            .tenant(&queue("shop", Some("222233334444")), &operator)
            .unwrap_err();
        assert_eq!(refused.refusal, Reason::GuardrailAccount);
    }

    #[test]
    fn only_namespaces_whose_bindings_change_are_looked_at_again() {
        let before = Accounts::of(&[
            account("payments", "222233334444", &["shop", "billing"]),
            account("search", "333344445555", &["catalog"]),
        ]);
        let same = Accounts::of(&[
            account("search", "333344445555", &["catalog"]),
            account("payments", "222233334444", &["shop", "billing"]),
        ]);
        assert!(same.changed_namespaces(&before).is_empty());
        let narrowed = Accounts::of(&[
            account("payments", "222233334444", &["shop"]),
            account("search", "333344445555", &["catalog"]),
        ]);
        assert_eq!(
            narrowed.changed_namespaces(&before),
            BTreeSet::from(["billing".to_string()])
        );
        let mut moved = account("search", "333344445555", &["catalog"]);
        moved.spec.role_arn = "arn:aws:iam::333344445555:role/other".into();
        let changed = Accounts::of(&[
            account("payments", "222233334444", &["shop", "billing"]),
            moved,
        ]);
        assert_eq!(
            changed.changed_namespaces(&before),
            BTreeSet::from(["catalog".to_string()])
        );
    }

    #[test]
    fn a_label_change_matters_only_where_a_selector_looks() {
        let selecting = selecting_team("payments");
        let labelled = |team: &str| {
            BTreeMap::from([
                team_label("shop", team),
                ("other".to_string(), BTreeMap::new()),
            ])
        };
        let before = Accounts::of(std::slice::from_ref(&selecting)).with_labels(labelled("search"));
        let after =
            Accounts::of(std::slice::from_ref(&selecting)).with_labels(labelled("payments"));
        assert_eq!(
            after.changed_namespaces(&before),
            BTreeSet::from(["shop".to_string()])
        );
    }

    #[test]
    fn session_names_fit_sts_and_never_collide() {
        let short = session_name("prod", "shop", "orders");
        assert_eq!(short, "securequeue@prod@shop@orders");
        let long = "a".repeat(63);
        let one = session_name("prod", &long, "orders-1");
        let two = session_name("prod", &long, "orders-2");
        assert!(one.len() <= 64 && two.len() <= 64);
        assert_ne!(one, two);
        assert!(
            one.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        );
    }
}
