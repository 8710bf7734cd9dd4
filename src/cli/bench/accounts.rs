//! `bench --accounts M`: the SecureQueues spread over M accounts the operator is bound to, as a
//! platform team binds them with SecureQueueAccounts. AWS counts request quotas per account and
//! region, and so do the operator's budgets, so onboarding in one account should not queue
//! behind another's CreateKey quota. Against an emulator only, which plays each account for the
//! credentials of a role assumed in it: the accounts are made up.

use std::collections::BTreeMap;

use crate::api::SecureQueueAccount;
use crate::aws::calls::CallCounts;
use crate::aws::request_quota::QuotaSettings;

use super::bounds::{QuotaBound, quota_bound};

/// The first made-up account; the others follow it.
const FIRST_ACCOUNT: u64 = 200_000_000_000;

/// The bound accounts of one run, in the order SecureQueues are dealt to them.
#[derive(Clone, Debug, Default)]
pub(super) struct Spread {
    accounts: Vec<String>,
}

impl Spread {
    /// `count` made-up accounts; none when `count` is 0 (every SecureQueue in the operator's).
    pub(super) fn new(count: u32) -> Self {
        let accounts = (0..u64::from(count))
            .map(|i| format!("{:012}", FIRST_ACCOUNT + i))
            .collect();
        Self { accounts }
    }

    /// The account of the `index`th SecureQueue, dealt in turn; `None`: the operator's own.
    pub(super) fn account_of(&self, index: usize) -> Option<&str> {
        (!self.accounts.is_empty()).then(|| self.accounts[index % self.accounts.len()].as_str())
    }

    /// The SecureQueueAccounts binding every account to `namespace`, each with its own role.
    pub(super) fn bindings(&self, namespace: &str, partition: &str) -> Vec<SecureQueueAccount> {
        self.accounts
            .iter()
            .map(|account| {
                serde_json::from_value(serde_json::json!({
                    "apiVersion": "securequeue.io/v1alpha1",
                    "kind": "SecureQueueAccount",
                    "metadata": {"name": format!("bench-{account}")},
                    "spec": {
                        "accountId": account,
                        "roleArn": crate::arn::Arn::role(partition, account, "securequeue-bench"),
                        "externalId": format!("securequeue-bench-{account}"),
                        "namespaces": [namespace],
                    },
                }))
                .expect("the generated SecureQueueAccount deserializes")
            })
            .collect()
    }
}

/// The quota bound of a pass whose calls went to several accounts, each with budgets of its
/// own: the slowest account's, with the account it is. `rival` calls in `home` only.
pub(super) fn slowest_account(
    by_account: &BTreeMap<String, CallCounts>,
    settings: &QuotaSettings,
    home: &str,
    rival: Option<(&str, f64)>,
) -> Option<(String, QuotaBound)> {
    by_account
        .iter()
        .filter_map(|(account, calls)| {
            let rival = rival.filter(|_| account == home);
            quota_bound(calls, settings, rival).map(|bound| (account.clone(), bound))
        })
        .max_by(|(_, a), (_, b)| a.bound.cmp(&b.bound))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::accounts::Accounts;

    fn creates(n: u64) -> CallCounts {
        CallCounts(BTreeMap::from([("kms:CreateKey".to_string(), n)]))
    }

    #[test]
    fn queues_are_dealt_to_the_accounts_in_turn() {
        let spread = Spread::new(3);
        let dealt: Vec<_> = (0..4).map(|i| spread.account_of(i).unwrap()).collect();
        assert_eq!(
            dealt,
            [
                "200000000000",
                "200000000001",
                "200000000002",
                "200000000000"
            ]
        );
        assert_eq!(Spread::new(0).account_of(7), None);
    }

    #[test]
    fn every_binding_is_valid_and_admits_the_namespace() {
        let bindings = Spread::new(10).bindings("bench-1", "aws");
        let accounts = Accounts::of(&bindings);
        assert_eq!(accounts.len(), 10);
        assert_eq!(accounts.problems(), Vec::<String>::new());
    }

    #[test]
    fn the_bound_is_the_slowest_accounts_and_the_rival_is_at_home() {
        let settings = QuotaSettings::new(1.0, []);
        let by_account = BTreeMap::from([
            ("111122223333".to_string(), creates(100)),
            ("200000000000".to_string(), creates(150)),
        ]);
        let (account, bound) = slowest_account(&by_account, &settings, "111122223333", None)
            .expect("CreateKey has a budget");
        assert_eq!(account, "200000000000");
        assert_eq!(bound.bound, Duration::from_secs(30));
        let rival = Some(("kms:CreateKey", 2.5));
        let (account, bound) =
            slowest_account(&by_account, &settings, "111122223333", rival).unwrap();
        assert_eq!(account, "111122223333");
        assert_eq!(bound.bound, Duration::from_secs(40));
    }
}
