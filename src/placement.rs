//! Where a SecureQueue's resources live, and the rule that they never move.
//!
//! The partition, account and region, the two queue names and the key's alias decide which AWS
//! resources a SecureQueue is. Once any of them exists, the status records these values
//! (`status.identity`); every pass resolves the spec again and compares before any AWS call. A
//! difference would build a second key and pair of queues beside the first and leave the first,
//! with its messages, unmanaged, so it is refused instead (reason `ImmutableFieldChanged`). This
//! holds in code, not only in the CRD's CEL rules: `securequeue apply` and some API servers never
//! run CEL, and no CEL rule sees the operator's own settings.
//!
//! One value is inherited rather than compared: a SecureQueue without `spec.region` stays in the
//! region its status records, whatever the operator's region is now
//! ([`RecordedPlacement::region`]). A platform team changing the operator's region therefore
//! moves nothing and leaves nothing unmanaged; only SecureQueues that have no resources yet go to
//! the new region.

use crate::api::{Placement, SecureQueueStatus};
use crate::arn::Arn;
use crate::validation::Problem;

/// What a status says about where the resources are: `status.identity`, or, for a status written
/// before the operator recorded it, what its ARNs and queue name say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordedPlacement {
    partition: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    queue_name: Option<String>,
    dead_letter_queue_name: Option<String>,
    key_alias: Option<String>,
}

impl RecordedPlacement {
    /// What `status` records; nothing for a SecureQueue that has no status yet.
    pub fn of(status: Option<&SecureQueueStatus>) -> Self {
        let Some(status) = status else {
            return Self::default();
        };
        if let Some(placement) = &status.identity {
            return Self {
                partition: Some(placement.partition.clone()),
                account_id: Some(placement.account_id.clone()),
                region: Some(placement.region.clone()),
                queue_name: Some(placement.queue_name.clone()),
                dead_letter_queue_name: Some(placement.dead_letter_queue_name.clone()),
                key_alias: Some(placement.key_alias.clone()),
            };
        }
        Self::from_arns(status)
    }

    /// What the ARNs of an older status say; the alias is in none of them.
    fn from_arns(status: &SecureQueueStatus) -> Self {
        let arns = [
            &status.queue_arn,
            &status.dead_letter_queue_arn,
            &status.key_arn,
        ];
        let parsed: Vec<Arn<'_>> = arns
            .iter()
            .filter_map(|arn| Arn::parse(arn.as_deref()?).ok())
            .collect();
        let first = parsed.first();
        let queue = |arn: &Option<String>| {
            arn.as_deref()
                .and_then(|text| Arn::parse(text).ok())
                .map(|arn| arn.resource.to_string())
        };
        Self {
            partition: first.map(|arn| arn.partition.to_string()),
            account_id: first.map(|arn| arn.account.to_string()),
            region: first.map(|arn| arn.region.to_string()),
            queue_name: status
                .queue_name
                .clone()
                .or_else(|| queue(&status.queue_arn)),
            dead_letter_queue_name: queue(&status.dead_letter_queue_arn),
            key_alias: None,
        }
    }

    /// The region the resources are recorded in, which a spec without `spec.region` keeps.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Every recorded value that `planned` would change, each named by the field or operator
    /// setting that moved it and saying what to do; empty when nothing moves.
    pub fn moves(&self, planned: &Placement) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(recorded) = differs(&self.account_id, &planned.account_id) {
            problems.push(Problem::new(
                "spec.accountId, or the operator's account (--account-id, or the account of --operator-role-arn)",
                format!(
                    "the key and both queues are in account {recorded} (status.identity.accountId), but this SecureQueue would now be made in account {}; securequeue never moves them: set spec.accountId back to {recorded} (a SecureQueueAccount must bind it to this namespace), or run the operator in account {recorded} again",
                    planned.account_id
                ),
            ));
        }
        if let Some(recorded) = differs(&self.region, &planned.region) {
            let partition = differs(&self.partition, &planned.partition)
                .map(|p| format!(" (partition {p}, not {})", planned.partition))
                .unwrap_or_default();
            problems.push(Problem::new(
                "spec.region",
                format!(
                    "the key and both queues are in {recorded}{partition} (status.identity.region), and the spec now says `{}`; securequeue never moves them, as that would leave the queues in {recorded} and their messages unmanaged: set spec.region back to {recorded}, or create a new SecureQueue for `{}`",
                    planned.region,
                    planned.region,
                    recorded = crate::quote::quoted(recorded)
                ),
            ));
        }
        let renamed = differs(&self.queue_name, &planned.queue_name)
            .map(|recorded| (recorded, planned.queue_name.as_str(), "queue"))
            .or_else(|| {
                differs(
                    &self.dead_letter_queue_name,
                    &planned.dead_letter_queue_name,
                )
                .map(|recorded| {
                    (
                        recorded,
                        planned.dead_letter_queue_name.as_str(),
                        "dead-letter queue",
                    )
                })
            });
        if let Some((recorded, wanted, what)) = renamed {
            problems.push(Problem::new(
                "spec.queueName",
                format!(
                    "the spec would rename the {what} from {recorded} to {wanted} (spec.queueName, spec.fifo, or the operator's queue name prefix changed); a queue cannot be renamed and securequeue never replaces a queue that may hold messages: restore the field, or create a new SecureQueue",
                    recorded = crate::quote::quoted(recorded),
                    wanted = crate::quote::quoted(wanted)
                ),
            ));
        }
        if let Some(recorded) = differs(&self.key_alias, &planned.key_alias) {
            problems.push(Problem::new(
                "spec.key.alias",
                format!(
                    "the key's alias is {recorded} (status.identity.keyAlias), and the spec now says `{}`; a new alias would mean a new key, and the key behind {recorded} still decrypts the messages in both queues: set spec.key.alias back to {recorded} (or remove it, if that is the default). KMS rotates the key material itself, every spec.key.rotationPeriodDays",
                    planned.key_alias,
                    recorded = crate::quote::quoted(recorded)
                ),
            ));
        }
        problems
    }
}

/// The recorded value, when there is one and `planned` differs from it.
fn differs<'a>(recorded: &'a Option<String>, planned: &str) -> Option<&'a str> {
    recorded.as_deref().filter(|r| *r != planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement() -> Placement {
        Placement {
            partition: "aws".into(),
            account_id: "111122223333".into(),
            region: "eu-west-1".into(),
            queue_name: "shop-orders".into(),
            dead_letter_queue_name: "shop-orders-dlq".into(),
            key_alias: "alias/securequeue/shop/orders".into(),
            key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()),
        }
    }

    fn recorded() -> RecordedPlacement {
        RecordedPlacement::of(Some(&SecureQueueStatus {
            identity: Some(placement()),
            ..Default::default()
        }))
    }

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn nothing_recorded_moves_nothing() {
        assert!(RecordedPlacement::of(None).moves(&placement()).is_empty());
        assert!(
            RecordedPlacement::of(Some(&SecureQueueStatus::default()))
                .moves(&placement())
                .is_empty()
        );
    }

    #[test]
    fn the_same_placement_moves_nothing_whatever_the_key_id() {
        let mut planned = placement();
        planned.key_id = None;
        assert!(recorded().moves(&planned).is_empty());
    }

    #[test]
    fn each_moved_value_is_named_by_its_field() {
        type Change = fn(&mut Placement);
        let cases: [(Change, &str, &str); 5] = [
            (
                |i| i.account_id = "444455556666".into(),
                "spec.accountId, or the operator's account",
                "account 111122223333",
            ),
            (
                |i| i.region = "us-east-1".into(),
                "spec.region",
                "`eu-west-1`",
            ),
            (
                |i| i.queue_name = "shop-orders-v2".into(),
                "spec.queueName",
                "from `shop-orders` to `shop-orders-v2`",
            ),
            (
                |i| i.dead_letter_queue_name = "other-dlq".into(),
                "spec.queueName",
                "dead-letter queue from `shop-orders-dlq`",
            ),
            (
                |i| i.key_alias = "alias/team/orders".into(),
                "spec.key.alias",
                "`alias/securequeue/shop/orders`",
            ),
        ];
        for (change, field, says) in cases {
            let mut planned = placement();
            change(&mut planned);
            let problems = recorded().moves(&planned);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].field.starts_with(field), "{problems:?}");
            assert!(problems[0].reason.contains(says), "{problems:?}");
        }
    }

    #[test]
    fn a_move_to_another_partition_names_both_partitions() {
        let mut planned = placement();
        planned.region = "cn-north-1".into();
        planned.partition = "aws-cn".into();
        let problems = recorded().moves(&planned);
        assert_eq!(fields(&problems), ["spec.region"]);
        assert!(problems[0].reason.contains("partition aws, not aws-cn"));
    }

    #[test]
    fn an_older_status_is_read_from_its_arns() {
        let status = SecureQueueStatus {
            key_arn: Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()),
            queue_arn: Some("arn:aws:sqs:eu-west-1:111122223333:shop-orders".into()),
            dead_letter_queue_arn: Some(
                "arn:aws:sqs:eu-west-1:111122223333:shop-orders-dlq".into(),
            ),
            ..Default::default()
        };
        let recorded = RecordedPlacement::of(Some(&status));
        assert_eq!(recorded.region(), Some("eu-west-1"));
        let mut planned = placement();
        planned.region = "us-east-1".into();
        planned.key_alias = "alias/anything".into();
        // The alias is in no ARN, so only the region is known to move.
        assert_eq!(fields(&recorded.moves(&planned)), ["spec.region"]);
        assert!(recorded.moves(&placement()).is_empty());
    }

    #[test]
    fn a_key_arn_alone_records_the_region_and_account() {
        let status = SecureQueueStatus {
            key_arn: Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()),
            ..Default::default()
        };
        let recorded = RecordedPlacement::of(Some(&status));
        let mut planned = placement();
        planned.account_id = "444455556666".into();
        planned.queue_name = "anything".into();
        assert_eq!(recorded.region(), Some("eu-west-1"));
        assert_eq!(recorded.moves(&planned).len(), 1);
    }
}
