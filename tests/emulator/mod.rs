//! The Rust side of the emulator harness: the operator and raw SDK clients pointed at the moto
//! server that `tests/run.sh` starts, unique namespaces so tests can run in parallel against one
//! emulator, AWS faults scripted through the launcher's `/_securequeue/faults` endpoint, and
//! readers that look at what is really in the emulator. It builds on `common`: a test binary
//! that says `mod emulator;` says `mod common;` too.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region};
use securequeue::api::SecureQueue;
use securequeue::aws::calls::CallLog;
use securequeue::aws::request_quota::QuotaSettings;
use securequeue::aws::{Aws, ConnectOptions};
use securequeue::reconcile::{Reconciler, Report};
use securequeue::resolve::{Environment, TAG_NAMESPACE, key_description_owner};

pub const REGION: &str = "us-east-1";
pub const CONSUMER_ROLE: &str = "arn:aws:iam::111122223333:role/consumer";

/// The emulator's URL, as `tests/run.sh` exports it.
pub fn endpoint() -> String {
    std::env::var("SECUREQUEUE_TEST_AWS_ENDPOINT").expect(
        "SECUREQUEUE_TEST_AWS_ENDPOINT is not set: run the tests with tests/run.sh, which starts the moto emulator",
    )
}

/// The operator's configuration in the tests, in the emulator's [`REGION`].
pub fn env() -> Environment {
    crate::common::env_in(REGION)
}

/// The reconciler, with the real SDK clients pointed at the emulator.
pub async fn reconciler() -> Reconciler {
    reconciler_with(ConnectOptions::default()).await
}

/// A reconciler talking to the emulator with these options besides its endpoint and region.
pub async fn reconciler_with(options: ConnectOptions) -> Reconciler {
    let aws = Aws::connect(&ConnectOptions {
        endpoint_url: Some(endpoint()),
        region: Some(REGION.to_string()),
        ..options
    })
    .await;
    Reconciler::new(aws, env())
}

/// A reconciler talking to the emulator as an operator configured as `env` says.
pub async fn reconciler_for(env: Environment) -> Reconciler {
    let aws = Aws::connect(&ConnectOptions {
        endpoint_url: Some(endpoint()),
        region: env.region.clone(),
        ..ConnectOptions::default()
    })
    .await;
    Reconciler::new(aws, env)
}

/// A reconciler for `region` that keeps to `quotas`, in a region of its own so that the
/// emulator's quotas there count only its requests.
pub async fn reconciler_in(region: &str, quotas: QuotaSettings) -> Reconciler {
    let env = Environment {
        region: Some(region.to_string()),
        ..env()
    };
    let aws = Aws::connect(&ConnectOptions {
        endpoint_url: Some(endpoint()),
        region: env.region.clone(),
        quotas,
        ..ConnectOptions::default()
    })
    .await;
    Reconciler::new(aws, env)
}

/// Plain SDK clients, for looking at and tampering with the emulator behind the operator's back.
pub async fn raw() -> (aws_sdk_kms::Client, aws_sdk_sqs::Client) {
    raw_in(REGION).await
}

/// Plain SDK clients of another region.
pub async fn raw_in(region: &'static str) -> (aws_sdk_kms::Client, aws_sdk_sqs::Client) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new(region))
        .load()
        .await;
    (
        aws_sdk_kms::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
    )
}

/// A namespace no other test (or earlier run against the same emulator) uses.
pub fn unique_namespace(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A SecureQueue `q` in `namespace`, in the test region, with one consumer; `spec` lines are
/// appended to its spec (indent them by two spaces).
pub fn secure_queue(namespace: &str, spec: &str) -> SecureQueue {
    let yaml = format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: q\n  namespace: {namespace}\nspec:\n  region: {REGION}\n  consumerRoleArns: [{CONSUMER_ROLE}]\n{spec}"
    );
    serde_saphyr::from_str(&yaml).expect("test manifests parse")
}

/// One converge pass with its own call log.
pub async fn converge(reconciler: &Reconciler, queue: &SecureQueue) -> Report {
    reconciler.converge(queue, &CallLog::default()).await
}

/// A SecureQueue's key ledger as the controller keeps it, in its status.
pub use securequeue::reconcile::ledger::KeptLedger;

/// One converge pass as the controller makes it, cut off as `log` says: with the status its
/// earlier passes wrote and the ledger's record in it, which it brings up to date after.
pub async fn converge_recorded_with(
    reconciler: &Reconciler,
    queue: &mut SecureQueue,
    ledger: &KeptLedger,
    log: &CallLog,
) -> Report {
    let report = reconciler.converge_recorded(queue, log, ledger).await;
    ledger.after_pass(queue, &report);
    report
}

/// [`converge_recorded_with`] with a call log of its own.
pub async fn converge_recorded(
    reconciler: &Reconciler,
    queue: &mut SecureQueue,
    ledger: &KeptLedger,
) -> Report {
    converge_recorded_with(reconciler, queue, ledger, &CallLog::default()).await
}

/// The condition `type` of a report, as `(status, reason)`.
pub fn condition<'a>(report: &'a Report, condition: &str) -> (&'a str, &'a str) {
    let c = report
        .conditions
        .iter()
        .find(|c| c.condition == condition)
        .unwrap_or_else(|| panic!("no {condition} in {report:#?}"));
    (c.status.as_str(), c.reason.as_str())
}

/// Asserts that a pass left the SecureQueue Ready with the given reason.
pub fn assert_ready(report: &Report, reason: &str) {
    assert!(report.is_ready(), "not ready: {report:#?}");
    assert_eq!(condition(report, "Ready").1, reason, "{report:#?}");
}

/// Makes the next `count` calls of `operation` whose request body contains `body_contains`
/// fail with the AWS error `code` and HTTP `status`.
pub fn inject_fault(operation: &str, code: &str, status: u16, count: u32, body_contains: &str) {
    inject(serde_json::json!({
        "operation": operation,
        "code": code,
        "status": status,
        "count": count,
        "bodyContains": body_contains,
    }));
}

/// One request to the launcher's control endpoints; returns the answer's body.
fn control(method: &str, path: &str, body: &str) -> String {
    control_at(&endpoint(), method, path, body)
}

/// [`control`] of the emulator at `url`.
pub fn control_at(url: &str, method: &str, path: &str, body: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("the emulator listens");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("the control request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("the emulator answers");
    assert!(
        response.contains(" 200 "),
        "{method} {path} refused: {response}"
    );
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// Adds a fault to the emulator's launcher, as `tests/emulator/moto_server.py` describes:
/// errors, slow answers, dropped connections, rate limits.
pub fn inject(fault: serde_json::Value) {
    control("POST", "/_securequeue/faults", &fault.to_string());
}

/// Clears the faults scoped to `body_contains`.
pub fn clear_faults(body_contains: &str) {
    control(
        "DELETE",
        &format!("/_securequeue/faults?bodyContains={body_contains}"),
        "",
    );
}

/// Makes the emulator enforce request quotas in `region` as AWS does: AWS's documented
/// defaults, then `quotas` (`{"kms:CreateKey": 5}`), each counted per operation.
pub fn enforce_quotas(region: &str, quotas: serde_json::Value) {
    let body = serde_json::json!({"region": region, "defaults": true, "quotas": quotas});
    control("POST", "/_securequeue/quotas", &body.to_string());
}

/// Stops enforcing request quotas in `region`.
pub fn stop_enforcing_quotas(region: &str) {
    control(
        "DELETE",
        &format!("/_securequeue/quotas?region={region}"),
        "",
    );
}

/// The requests the emulator allowed and throttled in `region`, by `service:Operation`.
pub fn quota_counts(region: &str) -> BTreeMap<String, (u64, u64)> {
    quota_counts_at(&endpoint(), region)
}

/// [`quota_counts`] of the emulator at `url`.
pub fn quota_counts_at(url: &str, region: &str) -> BTreeMap<String, (u64, u64)> {
    let answer: serde_json::Value =
        serde_json::from_str(&control_at(url, "GET", "/_securequeue/quotas", "")).expect("JSON");
    answer["counts"][region]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(operation, counts)| {
            let count = |name: &str| counts[name].as_u64().unwrap_or_default();
            (operation.clone(), (count("allowed"), count("throttled")))
        })
        .collect()
}

/// Gives an example SecureQueue names of its own: a unique namespace, and any explicit queue
/// name or alias made unique with it, so runs and tests never share AWS names.
pub fn isolate(queue: &mut SecureQueue, prefix: &str) -> String {
    let namespace = unique_namespace(prefix);
    queue.metadata.namespace = Some(namespace.clone());
    let fifo = if queue.spec.fifo { ".fifo" } else { "" };
    queue.spec.queue_name = queue
        .spec
        .queue_name
        .as_ref()
        .map(|name| format!("{namespace}-{}{fifo}", name.trim_end_matches(".fifo")));
    queue.spec.key.alias = queue
        .spec
        .key
        .alias
        .as_ref()
        .map(|_| format!("alias/{namespace}/key"));
    namespace
}

/// Every key in the emulator of the SecureQueues in `namespace`, as (key id, state).
pub async fn keys_of(kms: &aws_sdk_kms::Client, namespace: &str) -> Vec<(String, String)> {
    keys_tagged(kms, |tagged| tagged == namespace)
        .await
        .into_iter()
        .map(|(_, id, state)| (id, state))
        .collect()
}

/// The states of the keys of the SecureQueues in `namespace`, such as `["PendingDeletion"]`.
pub async fn key_states(kms: &aws_sdk_kms::Client, namespace: &str) -> Vec<String> {
    keys_of(kms, namespace)
        .await
        .into_iter()
        .map(|(_, state)| state)
        .collect()
}

/// Every key in the emulator whose namespace passes `keep`: (namespace, key id, state). A key's
/// namespace is its namespace tag or, when it has none, the one its description names, as the
/// operator writes it at CreateKey: a key whose tagging was cut off counts too.
pub async fn keys_tagged(
    kms: &aws_sdk_kms::Client,
    keep: impl Fn(&str) -> bool,
) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let keys: Vec<_> = kms
        .list_keys()
        .limit(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("ListKeys");
    for key in keys {
        let id = key.key_id().expect("key id");
        let tags = kms
            .list_resource_tags()
            .key_id(id)
            .send()
            .await
            .expect("ListResourceTags");
        let tagged = tags
            .tags()
            .iter()
            .find(|t| t.tag_key() == TAG_NAMESPACE)
            .map(|t| t.tag_value().to_string());
        if tagged.as_deref().is_some_and(|namespace| !keep(namespace)) {
            continue;
        }
        let described = kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .expect("DescribeKey");
        let Some(metadata) = described.key_metadata() else {
            continue;
        };
        let Some(namespace) = tagged.or_else(|| {
            key_description_owner(metadata.description().unwrap_or_default())
                .map(|(namespace, _, _)| namespace.to_string())
        }) else {
            continue;
        };
        if keep(&namespace) {
            let state = metadata.key_state().map(|s| s.as_str().to_string());
            found.push((namespace, id.to_string(), state.unwrap_or_default()));
        }
    }
    found
}

/// The key id an alias points at, if the alias exists.
pub async fn alias_target(kms: &aws_sdk_kms::Client, alias: &str) -> Option<String> {
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .ok()
        .and_then(|out| out.key_metadata().map(|m| m.key_id().to_string()))
}

/// The URL of every queue whose name starts with `prefix` (every queue for ""), all pages:
/// ListQueues pages only when MaxResults is given, else it answers at most 1,000.
pub async fn queue_urls(sqs: &aws_sdk_sqs::Client, prefix: &str) -> Vec<String> {
    sqs.list_queues()
        .set_queue_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("ListQueues")
}

/// A key's policy, as the emulator stores it.
pub async fn key_policy(kms: &aws_sdk_kms::Client, key_id: &str) -> String {
    kms.get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
}

/// The URL of a queue, if it exists.
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> Option<String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()
        .and_then(|out| out.queue_url().map(str::to_string))
}

/// Every attribute of a queue.
pub async fn queue_attributes(sqs: &aws_sdk_sqs::Client, url: &str) -> BTreeMap<String, String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect()
}

/// A queue's tags.
pub async fn queue_tags(sqs: &aws_sdk_sqs::Client, url: &str) -> BTreeMap<String, String> {
    sqs.list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .expect("ListQueueTags")
        .tags()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Makes a resource in the emulator by hand, with boto3 (`tests/emulator/hand_made.py`), as a
/// team did before securequeue; returns what the script prints (a queue URL, a key id).
pub fn hand_made(args: &[&str]) -> String {
    let python = std::env::var("SECUREQUEUE_TEST_PYTHON").expect(
        "SECUREQUEUE_TEST_PYTHON is not set: run the tests with tests/run.sh, which starts the moto emulator",
    );
    let out = std::process::Command::new(python)
        .arg(crate::common::repo_path("tests/emulator/hand_made.py"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .output()
        .expect("the emulator's Python runs");
    assert!(
        out.status.success(),
        "hand_made.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One request the emulator recorded.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `service:Operation`.
    pub call: String,
    /// The access key that signed it.
    pub access_key: String,
    /// The STS session that handed out that key (the pod's name, with the chart's web
    /// identity); empty for the static test credentials.
    pub session: String,
    /// When it arrived, in seconds since the epoch.
    pub at: f64,
}

impl Recorded {
    /// Whether it may change something: anything but Get, List and Describe calls.
    pub fn is_write(&self) -> bool {
        let operation = self.call.split_once(':').map_or("", |(_, o)| o);
        !["Get", "List", "Describe"]
            .iter()
            .any(|read| operation.starts_with(read))
    }
}

/// Every request the emulator recorded whose body contains `text`, in the order they came.
pub fn recorded_touching(text: &str) -> Vec<Recorded> {
    recorded_at(&endpoint(), text)
}

/// [`recorded_touching`] of the emulator at `url`.
pub fn recorded_at(url: &str, text: &str) -> Vec<Recorded> {
    let path = format!("/_securequeue/requests?bodyContains={text}");
    let seen: Vec<serde_json::Value> =
        serde_json::from_str(&control_at(url, "GET", &path, "")).expect("JSON");
    seen.iter()
        .map(|r| Recorded {
            call: format!(
                "{}:{}",
                r["service"].as_str().unwrap_or_default(),
                r["operation"].as_str().unwrap_or_default()
            ),
            access_key: r["accessKey"].as_str().unwrap_or_default().to_string(),
            session: r["session"].as_str().unwrap_or_default().to_string(),
            at: r["at"].as_f64().unwrap_or_default(),
        })
        .collect()
}

/// Every request the emulator recorded whose body contains `text`, as `service:Operation`.
pub fn requests_touching(text: &str) -> Vec<String> {
    recorded_touching(text)
        .into_iter()
        .map(|r| r.call)
        .collect()
}

/// The recorded writes whose body contains `text`.
pub fn writes_touching(text: &str) -> Vec<String> {
    recorded_touching(text)
        .into_iter()
        .filter(Recorded::is_write)
        .map(|r| r.call)
        .collect()
}

/// A queue policy letting anybody at all send: the loose policy teams have.
pub const OPEN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AnyoneMaySend","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"QUEUE_ARN"}]}"#;

/// The hand-made queue `<namespace>-orders` with [`OPEN_POLICY`], and `extra` arguments of
/// `hand_made.py queue` (a KMS key, tags); its URL.
pub fn open_queue(namespace: &str, extra: &[&str]) -> String {
    let name = format!("{namespace}-orders");
    let mut args = vec!["queue", name.as_str(), OPEN_POLICY];
    args.extend(extra);
    hand_made(&args)
}

/// How many writes touching `text` the emulator has seen so far.
pub fn writes_so_far(text: &str) -> usize {
    writes_touching(text).len()
}

/// Asserts that no write touching `text` came after the first `mark`; `when` says during what.
pub fn assert_no_writes_since(text: &str, mark: usize, when: &str) {
    let writes = writes_touching(text);
    assert!(
        writes[mark..].is_empty(),
        "{when}: wrote {:?}",
        &writes[mark..]
    );
}

/// `securequeue args` against the emulator, given `stdin`.
pub fn securequeue_cli(args: &[&str], stdin: &str) -> std::process::Output {
    crate::common::cli::output(
        crate::common::cli::command(args)
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_REGION", REGION),
        Some(stdin),
    )
}
