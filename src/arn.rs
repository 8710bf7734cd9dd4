//! Amazon Resource Names: parsing, partitions, and the checks that tell a user which kind of
//! ARN a field needs and why theirs is not one.

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
    pub fn parse(text: &'a str) -> Result<Arn<'a>, String> {
        if text.contains(['*', '?']) {
            return Err(format!(
                "{text} contains a wildcard; name one exact resource, wildcards would widen the policy",
                text = quoted(text)
            ));
        }
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        if fields.len() != 6 || fields[0] != "arn" {
            return Err(format!(
                "{text} is not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)",
                text = quoted(text)
            ));
        }
        let partition = Partition::from_arn_field(fields[1]).ok_or_else(|| {
            format!(
                "{text} names partition `{}`; expected aws, aws-cn or aws-us-gov",
                fields[1],
                text = quoted(text)
            )
        })?;
        let account = fields[4];
        if !account.is_empty() && !is_account_id(account) {
            return Err(format!(
                "{text} has account {account}; an account id is 12 digits",
                account = quoted(account),
                text = quoted(text)
            ));
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
pub fn parse_role(text: &str) -> Result<RoleArn<'_>, String> {
    let arn = Arn::parse(text)?;
    match arn.service {
        "iam" => {}
        "sts" if arn.resource.starts_with("assumed-role/") => {
            let role = arn.resource.split('/').nth(1).unwrap_or_default();
            return Err(format!(
                "{text} is an assumed-role session, not a role; name the role itself, e.g. arn:{}:iam::{}:role/{role}",
                arn.partition,
                arn.account,
                text = quoted(text)
            ));
        }
        other => {
            return Err(format!(
                "{text} is an ARN of service {other} where an IAM role is required",
                other = quoted(other),
                text = quoted(text)
            ));
        }
    }
    if !arn.region.is_empty() {
        return Err(format!(
            "{text} has a region; IAM ARNs have none",
            text = quoted(text)
        ));
    }
    if arn.account.is_empty() {
        return Err(format!("{text} has no account id", text = quoted(text)));
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
        return Err(format!(
            "{text} is {kind}; an IAM role is required here",
            text = quoted(text)
        ));
    };
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (path, name),
        None => ("", path_and_name),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "{text} has a role name of {} characters; IAM allows 1 to 64",
            name.len(),
            text = quoted(text)
        ));
    }
    if path.len() > 510 {
        return Err(format!(
            "{text} has a role path longer than IAM's 512 characters",
            text = quoted(text)
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if !name.chars().all(allowed) || !path.split('/').all(|p| p.chars().all(allowed)) {
        return Err(format!(
            "{text} has characters IAM does not allow in a role name or path (letters, digits and +=,.@_- only)",
            text = quoted(text)
        ));
    }
    Ok(RoleArn { arn, name })
}

/// Parses an SNS topic ARN and returns it with the topic name.
pub fn parse_sns_topic(text: &str) -> Result<(Arn<'_>, &str), String> {
    let arn = expect_service(text, "sns", "an SNS topic")?;
    if arn.region.is_empty() || arn.account.is_empty() {
        return Err(format!(
            "{text} lacks a region or an account; SNS topic ARNs have both",
            text = quoted(text)
        ));
    }
    let name = arn.resource;
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if name.contains(':') {
        return Err(format!(
            "{text} is a subscription ARN; name the topic",
            text = quoted(text)
        ));
    }
    if base.is_empty()
        || name.len() > 256
        || !base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{text} has an invalid topic name (1 to 256 letters, digits, - and _, optionally ending in .fifo)",
            text = quoted(text)
        ));
    }
    Ok((arn, name))
}

/// Parses an S3 bucket ARN and returns it with the bucket name.
pub fn parse_s3_bucket(text: &str) -> Result<(Arn<'_>, &str), String> {
    let arn = expect_service(text, "s3", "an S3 bucket")?;
    if !arn.region.is_empty() || !arn.account.is_empty() {
        return Err(format!(
            "{text} has a region or account; S3 bucket ARNs have neither (arn:aws:s3:::bucket)",
            text = quoted(text)
        ));
    }
    let bucket = arn.resource;
    if bucket.contains('/') {
        return Err(format!(
            "{text} names objects in a bucket; name the bucket itself",
            text = quoted(text)
        ));
    }
    let valid_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !valid_chars || !ends_ok || bucket.contains("..") {
        return Err(format!(
            "{text} has an invalid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)",
            text = quoted(text)
        ));
    }
    Ok((arn, bucket))
}

/// Parses an EventBridge rule ARN.
pub fn parse_event_bridge_rule(text: &str) -> Result<Arn<'_>, String> {
    let arn = expect_service(text, "events", "an EventBridge rule")?;
    if arn.region.is_empty() || arn.account.is_empty() {
        return Err(format!(
            "{text} lacks a region or an account; rule ARNs have both",
            text = quoted(text)
        ));
    }
    let Some(rule) = arn.resource.strip_prefix("rule/") else {
        return Err(format!(
            "{text} is not an EventBridge rule (expected ...:rule/<name>)",
            text = quoted(text)
        ));
    };
    let parts: Vec<&str> = rule.split('/').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.len() <= 256
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    };
    if parts.len() > 2 || !parts.iter().all(valid) {
        return Err(format!(
            "{text} has an invalid rule name (rule/<name> or rule/<event-bus>/<name>; letters, digits, . - _)",
            text = quoted(text)
        ));
    }
    Ok(arn)
}

fn expect_service<'a>(text: &'a str, service: &str, what: &str) -> Result<Arn<'a>, String> {
    let arn = Arn::parse(text)?;
    if arn.service != service {
        return Err(format!(
            "{text} is an ARN of service `{}` where {what} is required",
            arn.service,
            text = quoted(text)
        ));
    }
    Ok(arn)
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
        let err = parse_role("arn:aws:iam::111122223333:user/alice").unwrap_err();
        assert!(err.contains("an IAM user"), "{err}");
    }

    #[test]
    fn root_is_not_a_role() {
        let err = parse_role("arn:aws:iam::111122223333:root").unwrap_err();
        assert!(err.contains("account root"), "{err}");
    }

    #[test]
    fn assumed_role_session_names_the_role_to_use() {
        let err = parse_role("arn:aws:sts::111122223333:assumed-role/worker/i-123").unwrap_err();
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
                .contains("wildcard")
        );
        assert!(
            parse_role("arn:aws:iam::*:role/x")
                .unwrap_err()
                .contains("wildcard")
        );
    }

    #[test]
    fn malformed_arns_are_refused() {
        assert!(
            Arn::parse("orders-worker")
                .unwrap_err()
                .contains("not an ARN")
        );
        assert!(
            Arn::parse("arn:aws:iam::1234:role/x")
                .unwrap_err()
                .contains("12 digits")
        );
        assert!(
            Arn::parse("arn:azure:iam::111122223333:role/x")
                .unwrap_err()
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
                .contains("objects")
        );
        assert!(
            parse_sns_topic("arn:aws:sqs:eu-west-1:111122223333:q")
                .unwrap_err()
                .contains("service `sqs`")
        );
        assert!(
            parse_event_bridge_rule("arn:aws:events:eu-west-1:111122223333:event-bus/default")
                .unwrap_err()
                .contains("not an EventBridge rule")
        );
    }
}
