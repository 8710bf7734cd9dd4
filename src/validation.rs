//! Validation of a `SecureQueueSpec` in code: the same rules as the CRD schema and its CEL rules
//! (older API servers ignore CEL, and `plan` runs with no API server at all), plus the rules only
//! code can check (ARN kinds, partitions, accounts, regions of sources).
//!
//! Every problem names the field path and says why, so a person can fix it in one go.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::api::conditions::Reason;
use crate::api::{SecureQueueSpec, limits, patterns};
use crate::arn::{self, Arn, Partition};
use crate::quote::quoted;

/// One thing wrong with a SecureQueue, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Path of the field, such as `spec.producers.snsTopicArns[0]`.
    pub field: String,
    /// What is wrong and, where it helps, what to do.
    pub reason: String,
    /// The condition reason of a SecureQueue refused for this problem: `InvalidSpec` unless
    /// the problem is a broken guardrail or a field that cannot change.
    pub refusal: Reason,
}

impl Problem {
    /// A problem at `field` that makes the spec invalid: `reason` in words, or an error whose
    /// message says it (such as an [`arn::Error`]).
    pub fn new(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
            refusal: Reason::InvalidSpec,
        }
    }

    /// The same problem, refused for `refusal` instead.
    pub fn refused_as(self, refusal: Reason) -> Self {
        Self { refusal, ..self }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Problems on one line, for a condition message.
pub fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where the queues will live, as far as validation needs to know.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    /// The queues' region, when it is known and valid.
    pub region: Option<&'a str>,
    /// The region's partition, when it is known and supported.
    pub partition: Option<Partition>,
    /// The account the queues are created in.
    pub account_id: &'a str,
    /// Whether principals and sources of other accounts are allowed.
    pub allow_cross_account: bool,
}

/// Checks a spec; an empty result means it is valid.
pub fn validate_spec(spec: &SecureQueueSpec, scope: &Scope<'_>) -> Vec<Problem> {
    let mut check = Checker {
        scope,
        problems: Vec::new(),
    };
    if let Some(name) = spec.queue_name.as_deref() {
        check.queue_name(
            "spec.queueName",
            name,
            spec.fifo,
            limits::QUEUE_NAME_MAX as usize,
        );
    }
    if let Some(name) = spec.dead_letter_queue.queue_name.as_deref() {
        let field = "spec.deadLetterQueue.queueName";
        check.queue_name(field, name, spec.fifo, limits::SQS_QUEUE_NAME_MAX);
    }
    check.pattern(
        "spec.organizationId",
        spec.organization_id.as_deref(),
        patterns::ORGANIZATION_ID,
        "an organization id such as o-a1b2c3d4e5",
    );
    check.pattern(
        "spec.vpcEndpointId",
        spec.vpc_endpoint_id.as_deref(),
        patterns::VPC_ENDPOINT_ID,
        "a VPC endpoint id such as vpce-0abc12345",
    );
    check.roles("spec.adminRoleArns", &spec.admin_role_arns);
    if spec.consumer_role_arns.is_empty() {
        check.problem("spec.consumerRoleArns", "at least one consumer role is required: a queue nobody may read only collects messages");
    }
    check.roles("spec.consumerRoleArns", &spec.consumer_role_arns);
    check.roles(
        "spec.deadLetterQueue.consumerRoleArns",
        &spec.dead_letter_queue.consumer_role_arns,
    );
    check.producers(spec);
    check.numbers(spec);
    if let Some(alias) = &spec.key.alias {
        check.key_alias(alias);
    }
    check.tags(spec);
    check.problems
}

/// Checks an update against the object it replaces: the transition rules of the CRD.
pub fn validate_update(old: &SecureQueueSpec, new: &SecureQueueSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    if old.queue_name != new.queue_name {
        problems.push(Problem::new(
            "spec.queueName",
            "is immutable: it names queues that may hold messages, which are never replaced",
        ));
    }
    if old.dead_letter_queue.queue_name != new.dead_letter_queue.queue_name {
        problems.push(Problem::new(
            "spec.deadLetterQueue.queueName",
            "is immutable: it names a queue that may hold messages, which is never replaced",
        ));
    }
    if old.fifo != new.fifo {
        problems.push(Problem::new(
            "spec.fifo",
            "is immutable: SQS cannot convert a queue between standard and FIFO",
        ));
    }
    if old.region != new.region {
        problems.push(Problem::new(
            "spec.region",
            "is immutable: the key and queues stay in the region they were made in",
        ));
    }
    if old.key.alias != new.key.alias {
        problems.push(Problem::new(
            "spec.key.alias",
            "is immutable: a new alias would mean a new key, and the key still decrypts the queues' messages",
        ));
    }
    problems
}

struct Checker<'a> {
    scope: &'a Scope<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, field: impl Into<String>, reason: impl fmt::Display) {
        self.problems.push(Problem::new(field, reason));
    }

    /// A queue name: its length (at most `max`), its characters, and `.fifo` exactly when the
    /// queues are FIFO.
    fn queue_name(&mut self, field: &str, name: &str, fifo: bool, max: usize) {
        if name.is_empty() || name.len() > max {
            let why = if max < limits::SQS_QUEUE_NAME_MAX {
                format!(
                    " so that `<queueName>-dlq` fits SQS's {}",
                    limits::SQS_QUEUE_NAME_MAX
                )
            } else {
                String::new()
            };
            self.problem(
                field,
                format!(
                    "{name} has {} characters; at most {max} are allowed{why}",
                    name.len(),
                    name = quoted(name)
                ),
            );
        }
        if !matches(patterns::QUEUE_NAME, name) {
            self.problem(
                field,
                format!(
                    "{name} may hold only letters, digits, `-` and `_` (and a final `.fifo`)",
                    name = quoted(name)
                ),
            );
        }
        match (fifo, name.ends_with(".fifo")) {
            (true, false) => self.problem(
                field,
                format!(
                    "{name} must end in `.fifo` because fifo is true",
                    name = quoted(name)
                ),
            ),
            (false, true) => self.problem(
                field,
                format!(
                    "{name} ends in `.fifo` but fifo is false; set fifo: true or rename",
                    name = quoted(name)
                ),
            ),
            _ => {}
        }
    }

    fn pattern(&mut self, field: &str, value: Option<&str>, pattern: &str, what: &str) {
        if let Some(value) = value
            && !matches(pattern, value)
        {
            self.problem(
                field,
                format!("{value} is not {what}", value = quoted(value)),
            );
        }
    }

    fn list_size(&mut self, field: &str, values: &[String]) {
        if values.len() > limits::PRINCIPALS_PER_LIST_MAX as usize {
            self.problem(
                field,
                format!(
                    "names {} entries; at most {} fit a queue policy's principal quota",
                    values.len(),
                    limits::PRINCIPALS_PER_LIST_MAX
                ),
            );
        }
        let mut seen = HashSet::new();
        for (i, value) in values.iter().enumerate() {
            if !seen.insert(value.as_str()) {
                self.problem(
                    format!("{field}[{i}]"),
                    format!("{value} is listed twice", value = quoted(value)),
                );
            }
        }
    }

    fn roles(&mut self, field: &str, roles: &[String]) {
        self.list_size(field, roles);
        for (i, text) in roles.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match arn::parse_role(text) {
                Ok(role) => self.placement(&at, text, &role.arn),
                Err(reason) => self.problem(at, reason),
            }
        }
    }

    /// The partition and account of an ARN against the queue's.
    fn placement(&mut self, field: &str, text: &str, arn: &Arn<'_>) {
        if let (Some(partition), Some(region)) = (self.scope.partition, self.scope.region)
            && arn.partition != partition
        {
            self.problem(
                field,
                format!(
                    "{text} is in partition {} but the queue's region {region} is in partition {partition}",
                    arn.partition,
                    text = quoted(text)
                ),
            );
        }
        if !arn.account.is_empty()
            && arn.account != self.scope.account_id
            && !self.scope.allow_cross_account
        {
            self.problem(
                field,
                format!(
                    "{text} belongs to account {}, not the queue's account {}; cross-account principals must be allowed explicitly by the operator",
                    arn.account,
                    self.scope.account_id,
                    text = quoted(text)
                ),
            );
        }
    }

    fn producers(&mut self, spec: &SecureQueueSpec) {
        let producers = &spec.producers;
        let field = "spec.producers.snsTopicArns";
        self.list_size(field, &producers.sns_topic_arns);
        for (i, text) in producers.sns_topic_arns.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match arn::parse_sns_topic(text) {
                Ok((topic, name)) => {
                    self.placement(&at, text, &topic);
                    if spec.fifo && !name.ends_with(".fifo") {
                        self.problem(
                            at,
                            format!(
                                "{text} is a standard topic; a FIFO queue can only subscribe to FIFO topics",
                                text = quoted(text)
                            ),
                        );
                    }
                }
                Err(reason) => self.problem(at, reason),
            }
        }

        let field = "spec.producers.s3BucketArns";
        self.list_size(field, &producers.s3_bucket_arns);
        if spec.fifo && !producers.s3_bucket_arns.is_empty() {
            self.problem(
                field,
                "S3 event notifications cannot be delivered to a FIFO queue",
            );
        }
        for (i, text) in producers.s3_bucket_arns.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match arn::parse_s3_bucket(text) {
                Ok((bucket, _)) => self.placement(&at, text, &bucket),
                Err(reason) => self.problem(at, reason),
            }
        }

        let field = "spec.producers.eventBridgeRuleArns";
        self.list_size(field, &producers.event_bridge_rule_arns);
        for (i, text) in producers.event_bridge_rule_arns.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match arn::parse_event_bridge_rule(text) {
                Ok(rule) => {
                    self.placement(&at, text, &rule);
                    if let Some(region) = self.scope.region
                        && rule.region != region
                    {
                        self.problem(
                            at,
                            format!(
                                "{text} is in region {}; an EventBridge rule can only target queues in its own region ({region})",
                                rule.region,
                                text = quoted(text)
                            ),
                        );
                    }
                }
                Err(reason) => self.problem(at, reason),
            }
        }

        self.roles("spec.producers.roleArns", &producers.role_arns);
    }

    fn numbers(&mut self, spec: &SecureQueueSpec) {
        use limits::*;
        let q = &spec.queue;
        let d = &spec.dead_letter_queue;
        let k = &spec.key;
        let bounds = [
            (
                "spec.queue.visibilityTimeoutSeconds",
                q.visibility_timeout_seconds,
                0,
                VISIBILITY_TIMEOUT_MAX,
            ),
            (
                "spec.queue.messageRetentionSeconds",
                q.message_retention_seconds,
                RETENTION_MIN,
                RETENTION_MAX,
            ),
            ("spec.queue.delaySeconds", q.delay_seconds, 0, DELAY_MAX),
            (
                "spec.queue.receiveWaitTimeSeconds",
                q.receive_wait_time_seconds,
                0,
                RECEIVE_WAIT_MAX,
            ),
            (
                "spec.queue.maximumMessageSizeBytes",
                q.maximum_message_size_bytes,
                MESSAGE_SIZE_MIN,
                MESSAGE_SIZE_MAX,
            ),
            (
                "spec.deadLetterQueue.maxReceiveCount",
                d.max_receive_count,
                MAX_RECEIVE_COUNT_MIN,
                MAX_RECEIVE_COUNT_MAX,
            ),
            (
                "spec.deadLetterQueue.messageRetentionSeconds",
                d.message_retention_seconds,
                RETENTION_MIN,
                RETENTION_MAX,
            ),
            (
                "spec.key.dataKeyReusePeriodSeconds",
                k.data_key_reuse_period_seconds,
                DATA_KEY_REUSE_MIN,
                DATA_KEY_REUSE_MAX,
            ),
            (
                "spec.key.rotationPeriodDays",
                k.rotation_period_days,
                ROTATION_DAYS_MIN,
                ROTATION_DAYS_MAX,
            ),
            (
                "spec.key.deletionWindowDays",
                k.deletion_window_days,
                DELETION_WINDOW_MIN,
                DELETION_WINDOW_MAX,
            ),
        ];
        for (field, value, min, max) in bounds {
            if !(min..=max).contains(&value) {
                self.problem(
                    field,
                    format!("{value} is out of range: AWS accepts {min} to {max}"),
                );
            }
        }
        if d.message_retention_seconds < q.message_retention_seconds {
            self.problem("spec.deadLetterQueue.messageRetentionSeconds", format!(
                "{} is shorter than the main queue's {}: moved messages keep their enqueue time and would expire before anyone reads them",
                d.message_retention_seconds, q.message_retention_seconds
            ));
        }
    }

    fn key_alias(&mut self, alias: &str) {
        let field = "spec.key.alias";
        if alias.len() > limits::KEY_ALIAS_MAX as usize {
            self.problem(
                field,
                format!(
                    "has {} characters; KMS allows {}",
                    alias.len(),
                    limits::KEY_ALIAS_MAX
                ),
            );
        }
        if !matches(patterns::KEY_ALIAS, alias) {
            self.problem(
                field,
                format!(
                    "{alias} must start with `alias/` and hold only letters, digits, `/`, `_` and `-`",
                    alias = quoted(alias)
                ),
            );
        } else if alias.starts_with("alias/aws/") {
            self.problem(
                field,
                format!(
                    "{alias} is under alias/aws/, which is reserved for AWS managed keys",
                    alias = quoted(alias)
                ),
            );
        }
    }

    fn tags(&mut self, spec: &SecureQueueSpec) {
        if spec.tags.len() > limits::USER_TAGS_MAX as usize {
            self.problem("spec.tags", format!(
                "has {} tags; at most {} fit beside the operator's ownership tags under the AWS limit of 50",
                spec.tags.len(), limits::USER_TAGS_MAX
            ));
        }
        for (key, value) in &spec.tags {
            let field = format!("spec.tags[{key}]");
            if key.is_empty() || key.chars().count() > limits::TAG_KEY_MAX {
                self.problem(
                    &field,
                    format!("tag keys have 1 to {} characters", limits::TAG_KEY_MAX),
                );
            }
            if value.chars().count() > limits::TAG_VALUE_MAX {
                self.problem(
                    &field,
                    format!(
                        "tag values have at most {} characters",
                        limits::TAG_VALUE_MAX
                    ),
                );
            }
            if key.starts_with("aws:") || key.starts_with("securequeue.io/") {
                self.problem(
                    &field,
                    "keys starting with `aws:` or `securequeue.io/` are reserved",
                );
            }
            if !matches(patterns::TAG, key) || !matches(patterns::TAG, value) {
                self.problem(
                    &field,
                    "tags may hold letters, digits, spaces and _ . : / = + - @ only (AWS's tag pattern): no tabs, newlines or other control characters",
                );
            }
        }
    }
}

/// Whether `text` matches one of the shared patterns of [`patterns`], compiled once per process:
/// validation runs on every pass, and a pattern with Unicode classes (the tag pattern) is costly
/// to compile.
///
/// # Panics
///
/// When `pattern` is not one of [`SHARED`]: a pattern of [`patterns`] that code checks is
/// listed there.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let Some((_, regex)) = SHARED.iter().find(|(shared, _)| *shared == pattern) else {
        panic!("{pattern} is not one of validation::SHARED; list it there")
    };
    regex.is_match(text)
}

/// `(patterns::NAME, its regex)` for each name: the pattern is named once, so a pair cannot
/// mix two patterns.
macro_rules! shared {
    ($($name:ident),* $(,)?) => {
        [$((patterns::$name, LazyLock::new(|| compiled(patterns::$name)))),*]
    };
}

/// The shared patterns that code checks, each beside its regular expression, compiled at its
/// first use.
static SHARED: [(&str, LazyLock<Regex>); 9] = shared![
    QUEUE_NAME,
    REGION,
    ORGANIZATION_ID,
    VPC_ENDPOINT_ID,
    EXTERNAL_ID,
    NAMESPACE,
    OBJECT_NAME,
    TAG,
    KEY_ALIAS,
];

fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the shared patterns are valid regular expressions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_pattern_compiles_and_is_anchored() {
        for (pattern, regex) in &SHARED {
            assert!(
                pattern.starts_with('^') && pattern.ends_with('$'),
                "{pattern}"
            );
            assert_eq!(regex.as_str(), *pattern);
        }
    }

    #[test]
    fn a_shared_pattern_matches_the_whole_text_only() {
        assert!(matches(patterns::REGION, "eu-west-1"));
        assert!(!matches(patterns::REGION, "eu-west-1\n"));
        assert!(matches(patterns::TAG, "Team Orders: é/1"));
        assert!(!matches(patterns::TAG, "a\tb"));
    }

    #[test]
    #[should_panic(expected = "is not one of validation::SHARED")]
    fn a_pattern_not_listed_is_refused_at_its_first_use() {
        matches(r"^x$", "x");
    }
}
