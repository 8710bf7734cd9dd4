//! Amazon Resource Names: parsing, building, partitions, and the checks that tell a user which kind of
//! ARN a field needs and why theirs is not one ([`Error`]).

use std::fmt;

use crate::quote::quoted;

/// An AWS partition: the set of regions an ARN, a service principal's DNS suffix and a policy
/// live in. A role in one partition can never be a principal in another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// The commercial regions.
    Aws,
    /// The China regions.
    AwsCn,
    /// AWS GovCloud (US).
    AwsUsGov,
}

impl Partition {
    /// The partition a region belongs to, or `None` for regions of partitions the operator does
    /// not support (the isolated ones).
    pub fn of_region(region: &str) -> Option<Partition> {
        if region.starts_with("cn-") {
            Some(Partition::AwsCn)
        } else if region.starts_with("us-gov-") {
            Some(Partition::AwsUsGov)
        } else if region.contains("-iso") || region.starts_with("eusc-") {
            None
        } else {
            Some(Partition::Aws)
        }
    }

    /// The partition named in an ARN.
    pub fn from_arn_field(name: &str) -> Option<Partition> {
        match name {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::AwsCn),
            "aws-us-gov" => Some(Partition::AwsUsGov),
            _ => None,
        }
    }

    /// The name used in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The DNS suffix of regional service endpoints, as used by `kms:ViaService`.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The six colon-separated fields of an ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: Partition,
    /// The service namespace, such as `iam` or `sns`.
    pub service: &'a str,
    /// The region, empty for global services.
    pub region: &'a str,
    /// The 12-digit account id, empty for S3 buckets.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN into its fields, refusing wildcards and unknown partitions.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, Error> {
        let refuse = |kind| Error::new(text, kind);
        if text.contains(['*', '?']) {
            return Err(refuse(ErrorKind::Wildcard));
        }
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        if fields.len() != 6 || fields[0] != "arn" {
            return Err(refuse(ErrorKind::NotAnArn));
        }
        let partition = Partition::from_arn_field(fields[1])
            .ok_or_else(|| refuse(ErrorKind::Partition(fields[1].to_string())))?;
        let account = fields[4];
        if !account.is_empty() && !is_account_id(account) {
            return Err(refuse(ErrorKind::Account(account.to_string())));
        }
        Ok(Arn {
            partition,
            service: fields[2],
            region: fields[3],
            account,
            resource: fields[5],
        })
    }
}

/// The ARNs the crate builds, in AWS's general form
/// `arn:<partition>:<service>:<region>:<account>:<resource>` (IAM User Guide, "Identify AWS
/// resources with Amazon Resource Names (ARNs)",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>), which
/// [`Arn::parse`] reads back into the same fields. The partition is a [`Partition`], or the
/// partition field of an ARN read elsewhere; a region or name of `*` makes a pattern for a
/// policy's `Resource`.
impl Arn<'_> {
    /// An account's root principal, `arn:<partition>:iam::<account>:root`, which in a resource
    /// policy stands for every principal of the account.
    pub fn account_root(partition: impl fmt::Display, account: &str) -> String {
        text(partition, "iam", "", account, "root")
    }

    /// An IAM role, `arn:<partition>:iam::<account>:role/<name>`; the name may start with the
    /// role's path.
    pub fn role(partition: impl fmt::Display, account: &str, name: &str) -> String {
        text(partition, "iam", "", account, format_args!("role/{name}"))
    }

    /// An SQS queue, `arn:<partition>:sqs:<region>:<account>:<name>`.
    pub fn queue(partition: impl fmt::Display, region: &str, account: &str, name: &str) -> String {
        text(partition, "sqs", region, account, name)
    }

    /// A KMS key, `arn:<partition>:kms:<region>:<account>:key/<id>`.
    pub fn key(partition: impl fmt::Display, region: &str, account: &str, id: &str) -> String {
        text(partition, "kms", region, account, format_args!("key/{id}"))
    }

    /// A KMS alias, `arn:<partition>:kms:<region>:<account>:alias/<name>`, the name without its
    /// `alias/` prefix.
    pub fn alias(partition: impl fmt::Display, region: &str, account: &str, name: &str) -> String {
        text(
            partition,
            "kms",
            region,
            account,
            format_args!("alias/{name}"),
        )
    }
}

/// The text of an ARN from its fields.
fn text(
    partition: impl fmt::Display,
    service: &str,
    region: &str,
    account: &str,
    resource: impl fmt::Display,
) -> String {
    format!("arn:{partition}:{service}:{region}:{account}:{resource}")
}

/// True for a 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// A parsed IAM role ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleArn<'a> {
    /// The fields of the ARN.
    pub arn: Arn<'a>,
    /// The role's name, without its path.
    pub name: &'a str,
}

/// Parses an IAM role ARN, explaining what else the text is when it is not one.
pub fn parse_role(text: &str) -> Result<RoleArn<'_>, Error> {
    let refuse = |kind| Error::new(text, kind);
    let arn = Arn::parse(text)?;
    match arn.service {
        "iam" => {}
        "sts" if arn.resource.starts_with("assumed-role/") => {
            let role = arn.resource.split('/').nth(1).unwrap_or_default();
            return Err(refuse(ErrorKind::AssumedRole {
                role: Arn::role(arn.partition, arn.account, role),
            }));
        }
        other => return Err(refuse(ErrorKind::NotARoleService(other.to_string()))),
    }
    if !arn.region.is_empty() {
        return Err(refuse(ErrorKind::IamRegion));
    }
    if arn.account.is_empty() {
        return Err(refuse(ErrorKind::NoAccount));
    }
    let Some(path_and_name) = arn.resource.strip_prefix("role/") else {
        let kind = match arn.resource.split('/').next().unwrap_or_default() {
            "root" => "an account root principal, which stands for every principal of the account",
            "user" => "an IAM user",
            "group" => "an IAM group, which cannot be a principal",
            "policy" => "an IAM policy",
            "instance-profile" => "an instance profile",
            _ => "not an IAM role",
        };
        return Err(refuse(ErrorKind::NotARole(kind)));
    };
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (path, name),
        None => ("", path_and_name),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(refuse(ErrorKind::RoleNameLength(name.len())));
    }
    if path.len() > 510 {
        return Err(refuse(ErrorKind::RolePathLength));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if !name.chars().all(allowed) || !path.split('/').all(|p| p.chars().all(allowed)) {
        return Err(refuse(ErrorKind::RoleCharacters));
    }
    Ok(RoleArn { arn, name })
}

/// Parses an SNS topic ARN and returns it with the topic name.
pub fn parse_sns_topic(text: &str) -> Result<(Arn<'_>, &str), Error> {
    let refuse = |kind| Error::new(text, kind);
    let arn = expect_service(text, "sns", "an SNS topic")?;
    if arn.region.is_empty() || arn.account.is_empty() {
        return Err(refuse(ErrorKind::TopicPlacement));
    }
    let name = arn.resource;
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if name.contains(':') {
        return Err(refuse(ErrorKind::Subscription));
    }
    if base.is_empty()
        || name.len() > 256
        || !base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(refuse(ErrorKind::TopicName));
    }
    Ok((arn, name))
}

/// Parses an S3 bucket ARN and returns it with the bucket name.
pub fn parse_s3_bucket(text: &str) -> Result<(Arn<'_>, &str), Error> {
    let refuse = |kind| Error::new(text, kind);
    let arn = expect_service(text, "s3", "an S3 bucket")?;
    if !arn.region.is_empty() || !arn.account.is_empty() {
        return Err(refuse(ErrorKind::BucketPlacement));
    }
    let bucket = arn.resource;
    if bucket.contains('/') {
        return Err(refuse(ErrorKind::BucketObjects));
    }
    let valid_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !valid_chars || !ends_ok || bucket.contains("..") {
        return Err(refuse(ErrorKind::BucketName));
    }
    Ok((arn, bucket))
}

/// Parses an EventBridge rule ARN.
pub fn parse_event_bridge_rule(text: &str) -> Result<Arn<'_>, Error> {
    let refuse = |kind| Error::new(text, kind);
    let arn = expect_service(text, "events", "an EventBridge rule")?;
    if arn.region.is_empty() || arn.account.is_empty() {
        return Err(refuse(ErrorKind::RulePlacement));
    }
    let Some(rule) = arn.resource.strip_prefix("rule/") else {
        return Err(refuse(ErrorKind::NotARule));
    };
    let parts: Vec<&str> = rule.split('/').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.len() <= 256
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    };
    if parts.len() > 2 || !parts.iter().all(valid) {
        return Err(refuse(ErrorKind::RuleName));
    }
    Ok(arn)
}

fn expect_service<'a>(text: &'a str, service: &str, what: &'static str) -> Result<Arn<'a>, Error> {
    let arn = Arn::parse(text)?;
    if arn.service != service {
        return Err(Error::new(
            text,
            ErrorKind::Service {
                service: arn.service.to_string(),
                what,
            },
        ));
    }
    Ok(arn)
}

/// A text that is not the ARN a field needs: the text, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} {kind}", quoted(.text))]
pub struct Error {
    /// The text as given.
    pub text: String,
    /// Why it is not the ARN needed.
    pub kind: ErrorKind,
}

impl Error {
    fn new(text: &str, kind: ErrorKind) -> Self {
        Self {
            text: text.to_string(),
            kind,
        }
    }
}

/// Why a text is not the ARN a field needs, said after the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A `*` or `?` anywhere.
    #[error("contains a wildcard; name one exact resource, wildcards would widen the policy")]
    Wildcard,
    /// Not six colon-separated fields starting with `arn`.
    #[error("is not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)")]
    NotAnArn,
    /// A partition other than the three the operator supports.
    #[error("names partition `{0}`; expected aws, aws-cn or aws-us-gov")]
    Partition(String),
    /// An account field that is not 12 digits.
    #[error("has account {}; an account id is 12 digits", quoted(.0))]
    Account(String),
    /// An STS assumed-role session, with the ARN of its role (`role`).
    #[error("is an assumed-role session, not a role; name the role itself, e.g. {role}")]
    AssumedRole {
        /// The ARN of the session's role.
        role: String,
    },
    /// An ARN of another service where an IAM role is required.
    #[error("is an ARN of service {} where an IAM role is required", quoted(.0))]
    NotARoleService(String),
    /// An IAM ARN with a region.
    #[error("has a region; IAM ARNs have none")]
    IamRegion,
    /// An IAM ARN without an account.
    #[error("has no account id")]
    NoAccount,
    /// An IAM ARN of something else than a role (which, in words).
    #[error("is {0}; an IAM role is required here")]
    NotARole(&'static str),
    /// A role name that is empty or longer than 64 characters (its length).
    #[error("has a role name of {0} characters; IAM allows 1 to 64")]
    RoleNameLength(usize),
    /// A role path longer than IAM allows.
    #[error("has a role path longer than IAM's 512 characters")]
    RolePathLength,
    /// A role name or path with characters IAM does not allow.
    #[error(
        "has characters IAM does not allow in a role name or path (letters, digits and +=,.@_- only)"
    )]
    RoleCharacters,
    /// An ARN of another service than the one required (`what` it should name).
    #[error("is an ARN of service `{service}` where {what} is required")]
    Service {
        /// The service the ARN names.
        service: String,
        /// What the field needs, such as `an SNS topic`.
        what: &'static str,
    },
    /// An SNS topic ARN without a region or an account.
    #[error("lacks a region or an account; SNS topic ARNs have both")]
    TopicPlacement,
    /// An SNS subscription's ARN where a topic is required.
    #[error("is a subscription ARN; name the topic")]
    Subscription,
    /// A topic name SNS does not allow.
    #[error(
        "has an invalid topic name (1 to 256 letters, digits, - and _, optionally ending in .fifo)"
    )]
    TopicName,
    /// An S3 bucket ARN with a region or an account.
    #[error("has a region or account; S3 bucket ARNs have neither (arn:aws:s3:::bucket)")]
    BucketPlacement,
    /// Objects in a bucket where the bucket is required.
    #[error("names objects in a bucket; name the bucket itself")]
    BucketObjects,
    /// A bucket name S3 does not allow.
    #[error("has an invalid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)")]
    BucketName,
    /// An EventBridge rule ARN without a region or an account.
    #[error("lacks a region or an account; rule ARNs have both")]
    RulePlacement,
    /// An EventBridge ARN of something else than a rule.
    #[error("is not an EventBridge rule (expected ...:rule/<name>)")]
    NotARule,
    /// A rule name EventBridge does not allow.
    #[error(
        "has an invalid rule name (rule/<name> or rule/<event-bus>/<name>; letters, digits, . - _)"
    )]
    RuleName,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_partitions() {
        assert_eq!(Partition::of_region("eu-west-1"), Some(Partition::Aws));
        assert_eq!(Partition::of_region("cn-north-1"), Some(Partition::AwsCn));
        assert_eq!(
            Partition::of_region("us-gov-west-1"),
            Some(Partition::AwsUsGov)
        );
        assert_eq!(Partition::of_region("us-iso-east-1"), None);
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
    }

    #[test]
    fn role_with_path_parses() {
        let role = parse_role("arn:aws:iam::111122223333:role/team/orders-worker").unwrap();
        assert_eq!(role.name, "orders-worker");
        assert_eq!(role.arn.account, "111122223333");
    }

    #[test]
    fn user_is_not_a_role() {
        let err = parse_role("arn:aws:iam::111122223333:user/alice")
            .unwrap_err()
            .to_string();
        assert!(err.contains("an IAM user"), "{err}");
    }

    #[test]
    fn root_is_not_a_role() {
        let err = parse_role("arn:aws:iam::111122223333:root")
            .unwrap_err()
            .to_string();
        assert!(err.contains("account root"), "{err}");
    }

    #[test]
    fn assumed_role_session_names_the_role_to_use() {
        let err = parse_role("arn:aws:sts::111122223333:assumed-role/worker/i-123")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("arn:aws:iam::111122223333:role/worker"),
            "{err}"
        );
    }

    #[test]
    fn wildcards_are_refused() {
        assert!(
            parse_role("arn:aws:iam::111122223333:role/*")
                .unwrap_err()
                .to_string()
                .contains("wildcard")
        );
        assert!(
            parse_role("arn:aws:iam::*:role/x")
                .unwrap_err()
                .to_string()
                .contains("wildcard")
        );
    }

    #[test]
    fn malformed_arns_are_refused() {
        assert!(
            Arn::parse("orders-worker")
                .unwrap_err()
                .to_string()
                .contains("not an ARN")
        );
        assert!(
            Arn::parse("arn:aws:iam::1234:role/x")
                .unwrap_err()
                .to_string()
                .contains("12 digits")
        );
        assert!(
            Arn::parse("arn:azure:iam::111122223333:role/x")
                .unwrap_err()
                .to_string()
                .contains("partition")
        );
    }

    #[test]
    fn topic_bucket_and_rule_parse() {
        let (topic, name) =
            parse_sns_topic("arn:aws:sns:eu-west-1:111122223333:orders.fifo").unwrap();
        assert_eq!((topic.region, name), ("eu-west-1", "orders.fifo"));
        assert_eq!(
            parse_s3_bucket("arn:aws:s3:::my.bucket-1").unwrap().1,
            "my.bucket-1"
        );
        assert!(
            parse_event_bridge_rule("arn:aws:events:eu-west-1:111122223333:rule/bus/r1").is_ok()
        );
    }

    #[test]
    fn wrong_resource_types_are_explained() {
        assert!(
            parse_s3_bucket("arn:aws:s3:::bucket/key")
                .unwrap_err()
                .to_string()
                .contains("objects")
        );
        assert!(
            parse_sns_topic("arn:aws:sqs:eu-west-1:111122223333:q")
                .unwrap_err()
                .to_string()
                .contains("service `sqs`")
        );
        assert!(
            parse_event_bridge_rule("arn:aws:events:eu-west-1:111122223333:event-bus/default")
                .unwrap_err()
                .to_string()
                .contains("not an EventBridge rule")
        );
    }

    #[test]
    fn each_refusal_quotes_the_text_and_says_why() {
        let long_path = format!("arn:aws:iam::111122223333:role/{}x", "p/".repeat(300));
        let refusals = [
            (
                parse_role("arn:aws:iam::111122223333:role/*").unwrap_err(),
                "`arn:aws:iam::111122223333:role/*` contains a wildcard; name one exact resource, wildcards would widen the policy".to_string(),
            ),
            (
                Arn::parse("orders").unwrap_err(),
                "`orders` is not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)".to_string(),
            ),
            (
                Arn::parse("arn:azure:iam::111122223333:role/x").unwrap_err(),
                "`arn:azure:iam::111122223333:role/x` names partition `azure`; expected aws, aws-cn or aws-us-gov".to_string(),
            ),
            (
                Arn::parse("arn:aws:iam::1234:role/x").unwrap_err(),
                "`arn:aws:iam::1234:role/x` has account `1234`; an account id is 12 digits".to_string(),
            ),
            (
                parse_role("arn:aws-cn:sts::111122223333:assumed-role/worker/i-1").unwrap_err(),
                "`arn:aws-cn:sts::111122223333:assumed-role/worker/i-1` is an assumed-role session, not a role; name the role itself, e.g. arn:aws-cn:iam::111122223333:role/worker".to_string(),
            ),
            (
                parse_role("arn:aws:sqs:eu-west-1:111122223333:q").unwrap_err(),
                "`arn:aws:sqs:eu-west-1:111122223333:q` is an ARN of service `sqs` where an IAM role is required".to_string(),
            ),
            (
                parse_role("arn:aws:iam:eu-west-1:111122223333:role/x").unwrap_err(),
                "`arn:aws:iam:eu-west-1:111122223333:role/x` has a region; IAM ARNs have none".to_string(),
            ),
            (
                parse_role("arn:aws:iam:::role/x").unwrap_err(),
                "`arn:aws:iam:::role/x` has no account id".to_string(),
            ),
            (
                parse_role("arn:aws:iam::111122223333:group/admins").unwrap_err(),
                "`arn:aws:iam::111122223333:group/admins` is an IAM group, which cannot be a principal; an IAM role is required here".to_string(),
            ),
            (
                parse_role(&format!("arn:aws:iam::111122223333:role/{}", "x".repeat(65))).unwrap_err(),
                format!("`arn:aws:iam::111122223333:role/{}` has a role name of 65 characters; IAM allows 1 to 64", "x".repeat(65)),
            ),
            (
                parse_role(&long_path).unwrap_err(),
                format!("{} has a role path longer than IAM's 512 characters", quoted(&long_path)),
            ),
            (
                parse_role("arn:aws:iam::111122223333:role/a b").unwrap_err(),
                "`arn:aws:iam::111122223333:role/a b` has characters IAM does not allow in a role name or path (letters, digits and +=,.@_- only)".to_string(),
            ),
            (
                parse_sns_topic("arn:aws:sqs:eu-west-1:111122223333:q").unwrap_err(),
                "`arn:aws:sqs:eu-west-1:111122223333:q` is an ARN of service `sqs` where an SNS topic is required".to_string(),
            ),
            (
                parse_sns_topic("arn:aws:sns::111122223333:t").unwrap_err(),
                "`arn:aws:sns::111122223333:t` lacks a region or an account; SNS topic ARNs have both".to_string(),
            ),
            (
                parse_sns_topic("arn:aws:sns:eu-west-1:111122223333:t:0b1c").unwrap_err(),
                "`arn:aws:sns:eu-west-1:111122223333:t:0b1c` is a subscription ARN; name the topic".to_string(),
            ),
            (
                parse_sns_topic("arn:aws:sns:eu-west-1:111122223333:a.b").unwrap_err(),
                "`arn:aws:sns:eu-west-1:111122223333:a.b` has an invalid topic name (1 to 256 letters, digits, - and _, optionally ending in .fifo)".to_string(),
            ),
            (
                parse_s3_bucket("arn:aws:s3:eu-west-1::bucket").unwrap_err(),
                "`arn:aws:s3:eu-west-1::bucket` has a region or account; S3 bucket ARNs have neither (arn:aws:s3:::bucket)".to_string(),
            ),
            (
                parse_s3_bucket("arn:aws:s3:::bucket/key").unwrap_err(),
                "`arn:aws:s3:::bucket/key` names objects in a bucket; name the bucket itself".to_string(),
            ),
            (
                parse_s3_bucket("arn:aws:s3:::Bucket").unwrap_err(),
                "`arn:aws:s3:::Bucket` has an invalid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)".to_string(),
            ),
            (
                parse_event_bridge_rule("arn:aws:events::111122223333:rule/r").unwrap_err(),
                "`arn:aws:events::111122223333:rule/r` lacks a region or an account; rule ARNs have both".to_string(),
            ),
            (
                parse_event_bridge_rule("arn:aws:events:eu-west-1:111122223333:event-bus/default").unwrap_err(),
                "`arn:aws:events:eu-west-1:111122223333:event-bus/default` is not an EventBridge rule (expected ...:rule/<name>)".to_string(),
            ),
            (
                parse_event_bridge_rule("arn:aws:events:eu-west-1:111122223333:rule/a/b/c").unwrap_err(),
                "`arn:aws:events:eu-west-1:111122223333:rule/a/b/c` has an invalid rule name (rule/<name> or rule/<event-bus>/<name>; letters, digits, . - _)".to_string(),
            ),
        ];
        for (error, message) in refusals {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn a_refusal_keeps_the_text_and_the_reason_apart() {
        let error = parse_role("arn:aws:iam::111122223333:user/alice").unwrap_err();
        assert_eq!(error.text, "arn:aws:iam::111122223333:user/alice");
        assert_eq!(error.kind, ErrorKind::NotARole("an IAM user"));
        let hostile = Arn::parse("arn:aws:iam::1\n2:role/x").unwrap_err();
        assert_eq!(hostile.kind, ErrorKind::Account("1\n2".into()));
        assert_eq!(
            hostile.to_string(),
            "`arn:aws:iam::1\\n2:role/x` has account `1\\n2`; an account id is 12 digits"
        );
    }

    #[test]
    fn each_built_arn_parses_back_into_its_fields() {
        const ACCOUNT: &str = "111122223333";
        for partition in [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov] {
            let region = match partition {
                Partition::Aws => "eu-west-1",
                Partition::AwsCn => "cn-north-1",
                Partition::AwsUsGov => "us-gov-west-1",
            };
            let fields = |text: &str| {
                let arn = Arn::parse(text).unwrap();
                assert_eq!(arn.partition, partition, "{text}");
                (
                    arn.service.to_string(),
                    arn.region.to_string(),
                    arn.account.to_string(),
                    arn.resource.to_string(),
                )
            };
            let expect = |service: &str, region: &str, resource: &str| {
                (
                    service.to_string(),
                    region.to_string(),
                    ACCOUNT.to_string(),
                    resource.to_string(),
                )
            };
            assert_eq!(
                fields(&Arn::account_root(partition, ACCOUNT)),
                expect("iam", "", "root")
            );
            let role = Arn::role(partition, ACCOUNT, "team/orders-worker");
            assert_eq!(fields(&role), expect("iam", "", "role/team/orders-worker"));
            assert_eq!(parse_role(&role).unwrap().name, "orders-worker");
            assert_eq!(
                fields(&Arn::queue(partition, region, ACCOUNT, "shop-orders.fifo")),
                expect("sqs", region, "shop-orders.fifo")
            );
            assert_eq!(
                fields(&Arn::key(partition, region, ACCOUNT, "1234abcd-12ab")),
                expect("kms", region, "key/1234abcd-12ab")
            );
            assert_eq!(
                fields(&Arn::alias(
                    partition,
                    region,
                    ACCOUNT,
                    "securequeue/shop/orders"
                )),
                expect("kms", region, "alias/securequeue/shop/orders")
            );
        }
    }

    #[test]
    fn a_built_arn_is_the_text_aws_writes() {
        assert_eq!(
            Arn::role("aws-cn", "111122223333", "op"),
            "arn:aws-cn:iam::111122223333:role/op"
        );
        assert_eq!(
            Arn::account_root(Partition::AwsUsGov, "111122223333"),
            "arn:aws-us-gov:iam::111122223333:root"
        );
        assert_eq!(
            Arn::queue(Partition::Aws, "*", "111122223333", "shop-*"),
            "arn:aws:sqs:*:111122223333:shop-*"
        );
        assert_eq!(
            Arn::key(Partition::Aws, "*", "111122223333", "*"),
            "arn:aws:kms:*:111122223333:key/*"
        );
        assert_eq!(
            Arn::alias(Partition::AwsCn, "*", "111122223333", "securequeue/*"),
            "arn:aws-cn:kms:*:111122223333:alias/securequeue/*"
        );
    }
}
