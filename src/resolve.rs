//! From a `SecureQueue` and the operator's configuration to every concrete value the policies
//! and the plan need: region, partition, account, names, ARNs, principals and tags.
//!
//! Resolution validates first and computes only from a valid spec, so nothing downstream ever
//! sees a value AWS would refuse.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::conditions::Reason;
use crate::api::{Placement, SecureQueue, SecureQueueSpec, SecureQueueStatus, limits, patterns};
use crate::arn::{self, Partition};
use crate::guardrails::Guardrails;
use crate::naming::{default_alias, queue_names};
use crate::placement::RecordedPlacement;
use crate::validation::{self, Problem, Scope};

/// The prefix of the operator's ownership tags, which users may not set.
pub const TAG_PREFIX: &str = "securequeue.io/";
/// Tag key naming the owning SecureQueue's namespace.
pub const TAG_NAMESPACE: &str = "securequeue.io/namespace";
/// Tag key naming the owning SecureQueue.
pub const TAG_NAME: &str = "securequeue.io/name";
/// Tag key holding the owning SecureQueue's uid.
pub const TAG_UID: &str = "securequeue.io/uid";
/// Tag key naming the cluster whose operator owns the resource.
pub const TAG_CLUSTER: &str = "securequeue.io/cluster";

/// The start of every key description the operator writes.
const KEY_DESCRIPTION: &str = "securequeue: encrypts the queues of SecureQueue ";

/// The description of a SecureQueue's key. KMS sets it in the very CreateKey call, so it marks
/// the key's owner before its tags do: a pass cut off between CreateKey and TagResource leaves a
/// key that the next pass knows by it ([`key_description_owner`]).
pub fn key_description(namespace: &str, name: &str, cluster: &str) -> String {
    format!("{KEY_DESCRIPTION}{namespace}/{name} of cluster {cluster}")
}

/// The namespace, name and cluster a key description of [`key_description`] names.
pub fn key_description_owner(description: &str) -> Option<(&str, &str, &str)> {
    let rest = description.strip_prefix(KEY_DESCRIPTION)?;
    let (queue, cluster) = rest.split_once(" of cluster ")?;
    let (namespace, name) = queue.split_once('/')?;
    let word = |s: &str| !s.is_empty() && !s.contains([' ', '/']);
    (word(namespace) && word(name) && word(cluster)).then_some((namespace, name, cluster))
}

/// The start of every queue policy `Id` the operator writes.
const QUEUE_POLICY_ID: &str = "securequeue/";

/// The `Id` of a SecureQueue's queue policies. SQS sets the policy in the very CreateQueue
/// call, so it marks the queue's owner before its tags do: a queue is created without tags
/// (tags on CreateQueue need `sqs:TagQueue` in an IAM policy, which would reach every queue) and
/// tagged right after through this policy, and a pass cut off in between leaves a queue that
/// the next pass knows by it ([`queue_policy_id_owner`]).
pub fn queue_policy_id(namespace: &str, name: &str, cluster: &str) -> String {
    format!("{QUEUE_POLICY_ID}{cluster}/{namespace}/{name}")
}

/// The namespace, name and cluster a queue policy `Id` of [`queue_policy_id`] names.
pub fn queue_policy_id_owner(id: &str) -> Option<(&str, &str, &str)> {
    let rest = id.strip_prefix(QUEUE_POLICY_ID)?;
    let mut parts = rest.split('/');
    let (cluster, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    let word = |s: &str| !s.is_empty() && !s.contains(' ');
    (parts.next().is_none() && word(namespace) && word(name) && word(cluster))
        .then_some((namespace, name, cluster))
}

/// The operator's own configuration, as far as generation needs it.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The AWS account the operator creates keys and queues in.
    pub account_id: String,
    /// The operator's region, used when a spec names none.
    pub region: Option<String>,
    /// The IAM role the operator runs as: an administrator of every key and queue it makes.
    pub operator_role_arn: String,
    /// Identifies this cluster in ownership tags, so two clusters never take each other's queues.
    pub cluster_id: String,
    /// Whether principals and sources of other accounts may be named in specs.
    pub allow_cross_account: bool,
    /// The platform team's guardrails, applied to every SecureQueue before it is planned.
    pub guardrails: Guardrails,
}

impl Environment {
    /// The configuration for an operator running as `operator_role_arn`; without an account id,
    /// the role's account (left empty for `validate` to report when the role is malformed).
    pub fn for_operator(
        operator_role_arn: String,
        account_id: Option<String>,
        region: Option<String>,
        cluster_id: String,
        allow_cross_account: bool,
    ) -> Self {
        let account_id = account_id.unwrap_or_else(|| {
            arn::parse_role(&operator_role_arn)
                .map(|role| role.arn.account.to_string())
                .unwrap_or_default()
        });
        Self {
            account_id,
            region,
            operator_role_arn,
            cluster_id,
            allow_cross_account,
            guardrails: Guardrails::default(),
        }
    }

    /// The same configuration without guardrails: what a SecureQueue refused by them was
    /// planned with, which is where any resources of it can be.
    pub fn without_guardrails(&self) -> Self {
        Self {
            guardrails: Guardrails::default(),
            ..self.clone()
        }
    }

    /// Checks the configuration; each problem names the command-line flag that sets the value.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        match arn::parse_role(&self.operator_role_arn) {
            Ok(role) if role.arn.account != self.account_id => problems.push(Problem::new(
                "--operator-role-arn",
                format!(
                    "`{}` is in account {}, but the operator creates resources in account {}",
                    self.operator_role_arn, role.arn.account, self.account_id
                ),
            )),
            Ok(_) => {}
            Err(reason) => problems.push(Problem::new("--operator-role-arn", reason)),
        }
        // An empty account id was to be derived from the operator role, already reported above.
        if !self.account_id.is_empty() && !arn::is_account_id(&self.account_id) {
            problems.push(Problem::new(
                "--account-id",
                format!("`{}` is not a 12-digit account id", self.account_id),
            ));
        }
        if self.cluster_id.is_empty()
            || self.cluster_id.len() > limits::TAG_VALUE_MAX
            || !self
                .cluster_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            problems.push(Problem::new(
                "--cluster-id",
                "must be 1 to 256 letters, digits, `-`, `_` or `.`",
            ));
        }
        problems
    }
}

/// Everything about one SecureQueue that the policies and the plan are made from.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The SecureQueue's namespace.
    pub namespace: String,
    /// The SecureQueue's name.
    pub name: String,
    /// The spec, valid.
    pub spec: SecureQueueSpec,
    /// The region of the key and queues.
    pub region: String,
    /// Where the region came from.
    pub region_source: RegionSource,
    /// The region's partition.
    pub partition: Partition,
    /// The account of the key and queues.
    pub account_id: String,
    /// Main queue name.
    pub queue_name: String,
    /// Dead-letter queue name.
    pub dead_letter_queue_name: String,
    /// Main queue ARN, known before the queue exists.
    pub queue_arn: String,
    /// Dead-letter queue ARN, known before the queue exists.
    pub dead_letter_queue_arn: String,
    /// The key's alias, `alias/...`.
    pub key_alias: String,
    /// The key's alias ARN.
    pub key_alias_arn: String,
    /// The operator's role ARN.
    pub operator_role_arn: String,
    /// The operator's role and the admin roles, sorted.
    pub administrators: Vec<String>,
    /// The main queue's consumers, sorted.
    pub consumers: Vec<String>,
    /// The dead-letter queue's consumers, sorted (the main queue's when the spec names none).
    pub dead_letter_queue_consumers: Vec<String>,
    /// Ownership tags and user tags, for the key and both queues: one map, which the plan's
    /// three resources share.
    pub tags: Arc<BTreeMap<String, String>>,
}

/// Where a SecureQueue's region comes from, first match wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionSource {
    /// `spec.region`.
    Spec,
    /// The status, which records where the resources already are (`status.identity.region`).
    Recorded,
    /// The operator's region (`--region`, `AWS_REGION`).
    Operator,
}

impl RegionSource {
    /// The field or setting that names the region, for messages.
    fn field(self) -> &'static str {
        match self {
            RegionSource::Spec => "spec.region",
            RegionSource::Recorded => "status.identity.region",
            RegionSource::Operator => "the operator's region (--region / AWS_REGION)",
        }
    }
}

impl Resolved {
    /// Where the key and queues live, as the status records it; the key id is learned from AWS.
    pub fn placement(&self) -> Placement {
        Placement {
            partition: self.partition.to_string(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            queue_name: self.queue_name.clone(),
            dead_letter_queue_name: self.dead_letter_queue_name.clone(),
            key_alias: self.key_alias.clone(),
            key_id: None,
        }
    }

    /// Every recorded value of `status` this resolution would move (see [`crate::placement`]).
    pub fn moves_from(&self, status: Option<&SecureQueueStatus>) -> Vec<Problem> {
        RecordedPlacement::of(status)
            .moves(&self.placement())
            .into_iter()
            .map(|p| p.refused_as(Reason::ImmutableFieldChanged))
            .collect()
    }

    /// `<namespace>/<name>`.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `sqs.<region>.<dns suffix>`, the value of `kms:ViaService` for use through SQS.
    pub fn sqs_service_endpoint(&self) -> String {
        format!("sqs.{}.{}", self.region, self.partition.dns_suffix())
    }

    /// The account root principal, `arn:<partition>:iam::<account>:root`.
    pub fn account_root_arn(&self) -> String {
        arn::Arn::account_root(self.partition, &self.account_id)
    }
}

/// Validates a SecureQueue and computes its resolved values.
pub fn resolve(queue: &SecureQueue, env: &Environment) -> Result<Resolved, Vec<Problem>> {
    let mut problems = Vec::new();
    let name = queue.metadata.name.clone().unwrap_or_default();
    let namespace = queue
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    problems.extend(metadata_problems(&name, &namespace));
    let spec = &queue.spec;
    let (region, region_source) = region(queue, env);
    let partition = kept(partition(region.as_deref(), region_source), &mut problems);
    let scope = Scope {
        region: partition.and(region.as_deref()),
        partition,
        account_id: &env.account_id,
        allow_cross_account: env.allow_cross_account,
    };
    problems.extend(validation::validate_spec(spec, &scope));
    let queue_names = kept(queue_names(&namespace, &name, spec), &mut problems);
    let key_alias = kept(key_alias(&namespace, &name, spec), &mut problems);
    match (partition, region, queue_names, key_alias) {
        (Some(partition), Some(region), Some(queue_names), Some(key_alias))
            if problems.is_empty() =>
        {
            let settled = Settled {
                namespace,
                name,
                region,
                region_source,
                partition,
                queue_names,
                key_alias,
            };
            Ok(settled.resolved(queue, env))
        }
        _ => Err(problems),
    }
}

/// The value `checked` holds, or `None` with its problem added to `problems`.
fn kept<T>(checked: Result<T, Problem>, problems: &mut Vec<Problem>) -> Option<T> {
    checked.map_err(|problem| problems.push(problem)).ok()
}

/// The SecureQueue's region and where it comes from: the spec, else the region its status
/// records, else the operator's.
fn region(queue: &SecureQueue, env: &Environment) -> (Option<String>, RegionSource) {
    let recorded = RecordedPlacement::of(queue.status.as_ref());
    match (&queue.spec.region, recorded.region(), &env.region) {
        (Some(region), _, _) => (Some(region.clone()), RegionSource::Spec),
        (None, Some(region), _) => (Some(region.to_string()), RegionSource::Recorded),
        (None, None, region) => (region.clone(), RegionSource::Operator),
    }
}

/// The partition of `region`, or why there is none: no region, not a region's name, or a
/// partition the operator does not support.
fn partition(region: Option<&str>, source: RegionSource) -> Result<Partition, Problem> {
    let Some(region) = region else {
        return Err(Problem::new(
            "spec.region",
            "no region: set spec.region or the operator's region (--region / AWS_REGION)",
        ));
    };
    if !validation::matches(patterns::REGION, region) {
        return Err(Problem::new(
            source.field(),
            format!(
                "{region} is not an AWS region name such as eu-west-1",
                region = crate::quote::quoted(region)
            ),
        ));
    }
    Partition::of_region(region).ok_or_else(|| {
        Problem::new(
            source.field(),
            format!(
                "{region} is in a partition the operator does not support (aws, aws-cn and aws-us-gov are)",
                region = crate::quote::quoted(region)
            ),
        )
    })
}

/// The key's alias: `spec.key.alias`, or the default one, which must fit KMS's limit.
fn key_alias(namespace: &str, name: &str, spec: &SecureQueueSpec) -> Result<String, Problem> {
    let key_alias = spec
        .key
        .alias
        .clone()
        .unwrap_or_else(|| default_alias(namespace, name));
    if key_alias.len() > limits::KEY_ALIAS_MAX as usize {
        return Err(Problem::new(
            "spec.key.alias",
            format!(
                "the default alias {key_alias} is longer than KMS's {} characters; set spec.key.alias",
                limits::KEY_ALIAS_MAX,
                key_alias = crate::quote::quoted(&key_alias)
            ),
        ));
    }
    Ok(key_alias)
}

/// The values resolution settles and checks first; everything else is computed from them.
struct Settled {
    namespace: String,
    name: String,
    region: String,
    region_source: RegionSource,
    partition: Partition,
    /// The main and dead-letter queues' names.
    queue_names: (String, String),
    key_alias: String,
}

impl Settled {
    /// Every resolved value of `queue`, its names and place settled.
    fn resolved(self, queue: &SecureQueue, env: &Environment) -> Resolved {
        let tags = self.tags(queue, env);
        let Settled {
            namespace,
            name,
            region,
            region_source,
            partition,
            queue_names: (queue_name, dead_letter_queue_name),
            key_alias,
        } = self;
        let spec = &queue.spec;
        let sqs_arn = |queue: &str| arn::Arn::queue(partition, &region, &env.account_id, queue);
        let mut administrators: Vec<String> = spec.admin_role_arns.clone();
        administrators.push(env.operator_role_arn.clone());
        let dead_letter_queue_consumers = if spec.dead_letter_queue.consumer_role_arns.is_empty() {
            spec.consumer_role_arns.clone()
        } else {
            spec.dead_letter_queue.consumer_role_arns.clone()
        };
        Resolved {
            queue_arn: sqs_arn(&queue_name),
            dead_letter_queue_arn: sqs_arn(&dead_letter_queue_name),
            key_alias_arn: format!(
                "arn:{partition}:kms:{region}:{}:{key_alias}",
                env.account_id
            ),
            key_alias,
            namespace,
            name,
            spec: spec.clone(),
            region,
            region_source,
            partition,
            account_id: env.account_id.clone(),
            queue_name,
            dead_letter_queue_name,
            operator_role_arn: env.operator_role_arn.clone(),
            administrators: sorted(administrators),
            consumers: sorted(spec.consumer_role_arns.clone()),
            dead_letter_queue_consumers: sorted(dead_letter_queue_consumers),
            tags: Arc::new(tags),
        }
    }

    /// The spec's tags and the ownership tags, for the key and both queues.
    fn tags(&self, queue: &SecureQueue, env: &Environment) -> BTreeMap<String, String> {
        let mut tags = queue.spec.tags.clone();
        tags.insert(TAG_NAMESPACE.into(), self.namespace.clone());
        tags.insert(TAG_NAME.into(), self.name.clone());
        tags.insert(TAG_CLUSTER.into(), env.cluster_id.clone());
        if let Some(uid) = &queue.metadata.uid {
            tags.insert(TAG_UID.into(), uid.clone());
        }
        tags
    }
}

/// What the API server would refuse in a SecureQueue's name and namespace, checked in code as
/// well: `plan`, `apply` and the other pipeline commands never meet an API server, and these
/// names reach AWS names, tags and policies.
fn metadata_problems(name: &str, namespace: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push(Problem::new("metadata.name", "is required"));
    } else if name.len() > limits::OBJECT_NAME_MAX
        || !validation::matches(patterns::OBJECT_NAME, name)
    {
        problems.push(Problem::new(
            "metadata.name",
            format!(
                "{} is not a Kubernetes object name: at most {} lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
                crate::quote::quoted(name),
                limits::OBJECT_NAME_MAX
            ),
        ));
    }
    if !validation::matches(patterns::NAMESPACE, namespace) {
        problems.push(Problem::new(
            "metadata.namespace",
            format!(
                "{} is not a Kubernetes namespace name: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
                crate::quote::quoted(namespace)
            ),
        ));
    }
    problems
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::tests::spec;

    #[test]
    fn names_and_namespaces_the_api_server_would_refuse_are_refused_in_code() {
        let long = "a".repeat(254);
        for (name, namespace, field) in [
            ("*", "shop", "metadata.name"),
            ("Orders", "shop", "metadata.name"),
            ("a b", "shop", "metadata.name"),
            ("a/b", "shop", "metadata.name"),
            ("a?b", "shop", "metadata.name"),
            ("café", "shop", "metadata.name"),
            ("-a", "shop", "metadata.name"),
            (long.as_str(), "shop", "metadata.name"),
            ("orders", "Shop", "metadata.namespace"),
            ("orders", "a.b", "metadata.namespace"),
            ("orders", "", "metadata.namespace"),
        ] {
            let problems = metadata_problems(name, namespace);
            assert_eq!(problems.len(), 1, "{name:?} {namespace:?}: {problems:?}");
            assert_eq!(problems[0].field, field);
        }
        assert!(metadata_problems("orders.v2", "shop-1").is_empty());
        assert!(metadata_problems(&"a".repeat(253), "shop").is_empty());
        let shown =
            &metadata_problems(&format!("bad\u{200b}\n{}", "x".repeat(1_000_000)), "shop")[0];
        assert!(shown.reason.contains(r"bad<U+200B>\n"), "escaped: {shown}");
        assert!(
            shown.reason.len() < 600,
            "quoted in part: {} bytes",
            shown.reason.len()
        );
    }

    #[test]
    fn china_regions_use_their_partition_and_dns_suffix() {
        let mut queue = SecureQueue::new("orders", spec("region: cn-north-1\n"));
        queue.spec.consumer_role_arns = vec!["arn:aws-cn:iam::111122223333:role/c".into()];
        let env = Environment {
            account_id: "111122223333".into(),
            region: None,
            operator_role_arn: "arn:aws-cn:iam::111122223333:role/op".into(),
            cluster_id: "c".into(),
            allow_cross_account: false,
            guardrails: Default::default(),
        };
        let resolved = resolve(&queue, &env).unwrap();
        assert_eq!(
            resolved.queue_arn,
            "arn:aws-cn:sqs:cn-north-1:111122223333:default-orders"
        );
        assert_eq!(
            resolved.sqs_service_endpoint(),
            "sqs.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            resolved.account_root_arn(),
            "arn:aws-cn:iam::111122223333:root"
        );
    }

    #[test]
    fn a_key_description_names_its_owner_and_nothing_else_is_read_as_one() {
        let description = key_description("shop", "orders-v2", "prod.eu-1");
        assert_eq!(
            key_description_owner(&description),
            Some(("shop", "orders-v2", "prod.eu-1"))
        );
        for other in [
            "",
            "Default master key that protects my SQS messages",
            "securequeue: encrypts the queues of SecureQueue shop/orders",
            "securequeue: encrypts the queues of SecureQueue shop/a/b of cluster c",
            "securequeue: encrypts the queues of SecureQueue /orders of cluster c",
        ] {
            assert_eq!(key_description_owner(other), None, "{other}");
        }
    }

    #[test]
    fn a_queue_policy_id_names_its_owner_and_nothing_else_is_read_as_one() {
        let id = queue_policy_id("shop", "orders-v2", "prod.eu-1");
        assert_eq!(
            queue_policy_id_owner(&id),
            Some(("shop", "orders-v2", "prod.eu-1"))
        );
        for other in [
            "",
            "__default_policy_ID",
            "securequeue/prod/shop",
            "securequeue/prod/shop/orders/extra",
            "securequeue//shop/orders",
            "securequeue/prod/shop/ orders",
        ] {
            assert_eq!(queue_policy_id_owner(other), None, "{other}");
        }
    }

    #[test]
    fn ownership_tags_are_added_and_the_uid_only_when_known() {
        let env = Environment {
            account_id: "111122223333".into(),
            region: Some("eu-west-1".into()),
            operator_role_arn: "arn:aws:iam::111122223333:role/op".into(),
            cluster_id: "prod".into(),
            allow_cross_account: false,
            guardrails: Default::default(),
        };
        let mut queue = SecureQueue::new("orders", spec("tags: {team: a}\n"));
        queue.metadata.namespace = Some("shop".into());
        let tags = resolve(&queue, &env).unwrap().tags;
        assert_eq!(tags.get(TAG_CLUSTER).map(String::as_str), Some("prod"));
        assert_eq!(tags.get("team").map(String::as_str), Some("a"));
        assert!(!tags.contains_key(TAG_UID));
        queue.metadata.uid = Some("1234".into());
        assert_eq!(resolve(&queue, &env).unwrap().tags[TAG_UID], "1234");
    }
}
