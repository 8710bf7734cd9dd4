//! AWS's request quotas, per operation, and the operator's share of them.
//!
//! KMS sets a quota of requests per second on each API operation, per account and region,
//! counted independently of every other operation and shared with every other client of the
//! account ("Each request quota is calculated independently", "Throttling is based on all
//! requests on KMS keys of all types in the Region. This total includes requests from all
//! principals in the AWS account":
//! <https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>).
//! [`KMS_DEFAULTS`] holds that page's default values for every operation the operator calls.
//!
//! SQS publishes no per-operation quotas for its queue-management API
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-limits.html>
//! lists only message and policy quotas); it answers `RequestThrottled` when it throttles. Its
//! operations have no budget until one is set with `--aws-quota`, and are paced only after SQS
//! throttles them.
//!
//! The operator keeps to [`QuotaSettings::share`] of each quota (half by default), so the
//! account's other clients (Terraform, applications, consoles) keep the rest.

use std::collections::BTreeMap;
use std::fmt;

/// KMS's default request quotas, requests per second, for the operations the operator calls.
pub const KMS_DEFAULTS: [(&str, f64); 18] = [
    ("CancelKeyDeletion", 5.0),
    ("CreateAlias", 5.0),
    ("CreateKey", 5.0),
    ("DeleteAlias", 15.0),
    ("DescribeKey", 2000.0),
    ("EnableKey", 5.0),
    ("EnableKeyRotation", 15.0),
    ("GetKeyPolicy", 1000.0),
    ("GetKeyRotationStatus", 1000.0),
    ("ListAliases", 500.0),
    ("ListKeys", 500.0),
    ("ListResourceTags", 2000.0),
    ("PutKeyPolicy", 15.0),
    ("ScheduleKeyDeletion", 15.0),
    ("TagResource", 10.0),
    ("UntagResource", 5.0),
    ("UpdateAlias", 5.0),
    ("UpdateKeyDescription", 5.0),
];

/// The SQS operations the operator calls; SQS documents no request quota for any of them.
pub const SQS_OPERATIONS: [&str; 8] = [
    "CreateQueue",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListQueueTags",
    "SetQueueAttributes",
    "TagQueue",
    "UntagQueue",
];

/// The share of every quota the operator uses unless told otherwise.
pub const DEFAULT_SHARE: f64 = 0.5;

/// A service the operator calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// AWS KMS.
    Kms,
    /// Amazon SQS.
    Sqs,
}

impl Service {
    /// The service's name in IAM actions and in `--aws-quota`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::Sqs => "sqs",
        }
    }

    /// The service `name` names (`kms`, `sqs`, as in IAM actions), if the operator calls it.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "kms" => Some(Service::Kms),
            "sqs" => Some(Service::Sqs),
            _ => None,
        }
    }

    /// Every operation of this service the operator calls.
    pub fn operations(self) -> Vec<&'static str> {
        match self {
            Service::Kms => KMS_DEFAULTS.iter().map(|(op, _)| *op).collect(),
            Service::Sqs => SQS_OPERATIONS.to_vec(),
        }
    }

    /// AWS's documented default quota of `operation`, requests per second, if it has one.
    pub fn documented_quota(self, operation: &str) -> Option<f64> {
        match self {
            Service::Kms => KMS_DEFAULTS
                .iter()
                .find(|(op, _)| *op == operation)
                .map(|(_, quota)| *quota),
            Service::Sqs => None,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The account's quota of one operation, as `--aws-quota` states it.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaOverride {
    /// The service.
    pub service: Service,
    /// The operation, as the API names it (`CreateKey`).
    pub operation: &'static str,
    /// The account's quota, requests per second.
    pub per_second: f64,
}

impl QuotaOverride {
    /// Parses `kms:CreateKey=20`, naming what is wrong in plain words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, value) = text.split_once('=').ok_or_else(|| {
            format!("{text:?} is not service:Operation=requests-per-second, as kms:CreateKey=20")
        })?;
        let (service, operation) = name
            .split_once(':')
            .ok_or_else(|| format!("{name:?} names no service: write kms:{name} or sqs:{name}"))?;
        let service = Service::named(service)
            .ok_or_else(|| format!("{service:?} is not a service the operator calls (kms, sqs)"))?;
        let operation = service
            .operations()
            .into_iter()
            .find(|op| *op == operation)
            .ok_or_else(|| {
                format!(
                    "{service}:{operation} is not an operation the operator calls; it calls {}",
                    service.operations().join(", ")
                )
            })?;
        let per_second: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("{value:?} is not a positive number of requests per second"))?;
        Ok(Self {
            service,
            operation,
            per_second,
        })
    }
}

/// Parses `--aws-quota-share`: a share of each quota in (0, 1].
pub fn parse_share(text: &str) -> Result<f64, String> {
    text.parse()
        .ok()
        .filter(|share: &f64| *share > 0.0 && *share <= 1.0)
        .ok_or_else(|| format!("{text:?} is not a share between 0 (exclusive) and 1, as 0.5"))
}

/// How much of each quota the operator may use.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSettings {
    /// The share of each quota the operator uses, in (0, 1].
    pub share: f64,
    /// The account's quotas where they differ from AWS's defaults, by service and operation.
    pub overrides: BTreeMap<(Service, &'static str), f64>,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            share: DEFAULT_SHARE,
            overrides: BTreeMap::new(),
        }
    }
}

impl QuotaSettings {
    /// Settings with this share and these overrides; a later override of one operation wins.
    pub fn new(share: f64, overrides: impl IntoIterator<Item = QuotaOverride>) -> Self {
        Self {
            share,
            overrides: overrides
                .into_iter()
                .map(|o| ((o.service, o.operation), o.per_second))
                .collect(),
        }
    }

    /// The account's quota of `service:operation`, requests per second, if one is known.
    pub fn quota(&self, service: Service, operation: &str) -> Option<f64> {
        self.overrides
            .iter()
            .find(|((s, op), _)| *s == service && *op == operation)
            .map(|(_, quota)| *quota)
            .or_else(|| service.documented_quota(operation))
    }

    /// The requests per second the operator allows itself for `service:operation`: its share
    /// of the quota; `None` when no quota is known.
    pub fn budget(&self, service: Service, operation: &str) -> Option<f64> {
        self.quota(service, operation)
            .map(|quota| quota * self.share)
    }
}

impl QuotaSettings {
    /// One line for the start-up log and the bench: the share, and each operation's budget.
    pub fn summary(&self) -> String {
        let budgets = |service: Service| -> Vec<String> {
            service
                .operations()
                .into_iter()
                .filter_map(|op| Some(format!("{service}:{op} {}/s", self.budget(service, op)?)))
                .collect()
        };
        let (kms, sqs) = (budgets(Service::Kms), budgets(Service::Sqs));
        let sqs = if sqs.is_empty() {
            "sqs: no documented quota, paced only after SQS throttles".to_string()
        } else {
            format!(
                "{} (other sqs operations paced only after SQS throttles)",
                sqs.join(", ")
            )
        };
        format!("{} of each quota: {}; {sqs}", self.share, kms.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_share_of_the_documented_quota() {
        let settings = QuotaSettings::default();
        assert_eq!(settings.budget(Service::Kms, "CreateKey"), Some(2.5));
        assert_eq!(settings.budget(Service::Kms, "DescribeKey"), Some(1000.0));
        assert_eq!(settings.budget(Service::Sqs, "CreateQueue"), None);
    }

    #[test]
    fn an_override_replaces_the_quota_and_the_share_still_applies() {
        let settings = QuotaSettings::new(
            0.5,
            [
                QuotaOverride::parse("kms:CreateKey=20").unwrap(),
                QuotaOverride::parse("sqs:CreateQueue=50").unwrap(),
            ],
        );
        assert_eq!(settings.budget(Service::Kms, "CreateKey"), Some(10.0));
        assert_eq!(settings.budget(Service::Kms, "CreateAlias"), Some(2.5));
        assert_eq!(settings.budget(Service::Sqs, "CreateQueue"), Some(25.0));
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let error = |text| QuotaOverride::parse(text).unwrap_err();
        assert!(error("kms:CreateKey").contains("service:Operation=requests-per-second"));
        assert!(error("CreateKey=5").contains("names no service"));
        assert!(error("s3:PutObject=5").contains("not a service the operator calls"));
        assert!(error("kms:CreateKye=5").contains("not an operation the operator calls"));
        assert!(error("kms:CreateKey=0").contains("not a positive number"));
        assert!(error("kms:CreateKey=fast").contains("not a positive number"));
    }

    #[test]
    fn the_summary_names_each_budget() {
        let summary = QuotaSettings::default().summary();
        assert!(
            summary.starts_with("0.5 of each quota: kms:CancelKeyDeletion 2.5/s"),
            "{summary}"
        );
        assert!(summary.contains("kms:DescribeKey 1000/s"), "{summary}");
        assert!(summary.ends_with("sqs: no documented quota, paced only after SQS throttles"));
    }

    #[test]
    fn the_share_is_between_zero_and_one() {
        assert_eq!(parse_share("1"), Ok(1.0));
        assert_eq!(parse_share("0.25"), Ok(0.25));
        for bad in ["0", "1.5", "-0.1", "half"] {
            assert!(parse_share(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_kms_operation_the_adapter_calls_has_a_documented_quota() {
        let source = include_str!("kms.rs");
        // Each call names its operation first to the adapter's sender: `.read("DescribeKey", ..`.
        let operations: Vec<&str> = [".read(", ".write(", ".look_up("]
            .iter()
            .flat_map(|call| source.split(call).skip(1))
            .filter_map(|after| after.trim_start().strip_prefix('"')?.split('"').next())
            .collect();
        assert!(operations.contains(&"CreateKey"), "{operations:?}");
        for operation in operations {
            assert!(
                Service::Kms.documented_quota(operation).is_some(),
                "kms:{operation} has no quota in KMS_DEFAULTS"
            );
        }
    }
}
