//! Many accounts from one operator, against the emulator playing three accounts: the operator's
//! own (111122223333) and two bound ones. Credentials from STS AssumeRole act in the role's
//! account there, as in AWS, so where a key or queue lands shows whose credentials made it.

mod common;
mod emulator;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::sts::AssumeRoleProvider;
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use emulator::*;
use securequeue::accounts::Accounts;
use securequeue::api::{SecureQueue, SecureQueueAccount};
use securequeue::aws::ConnectOptions;
use securequeue::aws::calls::CallLog;
use securequeue::reconcile::Reconciler;

const PAYMENTS: &str = "222233334444";
const SEARCH: &str = "333344445555";

fn target_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/securequeue-target")
}

/// A binding of `account` to `namespaces`.
fn binding(name: &str, account: &str, namespaces: &[&str]) -> SecureQueueAccount {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "securequeue.io/v1alpha1",
        "kind": "SecureQueueAccount",
        "metadata": {"name": name},
        "spec": {
            "accountId": account,
            "roleArn": target_role(account),
            "externalId": format!("securequeue-{name}"),
            "namespaces": namespaces,
        },
    }))
    .unwrap()
}

/// A SecureQueue `q` in `namespace` naming `account`, consumed by a role of that account.
fn queue_in(namespace: &str, account: &str) -> SecureQueue {
    let yaml = format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: q\n  namespace: {namespace}\nspec:\n  region: {REGION}\n  accountId: \"{account}\"\n  deletionPolicy: Delete\n  consumerRoleArns: [arn:aws:iam::{account}:role/consumer]\n"
    );
    serde_saphyr::from_str(&yaml).unwrap()
}

/// Plain KMS and SQS clients acting in `account`, as its target role.
async fn raw_as(account: &str) -> (aws_sdk_kms::Client, aws_sdk_sqs::Client) {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    let role = AssumeRoleProvider::builder(target_role(account))
        .configure(&base)
        .session_name("test-inspector")
        .build()
        .await;
    let config = base
        .into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(role));
    let config = config.build();
    (
        aws_sdk_kms::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
    )
}

async fn operator(accounts: &[SecureQueueAccount]) -> Reconciler {
    reconciler().await.with_accounts(Accounts::of(accounts))
}

#[tokio::test]
async fn two_namespaces_converge_in_their_own_accounts_as_their_accounts_roles() {
    let (shop, catalog) = (unique_namespace("shop"), unique_namespace("catalog"));
    let reconciler = operator(&[
        binding("payments", PAYMENTS, &[&shop]),
        binding("search", SEARCH, &[&catalog]),
    ])
    .await;
    let home = secure_queue(&unique_namespace("home"), "");
    assert_ready(&converge(&reconciler, &home).await, "Created");
    for (namespace, account) in [(&shop, PAYMENTS), (&catalog, SEARCH)] {
        let report = converge(&reconciler, &queue_in(namespace, account)).await;
        assert_ready(&report, "Created");
        let key_arn = report.learned.key_arn.clone().unwrap();
        assert!(key_arn.contains(&format!(":{account}:key/")), "{key_arn}");
        let url = report.learned.queue_url.clone().unwrap();
        assert!(url.contains(&format!("/{account}/")), "{url}");

        // The key policy's operator is the assumed role of that account, never the source role.
        let (kms, _) = raw_as(account).await;
        let policy = key_policy(&kms, &key_arn).await;
        assert!(policy.contains(&target_role(account)), "{policy}");
        assert!(!policy.contains(common::OPERATOR_ROLE), "{policy}");

        // A second pass finds everything in place, with the same session's credentials.
        assert_ready(
            &converge(&reconciler, &queue_in(namespace, account)).await,
            "Converged",
        );
        let sessions = requests_touching(namespace)
            .into_iter()
            .filter(|r| r == "sts:AssumeRole")
            .count();
        assert_eq!(sessions, 1, "one session for the SecureQueue, cached");
    }
    // Budgets are kept per account and region, as AWS counts its quotas.
    let accounts: std::collections::BTreeSet<String> = reconciler
        .budgets()
        .into_iter()
        .map(|(account, region, _)| format!("{account}/{region}"))
        .collect();
    for account in [common::ACCOUNT, PAYMENTS, SEARCH] {
        assert!(
            accounts.contains(&format!("{account}/{REGION}")),
            "{accounts:?}"
        );
    }
}

#[tokio::test]
async fn a_namespace_naming_an_account_it_was_not_given_is_refused_with_no_aws_call() {
    let (shop, intruder) = (unique_namespace("shop"), unique_namespace("intruder"));
    let reconciler = operator(&[binding("payments", PAYMENTS, &[&shop])]).await;
    for (namespace, account) in [(&intruder, PAYMENTS), (&shop, SEARCH)] {
        let report = converge(&reconciler, &queue_in(namespace, account)).await;
        assert_eq!(
            condition(&report, "Ready"),
            ("False", "GuardrailAccount"),
            "{report:#?}"
        );
        assert!(report.needs_a_person());
        let message = &report.ready().unwrap().message;
        assert!(
            message.contains(account) && message.contains(namespace.as_str()),
            "{message}"
        );
        assert_eq!(report.calls.total(), 0, "{:?}", report.calls);
        // Not even STS: no session was asked for.
        assert_eq!(requests_touching(namespace), Vec::<String>::new());
    }
}

#[tokio::test]
async fn removing_a_binding_stalls_its_queues_and_deletes_nothing() {
    let shop = unique_namespace("shop");
    let reconciler = operator(&[binding("payments", PAYMENTS, &[&shop])]).await;
    let queue = queue_in(&shop, PAYMENTS);
    let made = converge(&reconciler, &queue).await;
    assert_ready(&made, "Created");
    let writes = writes_so_far(&shop);

    reconciler.set_accounts(Accounts::default());
    let stalled = converge(&reconciler, &queue).await;
    assert_eq!(condition(&stalled, "Ready"), ("False", "GuardrailAccount"));
    assert_eq!(stalled.calls.total(), 0);
    let deletion = reconciler.delete(&queue, &CallLog::default()).await;
    assert_eq!(deletion.calls.total(), 0, "{deletion:?}");
    let step = &deletion.steps[0];
    assert_eq!(step.reason.as_str(), "GuardrailAccount", "{deletion:?}");
    assert!(
        step.message.contains("nothing was deleted"),
        "{}",
        step.message
    );
    assert_no_writes_since(&shop, writes, "a deletion without the binding");

    // The resources are all still there, in their account.
    let (kms, sqs) = raw_as(PAYMENTS).await;
    let key = kms
        .describe_key()
        .key_id(made.learned.key_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        key.key_metadata.unwrap().key_state,
        Some(aws_sdk_kms::types::KeyState::Enabled)
    );
    assert!(
        queue_url(&sqs, made.learned.queue_name.as_deref().unwrap())
            .await
            .is_some()
    );

    // With the binding back, the deletion goes ahead, and its session is forgotten: a
    // SecureQueue of the same name later starts a session of its own.
    reconciler.set_accounts(Accounts::of(&[binding("payments", PAYMENTS, &[&shop])]));
    let deletion = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(
        deletion
            .steps
            .iter()
            .all(|s| s.reason.as_str() == "Deleted"),
        "{deletion:?}"
    );
    let sessions = || {
        requests_touching(&shop)
            .iter()
            .filter(|r| *r == "sts:AssumeRole")
            .count()
    };
    let before = sessions();
    let _ = converge(&reconciler, &queue).await;
    assert_eq!(sessions(), before + 1, "a new session after the deletion");
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_access_denied_naming_sts_assume_role_and_the_role() {
    let shop = unique_namespace("shop");
    let reconciler = operator(&[binding("payments", PAYMENTS, &[&shop])]).await;
    inject(serde_json::json!({
        "service": "sts", "operation": "AssumeRole", "bodyContains": shop,
        "code": "AccessDenied", "status": 403, "count": 100,
        "message": "not authorized to perform sts:AssumeRole",
    }));
    let report = converge(&reconciler, &queue_in(&shop, PAYMENTS)).await;
    clear_faults(&shop);
    let ready = report.ready().unwrap();
    assert_eq!(ready.reason.as_str(), "AccessDenied", "{report:#?}");
    assert!(
        ready.message.contains("sts:AssumeRole"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains(&target_role(PAYMENTS)),
        "{}",
        ready.message
    );
    assert!(writes_touching(&shop).iter().all(|w| w == "sts:AssumeRole"));
}

/// A clock the test moves: the SDK reads it to sign requests and to tell when credentials
/// expire.
#[derive(Debug, Clone)]
struct PausedClock(Arc<Mutex<SystemTime>>);

impl TimeSource for PausedClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn a_session_that_expires_is_renewed_not_reported_as_an_error() {
    let shop = unique_namespace("shop");
    let clock = PausedClock(Arc::new(Mutex::new(SystemTime::now())));
    let reconciler = reconciler_with(ConnectOptions {
        clock: Some(SharedTimeSource::new(clock.clone())),
        ..ConnectOptions::default()
    })
    .await
    .with_accounts(Accounts::of(&[binding("payments", PAYMENTS, &[&shop])]));
    let queue = queue_in(&shop, PAYMENTS);
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    let assumed = || {
        requests_touching(&shop)
            .into_iter()
            .filter(|r| r == "sts:AssumeRole")
            .count()
    };
    assert_eq!(assumed(), 1);

    // The emulator's sessions last an hour; two hours on, the credentials have expired. The
    // pass renews them and goes on; it is not an error. (Renewed sessions still end an hour
    // after the emulator's own clock, which the paused clock has overtaken, so the SDK renews
    // them again at each call: more than one renewal, never a failure.)
    *clock.0.lock().unwrap() += Duration::from_secs(2 * 3600);
    let renewed = converge(&reconciler, &queue).await;
    assert_ready(&renewed, "Converged");
    assert!(assumed() >= 2, "the expired session was renewed");

    // Without the clock moving, the session is kept: no renewal in a pass.
    *clock.0.lock().unwrap() -= Duration::from_secs(2 * 3600);
    let before = assumed();
    assert_ready(&converge(&reconciler, &queue).await, "Converged");
    assert!(assumed() <= before + 1, "a live session is reused");
}

#[tokio::test]
async fn a_changed_account_moves_nothing() {
    let shop = unique_namespace("shop");
    let reconciler = operator(&[
        binding("payments", PAYMENTS, &[&shop]),
        binding("search", SEARCH, &[&shop]),
    ])
    .await;
    let mut queue = queue_in(&shop, PAYMENTS);
    let made = converge(&reconciler, &queue).await;
    assert_ready(&made, "Created");
    queue.status = Some(securequeue::reconcile::status::of_pass(
        &made,
        Some(1),
        None,
        jiff::Timestamp::now(),
    ));
    queue.spec = queue_in(&shop, SEARCH).spec;
    let seen = requests_touching(&shop).len();
    let refused = converge(&reconciler, &queue).await;
    assert_eq!(
        condition(&refused, "Ready"),
        ("False", "ImmutableFieldChanged")
    );
    assert!(refused.ready().unwrap().message.contains("spec.accountId"));
    assert_eq!(refused.calls.total(), 0);
    assert_eq!(
        requests_touching(&shop).len(),
        seen,
        "not even a session in the new account"
    );
}
