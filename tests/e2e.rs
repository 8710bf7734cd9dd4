//! End to end: the `securequeue run` binary against a real Kubernetes API server (the one
//! `tests/run.sh` builds and starts, or the cluster KUBECONFIG names) and the moto emulator.
//! Each test runs its own operator processes on its own namespaces or label, so tests run in
//! parallel without acting on each other's SecureQueues.

mod common;
mod emulator;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::OPERATOR_ROLE;
use emulator::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, CustomResourceExt};
use securequeue::api::{SecureQueue, SecureQueueAccount};
use securequeue::plan;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);

/// An operator process, killed when dropped; its log is kept under target/e2e/.
struct Operator {
    child: Child,
    http: u16,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn operator(name: &str, args: &[&str]) -> Operator {
    operator_on(None, name, args)
}

/// An operator on the cluster `kubeconfig` names, or on the one KUBECONFIG names.
fn operator_on(kubeconfig: Option<&str>, name: &str, args: &[&str]) -> Operator {
    operator_with(kubeconfig, name, args, &[])
}

/// [`operator_on`], with `env` set for the process.
fn operator_with(
    kubeconfig: Option<&str>,
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Operator {
    let logs = common::repo_path("target/e2e");
    std::fs::create_dir_all(&logs).unwrap();
    let log = std::fs::File::create(logs.join(format!("{name}.log"))).unwrap();
    let http = common::free_port();
    let mut command = Command::new(common::cli::BIN);
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    let child = command
        .arg("run")
        .args(["--http-address", &format!("127.0.0.1:{http}")])
        .args(["--cluster-id", "e2e", "--resync-seconds", "600"])
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", REGION)
        .env("SECUREQUEUE_OPERATOR_ROLE_ARN", OPERATOR_ROLE)
        .env("RUST_LOG", "warn,securequeue=debug")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Operator { child, http }
}

/// The operator's `/metrics`, or empty while it does not answer.
async fn metrics(op: &Operator) -> String {
    let port = op.http;
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return String::new();
        };
        let _ = write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
    .await
    .unwrap()
}

fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The "reconciled" lines operator `operator` logged for one SecureQueue, oldest first.
fn passes_logged(operator: &str, namespace: &str, name: &str) -> Vec<String> {
    let log = common::repo_path(&format!("target/e2e/{operator}.log"));
    let subject = format!("reconcile{{namespace={namespace} name={name} generation=");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&subject) && l.contains(" reconciled "))
        .map(str::to_string)
        .collect()
}

async fn setup() -> Client {
    common::cluster::with_crds().await
}

async fn namespace(client: &Client, prefix: &str) -> String {
    let name = unique_namespace(prefix);
    common::cluster::create_namespace(client, &name).await;
    name
}

fn sq(namespace: &str, name: &str, spec: &str, labels: &str) -> SecureQueue {
    serde_saphyr::from_str(&format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {{{labels}}}\nspec:\n  region: {REGION}\n  consumerRoleArns: [{CONSUMER_ROLE}]\n{spec}"
    ))
    .unwrap()
}

async fn create(client: &Client, queue: &SecureQueue) -> Api<SecureQueue> {
    let api: Api<SecureQueue> =
        Api::namespaced(client.clone(), queue.metadata.namespace.as_deref().unwrap());
    api.create(&PostParams::default(), queue).await.unwrap();
    api
}

fn condition<'a>(queue: &'a SecureQueue, kind: &str) -> Option<(&'a str, &'a str)> {
    queue
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.as_str(), c.reason.as_str()))
}

/// Polls until `check` holds, failing with the last state seen.
async fn wait_for(
    api: &Api<SecureQueue>,
    name: &str,
    what: &str,
    check: impl Fn(&SecureQueue) -> bool,
) -> SecureQueue {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let current = api.get_opt(name).await.unwrap();
        if let Some(queue) = &current
            && check(queue)
        {
            return queue.clone();
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{name}: not {what} within {WAIT:?}: {:#?}",
                current.map(|q| q.status)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_ready(api: &Api<SecureQueue>, name: &str, generation: i64) -> SecureQueue {
    wait_for(api, name, "Ready", |q| {
        condition(q, "Ready").map(|c| c.0) == Some("True")
            && q.status.as_ref().and_then(|s| s.observed_generation) == Some(generation)
    })
    .await
}

async fn wait_stalled(api: &Api<SecureQueue>, name: &str) -> SecureQueue {
    wait_for(api, name, "Stalled", |q| condition(q, "Stalled").is_some()).await
}

async fn wait_gone(api: &Api<SecureQueue>, name: &str) {
    eventually(&format!("{name} released"), || async {
        api.get_opt(name).await.unwrap().is_none()
    })
    .await;
}

/// Polls `check` until it holds, failing with `what` after WAIT.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Events about one SecureQueue, as (type, reason, note).
async fn events(client: &Client, namespace: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect()
}

async fn request_reconcile(api: &Api<SecureQueue>, name: &str) -> String {
    let stamp = jiff::Timestamp::now().to_string();
    let patched = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"securequeue.io/reconcile-requested-at": stamp}}})),
        )
        .await
        .unwrap();
    patched.metadata.resource_version.unwrap()
}

#[tokio::test]
async fn every_example_becomes_ready_and_a_resync_writes_nothing() {
    let client = setup().await;
    let run = unique_namespace("examples");
    let op = operator(
        "examples",
        &[
            "--no-leader-election",
            "--label-selector",
            &format!("e2e={run}"),
        ],
    );
    let mut created = Vec::new();
    for mut queue in common::examples::queues() {
        let prefix = queue.metadata.namespace.clone().unwrap();
        let ns = isolate(&mut queue, &prefix);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(ns.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        queue.metadata.labels = Some(BTreeMap::from([("e2e".to_string(), run.clone())]));
        let api = create(&client, &queue).await;
        created.push((api, queue));
    }
    for (api, queue) in &created {
        let name = queue.metadata.name.as_deref().unwrap();
        let ready = wait_ready(api, name, 1).await;
        let status = ready.status.as_ref().unwrap();
        assert!(
            status.key_arn.is_some() && status.queue_url.is_some(),
            "{status:#?}"
        );
        assert_eq!(
            ready.metadata.finalizers.as_deref(),
            Some(&["securequeue.io/cleanup".to_string()][..])
        );
    }

    // A requested reconcile of a converged SecureQueue reads AWS and writes nothing back. The
    // first one after creation turns the reasons from Created to Converged: wait for that on
    // this SecureQueue itself, as the shared metrics also count the other examples' passes.
    // The second must not write at all: the passes the log shows for it wrote nothing.
    let (api, queue) = &created[0];
    let name = queue.metadata.name.as_deref().unwrap();
    let namespace = queue.metadata.namespace.as_deref().unwrap();
    request_reconcile(api, name).await;
    wait_for(api, name, "Converged", |q| {
        condition(q, "Ready") == Some(("True", "Converged"))
    })
    .await;
    let before = passes_logged("examples", namespace, name);
    let version = request_reconcile(api, name).await;
    eventually("reconciled after the annotation", || async {
        passes_logged("examples", namespace, name).len() > before.len()
    })
    .await;
    let after = api.get(name).await.unwrap();
    let passes = passes_logged("examples", namespace, name);
    assert!(
        passes[before.len()..]
            .iter()
            .all(|p| p.contains("status_written=false")),
        "{passes:#?}"
    );
    assert_eq!(
        after.metadata.resource_version.as_deref(),
        Some(version.as_str()),
        "the status was rewritten"
    );
    assert_eq!(condition(&after, "Ready"), Some(("True", "Converged")));
    let text = metrics(&op).await;
    assert!(
        text.contains(
            "securequeue_aws_calls_total{service=\"kms\",operation=\"DescribeKey\",outcome=\"ok\"}"
        ),
        "{text}"
    );
    assert!(metric(&text, "securequeue_secure_queues{ready=\"True\"}") >= created.len() as u64);
}

#[tokio::test]
async fn spec_changes_and_drift_are_converged_with_events() {
    let client = setup().await;
    let ns = namespace(&client, "change").await;
    let _op = operator("change", &["--no-leader-election", "--namespace", &ns]);
    let queue = sq(&ns, "orders", "", "");
    let api = create(&client, &queue).await;
    wait_ready(&api, "orders", 1).await;

    api.patch(
        "orders",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"queue": {"visibilityTimeoutSeconds": 120}}})),
    )
    .await
    .unwrap();
    let changed = wait_ready(&api, "orders", 2).await;
    assert_eq!(
        condition(&changed, "QueueReady"),
        Some(("True", "DriftCorrected"))
    );
    let (_, sqs) = raw().await;
    let plan = plan::build(&changed, &env()).unwrap();
    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    assert_eq!(
        queue_attributes(&sqs, &url).await["VisibilityTimeout"],
        "120"
    );

    // Someone opens the queue policy; a requested reconcile puts it back and says so.
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    request_reconcile(&api, "orders").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = events(&client, &ns, "orders").await;
        if seen
            .iter()
            .any(|(_, reason, note)| reason == "DriftCorrected" && note.contains("Policy"))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no DriftCorrected Event: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let policy = queue_attributes(&sqs, &url).await["Policy"].clone();
    assert!(
        !policy.contains("\"Principal\":\"*\",\"Action\":\"sqs:*\""),
        "{policy}"
    );
    assert!(
        events(&client, &ns, "orders")
            .await
            .iter()
            .any(|(_, r, _)| r == "Created")
    );
}

#[tokio::test]
async fn deletion_honours_both_policies_through_the_finalizer() {
    let client = setup().await;
    let (kms, sqs) = raw().await;
    let ns = namespace(&client, "delete").await;
    let _op = operator("delete", &["--no-leader-election", "--namespace", &ns]);
    let doomed = sq(&ns, "doomed", "  deletionPolicy: Delete\n", "");
    let kept = sq(&ns, "kept", "  deletionPolicy: Retain\n", "");
    let api = create(&client, &doomed).await;
    create(&client, &kept).await;
    let doomed = wait_ready(&api, "doomed", 1).await;
    let kept = wait_ready(&api, "kept", 1).await;
    let doomed_plan = plan::build(&doomed, &env()).unwrap();
    let kept_plan = plan::build(&kept, &env()).unwrap();

    for name in ["doomed", "kept"] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
        wait_gone(&api, name).await;
    }
    assert!(queue_url(&sqs, &doomed_plan.queue.name).await.is_none());
    assert!(
        queue_url(&sqs, &doomed_plan.dead_letter_queue.name)
            .await
            .is_none()
    );
    assert!(alias_target(&kms, &doomed_plan.key.alias).await.is_none());
    assert!(queue_url(&sqs, &kept_plan.queue.name).await.is_some());
    assert!(alias_target(&kms, &kept_plan.key.alias).await.is_some());
    let states = key_states(&kms, &ns).await;
    assert_eq!(
        states.iter().filter(|s| *s == "PendingDeletion").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| *s == "Enabled").count(),
        1,
        "{states:?}"
    );
}

#[tokio::test]
async fn a_failing_deletion_keeps_the_finalizer_and_says_why() {
    let client = setup().await;
    let ns = namespace(&client, "stuck").await;
    let _op = operator("stuck", &["--no-leader-election", "--namespace", &ns]);
    let api = create(
        &client,
        &sq(&ns, "orders", "  deletionPolicy: Delete\n", ""),
    )
    .await;
    wait_ready(&api, "orders", 1).await;
    inject_fault(
        "DeleteQueue",
        "AWS.SimpleQueueService.AccessDenied",
        403,
        1000,
        &format!("{ns}-orders"),
    );
    api.delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    let stuck = wait_for(&api, "orders", "reporting the failed deletion", |q| {
        condition(q, "Ready") == Some(("False", "AccessDenied"))
    })
    .await;
    assert!(stuck.metadata.deletion_timestamp.is_some());
    clear_faults(&format!("{ns}-orders"));
    wait_gone(&api, "orders").await;
}

#[tokio::test]
async fn a_guardrail_violation_is_stalled_and_creates_nothing() {
    let client = setup().await;
    let (kms, _) = raw().await;
    let ns = namespace(&client, "guardrail").await;
    let _op = operator(
        "guardrail",
        &[
            "--no-leader-election",
            "--namespace",
            &ns,
            "--allow-cross-account",
            "--allowed-account-ids",
            "444455556666",
        ],
    );
    let api = create(
        &client,
        &sq(
            &ns,
            "orders",
            "  producers: {roleArns: [arn:aws:iam::999988887777:role/p]}\n",
            "",
        ),
    )
    .await;
    let stalled = wait_stalled(&api, "orders").await;
    assert_eq!(
        condition(&stalled, "Stalled"),
        Some(("True", "GuardrailAllowedAccounts"))
    );
    assert_eq!(
        condition(&stalled, "Ready"),
        Some(("False", "GuardrailAllowedAccounts"))
    );
    assert!(keys_of(&kms, &ns).await.is_empty());
}

#[tokio::test]
async fn a_queue_name_taken_by_another_namespace_is_a_stalled_name_conflict() {
    let client = setup().await;
    let run = unique_namespace("conflict");
    let first = namespace(&client, "first").await;
    let second = namespace(&client, "second").await;
    let _op = operator(
        "conflict",
        &[
            "--no-leader-election",
            "--label-selector",
            &format!("e2e={run}"),
        ],
    );
    let shared = unique_namespace("shared");
    let owner = create(
        &client,
        &sq(
            &first,
            "q",
            &format!("  queueName: {shared}\n"),
            &format!("e2e: {run}"),
        ),
    )
    .await;
    wait_ready(&owner, "q", 1).await;
    let thief = create(
        &client,
        &sq(
            &second,
            "q",
            &format!("  queueName: {shared}\n"),
            &format!("e2e: {run}"),
        ),
    )
    .await;
    let refused = wait_stalled(&thief, "q").await;
    assert_eq!(
        condition(&refused, "QueueReady"),
        Some(("False", "NameConflict"))
    );
    let (_, sqs) = raw().await;
    let url = queue_url(&sqs, &shared).await.unwrap();
    assert_eq!(
        queue_tags(&sqs, &url).await["securequeue.io/namespace"],
        first
    );
}

#[tokio::test]
async fn of_two_replicas_only_the_leader_acts_and_the_other_takes_over() {
    let client = setup().await;
    let ns = namespace(&client, "leader").await;
    let args = [
        "--namespace",
        &ns,
        "--lease-namespace",
        &ns,
        "--lease-seconds",
        "3",
    ];
    let a = operator("leader-a", &[&args[..], &["--pod-name", "a"]].concat());
    let b = operator("leader-b", &[&args[..], &["--pod-name", "b"]].concat());
    let api = create(&client, &sq(&ns, "orders", "", "")).await;
    wait_ready(&api, "orders", 1).await;

    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let holder = leases
        .get("securequeue-operator")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    let (leader, follower) = if holder == "a" { (a, b) } else { (b, a) };
    // The status is written before the reconcile that wrote it is counted.
    eventually("a reconcile counted by the leader", || async {
        metric(&metrics(&leader).await, "securequeue_reconciles_total") > 0
    })
    .await;
    assert_eq!(
        metric(&metrics(&follower).await, "securequeue_reconciles_total"),
        0,
        "the follower acted"
    );

    // The leader goes away; the follower takes the Lease and picks up a change.
    drop(leader);
    api.patch(
        "orders",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"queue": {"delaySeconds": 5}}})),
    )
    .await
    .unwrap();
    wait_ready(&api, "orders", 2).await;
    let new_holder = leases
        .get("securequeue-operator")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    assert_ne!(new_holder, holder);
}

#[tokio::test]
async fn an_operator_killed_mid_converge_finishes_after_a_restart() {
    let client = setup().await;
    let (kms, _) = raw().await;
    let ns = namespace(&client, "restart").await;
    // The dead-letter queue cannot be created yet, so the converge stops after the key.
    inject_fault(
        "CreateQueue",
        "InternalError",
        500,
        10_000,
        &format!("{ns}-orders-dlq"),
    );
    let op = operator("restart-1", &["--no-leader-election", "--namespace", &ns]);
    let api = create(&client, &sq(&ns, "orders", "", "")).await;
    wait_for(&api, "orders", "Reconciling", |q| {
        condition(q, "Reconciling").is_some()
    })
    .await;
    assert_eq!(keys_of(&kms, &ns).await.len(), 1);
    drop(op);
    clear_faults(&format!("{ns}-orders-dlq"));
    let _op = operator("restart-2", &["--no-leader-election", "--namespace", &ns]);
    let ready = wait_ready(&api, "orders", 1).await;
    assert!(
        condition(&ready, "Reconciling").is_none(),
        "{:#?}",
        ready.status
    );
    assert_eq!(
        keys_of(&kms, &ns).await.len(),
        1,
        "exactly one key after the restart"
    );
}

#[tokio::test]
async fn sigterm_stops_the_operator_cleanly_and_releases_the_lease() {
    let client = setup().await;
    let ns = namespace(&client, "sigterm").await;
    let mut op = operator(
        "sigterm",
        &[
            "--namespace",
            &ns,
            "--lease-namespace",
            &ns,
            "--lease-seconds",
            "15",
        ],
    );
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let holder = |lease: Option<Lease>| lease.and_then(|l| l.spec?.holder_identity);
    eventually("the Lease taken", || async {
        holder(leases.get_opt("securequeue-operator").await.unwrap()).is_some()
    })
    .await;
    let pid = op.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = op.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the operator ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    assert_eq!(
        holder(leases.get_opt("securequeue-operator").await.unwrap()),
        None,
        "the Lease was kept"
    );
}

#[tokio::test]
async fn a_changed_spec_region_is_stalled_without_cel_and_nothing_moves() {
    let client = setup().await;
    let ns = namespace(&client, "region").await;
    let _op = operator("region", &["--no-leader-election", "--namespace", &ns]);
    let api = create(
        &client,
        &sq(&ns, "orders", "  deletionPolicy: Delete\n", ""),
    )
    .await;
    wait_ready(&api, "orders", 1).await;
    let move_to = |region: &str| Patch::Merge(json!({"spec": {"region": region}}));
    if let Err(refused) = api
        .patch("orders", &PatchParams::default(), &move_to("eu-west-1"))
        .await
    {
        // A server that runs the CRD's CEL rules refuses the edit itself.
        assert!(
            refused.to_string().contains("region is immutable"),
            "{refused}"
        );
        return;
    }
    let stalled = wait_for(&api, "orders", "refusing the new region", |q| {
        condition(q, "Stalled") == Some(("True", "ImmutableFieldChanged"))
            && q.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    let ready = &stalled.status.as_ref().unwrap().conditions;
    let message = &ready.iter().find(|c| c.type_ == "Ready").unwrap().message;
    assert!(message.contains("spec.region"), "{message}");
    let (kms_elsewhere, _) = raw_in("eu-west-1").await;
    assert!(keys_of(&kms_elsewhere, &ns).await.is_empty());

    // Deleting by the moved spec would delete nothing and release the real resources: the
    // finalizer stays until the region is put back, and then the deletion goes through.
    api.delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(
        &api,
        "orders",
        "refusing to delete by the moved spec",
        |q| {
            q.metadata.deletion_timestamp.is_some()
                && condition(q, "Ready") == Some(("False", "ImmutableFieldChanged"))
        },
    )
    .await;
    api.patch("orders", &PatchParams::default(), &move_to(REGION))
        .await
        .unwrap();
    wait_gone(&api, "orders").await;
    let (kms, sqs) = raw().await;
    assert!(queue_url(&sqs, &format!("{ns}-orders")).await.is_none());
    let states = key_states(&kms, &ns).await;
    assert_eq!(states, ["PendingDeletion"]);
}

#[tokio::test]
async fn a_new_operator_region_leaves_every_secure_queue_where_it_is() {
    let client = setup().await;
    let ns = namespace(&client, "operator-region").await;
    let regionless = |name: &str| {
        let mut queue = sq(&ns, name, "", "");
        queue.spec.region = None;
        queue
    };
    let before = operator(
        "operator-region-1",
        &["--no-leader-election", "--namespace", &ns],
    );
    let api = create(&client, &regionless("orders")).await;
    let made = wait_ready(&api, "orders", 1).await;
    let queue_arn = made.status.unwrap().queue_arn.unwrap();
    assert!(
        queue_arn.starts_with(&format!("arn:aws:sqs:{REGION}:")),
        "{queue_arn}"
    );
    drop(before);

    // The platform team moves the operator to another region (the chart's aws.region).
    let _after = operator(
        "operator-region-2",
        &[
            "--no-leader-election",
            "--namespace",
            &ns,
            "--region",
            "eu-west-1",
        ],
    );
    request_reconcile(&api, "orders").await;
    let kept = wait_for(&api, "orders", "kept in its region", |q| {
        q.status.as_ref().is_some_and(|s| {
            s.conditions.iter().any(|c| {
                c.type_ == "Ready"
                    && c.status == "True"
                    && c.message.contains("where status.identity records them")
            })
        })
    })
    .await;
    assert_eq!(kept.status.unwrap().queue_arn.unwrap(), queue_arn);
    let (kms_elsewhere, _) = raw_in("eu-west-1").await;
    assert!(keys_of(&kms_elsewhere, &ns).await.is_empty());

    // A new SecureQueue goes to the operator's new region.
    create(&client, &regionless("fresh")).await;
    let fresh = wait_ready(&api, "fresh", 1).await;
    let fresh_arn = fresh.status.unwrap().queue_arn.unwrap();
    assert!(
        fresh_arn.starts_with("arn:aws:sqs:eu-west-1:"),
        "{fresh_arn}"
    );
    assert_eq!(keys_of(&kms_elsewhere, &ns).await.len(), 1);
}

/// The newest API server `tests/run.sh` started beside the 1.20 one (the v1.36 test server,
/// which serves custom resources alone), or the cluster KUBECONFIG names.
fn modern_kubeconfig() -> String {
    let servers = std::env::var("SECUREQUEUE_CRD_SERVERS")
        .expect("SECUREQUEUE_CRD_SERVERS is not set: run the tests with tests/run.sh");
    servers
        .split_whitespace()
        .filter_map(|entry| entry.split_once('='))
        .next_back()
        .map(|(_, kubeconfig)| kubeconfig.to_string())
        .expect("SECUREQUEUE_CRD_SERVERS names a server")
}

#[tokio::test]
async fn on_a_modern_server_the_operator_applies_status_and_streams_its_watch() {
    let kubeconfig = modern_kubeconfig();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let client = Client::try_from(config).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "securequeues.securequeue.io",
        &PatchParams::apply("securequeue-tests").force(),
        &Patch::Apply(SecureQueue::crd()),
    )
    .await
    .unwrap();
    // The v1.36 test server takes custom resources in any namespace; a full cluster needs one.
    let ns = unique_namespace("modern");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces
        .list(&ListParams::default().limit(1))
        .await
        .is_ok()
    {
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(ns.clone());
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
    }
    let op = operator_on(
        Some(&kubeconfig),
        "modern",
        &["--no-leader-election", "--namespace", &ns],
    );
    let api: Api<SecureQueue> = Api::namespaced(client.clone(), &ns);
    eventually("the CRD served", || async {
        api.list(&ListParams::default()).await.is_ok()
    })
    .await;
    api.create(
        &PostParams::default(),
        &sq(&ns, "orders", "  deletionPolicy: Delete\n", ""),
    )
    .await
    .unwrap();
    let ready = wait_ready(&api, "orders", 1).await;
    assert_eq!(
        ready.metadata.finalizers.as_deref(),
        Some(&["securequeue.io/cleanup".to_string()][..])
    );
    let status_manager = ready
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|m| m.subresource.as_deref() == Some("status"))
        .map(|m| (m.manager.clone(), m.operation.clone()));
    assert_eq!(
        status_manager,
        Some((Some("securequeue".to_string()), Some("Apply".to_string())))
    );
    // The key ledger recorded the CreateKey under its own manager, and removed the record once
    // the alias named the key: a later pass has nothing to search for.
    let status = ready.status.as_ref().unwrap();
    assert_eq!(status.key_creation, None, "{status:#?}");
    assert!(
        status
            .identity
            .as_ref()
            .and_then(|i| i.key_id.as_ref())
            .is_some()
    );
    let log = std::fs::read_to_string(common::repo_path("target/e2e/modern.log")).unwrap();
    assert!(log.contains("streaming_lists=true"), "{log}");

    let ready_count = "securequeue_reconciles_total{result=\"ready\"}";
    let before = metric(&metrics(&op).await, ready_count);
    request_reconcile(&api, "orders").await;
    eventually("reconciled after the annotation", || async {
        metric(&metrics(&op).await, ready_count) > before
    })
    .await;

    api.delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    wait_gone(&api, "orders").await;
    let (_, sqs) = raw().await;
    assert!(queue_url(&sqs, &format!("{ns}-orders")).await.is_none());
}

#[tokio::test]
async fn an_observed_queue_reports_its_findings_and_nothing_is_written() {
    let client = setup().await;
    let ns = namespace(&client, "observe").await;
    let url = open_queue(&ns, &[]);
    let mark = writes_so_far(&ns);
    let _op = operator("observe", &["--no-leader-election", "--namespace", &ns]);
    let spec = format!("  queueName: {ns}-orders\n  management: Observe\n");
    let api = create(&client, &sq(&ns, "q", &spec, "")).await;
    let observed = wait_for(&api, "q", "observed", |q| {
        condition(q, "Ready") == Some(("False", "AccessFindings"))
    })
    .await;
    let ready = observed
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready");
    assert!(
        ready.unwrap().message.contains("* can sqs:SendMessage"),
        "{ready:?}"
    );
    let findings = &observed.status.as_ref().unwrap().findings;
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("* can sqs:SendMessage")),
        "{findings:#?}"
    );
    api.delete("q", &DeleteParams::default()).await.unwrap();
    wait_gone(&api, "q").await;
    assert_no_writes_since(&ns, mark, "observing");
    let (_, sqs) = raw().await;
    assert!(queue_attributes(&sqs, &url).await["Policy"].contains("AnyoneMaySend"));
}

#[tokio::test]
async fn an_adopted_queue_is_recorded_warned_about_then_managed() {
    let client = setup().await;
    let ns = namespace(&client, "adopt").await;
    let url = open_queue(&ns, &[]);
    let _op = operator("adopt", &["--no-leader-election", "--namespace", &ns]);
    let spec = format!("  queueName: {ns}-orders\n  management: Adopt\n");
    let api = create(&client, &sq(&ns, "q", &spec, "")).await;
    let adopted = wait_ready(&api, "q", 1).await;
    let record = adopted
        .status
        .as_ref()
        .unwrap()
        .adoption
        .clone()
        .expect("status.adoption");
    let queue_arn = format!("arn:aws:sqs:us-east-1:111122223333:{ns}-orders");
    assert_eq!(record.resources, std::slice::from_ref(&queue_arn));
    let lost = format!("* loses sqs:SendMessage on {queue_arn}");
    assert!(record.access_lost.contains(&lost), "{record:#?}");
    let warned = events(&client, &ns, "q")
        .await
        .into_iter()
        .any(|(kind, reason, note)| {
            kind == "Warning" && reason == "AdoptionPending" && note.contains(&lost)
        });
    assert!(warned, "{:#?}", events(&client, &ns, "q").await);
    let (_, sqs) = raw().await;
    assert!(!queue_attributes(&sqs, &url).await["Policy"].contains("AnyoneMaySend"));
    assert_eq!(queue_tags(&sqs, &url).await["securequeue.io/namespace"], ns);
}

/// A SecureQueueAccount `name` binding `account` to `namespace`, its role that account's.
async fn bind(client: &Client, name: &str, account: &str, namespace: &str) {
    let binding: SecureQueueAccount = serde_json::from_value(json!({
        "apiVersion": "securequeue.io/v1alpha1",
        "kind": "SecureQueueAccount",
        "metadata": {"name": name},
        "spec": {
            "accountId": account,
            "roleArn": format!("arn:aws:iam::{account}:role/securequeue-target"),
            "namespaces": [namespace],
        },
    }))
    .unwrap();
    let api: Api<SecureQueueAccount> = Api::all(client.clone());
    api.create(&PostParams::default(), &binding).await.unwrap();
}

#[tokio::test]
async fn one_operator_works_in_two_accounts_for_two_namespaces_and_a_removed_binding_stalls() {
    const ACCOUNTS: [&str; 2] = ["222233334444", "333344445555"];
    let client = setup().await;
    let shop = namespace(&client, "accounts-shop").await;
    let search = namespace(&client, "accounts-search").await;
    let label = format!("e2e-accounts={shop}");
    let bindings = [format!("{shop}-payments"), format!("{search}-search")];
    for ((binding, account), ns) in bindings.iter().zip(ACCOUNTS).zip([&shop, &search]) {
        bind(&client, binding, account, ns).await;
    }
    let _op = operator(
        "accounts",
        &[
            "--no-leader-election",
            "--allow-cross-account",
            "--label-selector",
            &label,
        ],
    );
    let labels = format!("e2e-accounts: {shop}");
    let named = |ns: &str, name: &str, account: &str| {
        sq(ns, name, &format!("  accountId: \"{account}\"\n"), &labels)
    };
    for (ns, account) in [(&shop, ACCOUNTS[0]), (&search, ACCOUNTS[1])] {
        let api = create(&client, &named(ns, "orders", account)).await;
        let ready = wait_ready(&api, "orders", 1).await;
        let status = ready.status.unwrap();
        assert_eq!(status.identity.unwrap().account_id, account);
        let key = status.key_arn.unwrap();
        assert!(key.contains(&format!(":{account}:key/")), "{key}");
    }

    // The shop namespace was not given the search account.
    let shop_api = create(&client, &named(&shop, "intruder", ACCOUNTS[1])).await;
    let refused = wait_stalled(&shop_api, "intruder").await;
    assert_eq!(
        condition(&refused, "Ready"),
        Some(("False", "GuardrailAccount"))
    );
    assert!(refused.status.unwrap().key_arn.is_none());

    // Removing a binding stalls its SecureQueue at once, without a change to it.
    let accounts: Api<SecureQueueAccount> = Api::all(client.clone());
    accounts
        .delete(&bindings[1], &DeleteParams::default())
        .await
        .unwrap();
    let search_api: Api<SecureQueue> = Api::namespaced(client.clone(), &search);
    let stalled = wait_stalled(&search_api, "orders").await;
    assert_eq!(
        condition(&stalled, "Stalled"),
        Some(("True", "GuardrailAccount"))
    );
    let status = stalled.status.unwrap();
    assert!(status.key_arn.is_some(), "what it made stays recorded");
    accounts
        .delete(&bindings[0], &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_namespace_given_an_account_by_its_labels_gets_it_when_labelled() {
    let client = setup().await;
    let team = namespace(&client, "accounts-team").await;
    let binding = format!("{team}-by-label");
    let accounts: Api<SecureQueueAccount> = Api::all(client.clone());
    let selected: SecureQueueAccount = serde_json::from_value(json!({
        "apiVersion": "securequeue.io/v1alpha1",
        "kind": "SecureQueueAccount",
        "metadata": {"name": binding},
        "spec": {
            "accountId": "444455556666",
            "roleArn": "arn:aws:iam::444455556666:role/securequeue-target",
            "namespaceSelector": {"matchLabels": {"e2e-team": team}},
        },
    }))
    .unwrap();
    accounts
        .create(&PostParams::default(), &selected)
        .await
        .unwrap();
    let _op = operator(
        "accounts-label",
        &[
            "--no-leader-election",
            "--allow-cross-account",
            "--namespace",
            &team,
        ],
    );
    let api = create(
        &client,
        &sq(&team, "orders", "  accountId: \"444455556666\"\n", ""),
    )
    .await;
    let refused = wait_stalled(&api, "orders").await;
    assert_eq!(
        condition(&refused, "Ready"),
        Some(("False", "GuardrailAccount"))
    );

    // Labelling the namespace binds it: the operator sees the label and converges.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            &team,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"e2e-team": team}}})),
        )
        .await
        .unwrap();
    let ready = wait_ready(&api, "orders", 1).await;
    let key = ready.status.unwrap().key_arn.unwrap();
    assert!(key.contains(":444455556666:key/"), "{key}");
    accounts
        .delete(&binding, &DeleteParams::default())
        .await
        .unwrap();
}

/// How the leader loses its leadership in [`failover_mid_wave`].
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// Frozen with SIGSTOP (a long pause, a stalled node), resumed with SIGCONT after the other
    /// replica took over.
    Frozen,
    /// Its connections to the API server cut (a partition): it cannot renew, but runs on.
    Cut,
}

/// A TCP relay to the API server whose connections can all be cut at once.
struct Relay {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    /// Relays 127.0.0.1:<port> to `server`.
    async fn to(server: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, cut_seen) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut_seen = cut_seen.clone();
                if *cut_seen.borrow() {
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(server).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_seen.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { port, cut }
    }

    /// Closes every relayed connection and refuses new ones.
    fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// A kubeconfig like KUBECONFIG's, reaching its server through this relay.
    fn kubeconfig(&self, name: &str) -> String {
        let given = std::env::var("KUBECONFIG").expect("KUBECONFIG names the test cluster");
        let text = std::fs::read_to_string(&given).unwrap();
        let server = relayed_server(&text);
        let relayed = text.replace(
            &format!("https://{server}"),
            &format!("https://127.0.0.1:{}", self.port),
        );
        let dir = common::repo_path("target/e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.kubeconfig"));
        std::fs::write(&path, relayed).unwrap();
        path.to_string_lossy().into_owned()
    }
}

/// The `host:port` of the first `https://` server a kubeconfig names.
fn relayed_server(kubeconfig: &str) -> String {
    let (_, rest) = kubeconfig
        .split_once("https://")
        .expect("a kubeconfig with an https server");
    rest.chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ',' | '}' | '/') && !c.is_whitespace())
        .collect()
}

/// Two replicas with the Lease at 6 s, each signing with its own access key so the emulator's
/// log tells them apart, twenty new SecureQueues with CreateKey held to 2 a second, and the
/// leader losing its leadership once its first write of the wave has landed. The other replica
/// takes the Lease and brings all twenty to Ready; the old leader, once it runs (or reaches the API server) again,
/// has sent no write after the takeover, and stops. Every SecureQueue has exactly one enabled
/// key behind its alias and two queues.
async fn failover_mid_wave(loss: Loss) {
    let client = setup().await;
    let ns = namespace(&client, &format!("{loss:?}").to_lowercase()).await;
    let relay = Relay::to(
        relayed_server(&std::fs::read_to_string(std::env::var("KUBECONFIG").unwrap()).unwrap())
            .parse()
            .unwrap(),
    )
    .await;
    let args = [
        "--namespace",
        &ns,
        "--lease-namespace",
        &ns,
        "--lease-seconds",
        "6",
        "--aws-quota-share",
        "1",
        "--aws-quota",
        "kms:CreateKey=2",
    ];
    let kubeconfig = relay.kubeconfig(&ns);
    let start = |id: &'static str, kubeconfig: Option<&str>| {
        let name = format!("{ns}-{id}");
        let key = format!("replica-{id}");
        let args = [&args[..], &["--pod-name", id]].concat();
        operator_with(kubeconfig, &name, &args, &[("AWS_ACCESS_KEY_ID", &key)])
    };
    // The first replica reaches the API server through the relay, and leads.
    let mut leader = start("a", Some(&kubeconfig));
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let lease = || async {
        leases
            .get_opt("securequeue-operator")
            .await
            .unwrap()
            .and_then(|l| l.spec)
            .unwrap_or_default()
    };
    eventually("replica a leads", || async {
        lease().await.holder_identity.as_deref() == Some("a")
    })
    .await;
    let _follower = start("b", None);

    // Ten seconds of CreateKeys at two a second: longer than the Lease, so a leader that is cut
    // off but runs on would still be creating keys when the other takes over.
    let names: Vec<String> = (0..20).map(|i| format!("q{i}")).collect();
    let mut api = None;
    for name in &names {
        api = Some(create(&client, &sq(&ns, name, "", "")).await);
    }
    let api = api.unwrap();
    // Mid-wave: once the leader's first write has landed.
    eventually("the leader writing", || async {
        recorded_touching(&ns)
            .iter()
            .any(|r| r.access_key == "replica-a" && r.is_write())
    })
    .await;
    let pid = leader.child.id().to_string();
    match loss {
        Loss::Frozen => signal(&pid, "-STOP"),
        Loss::Cut => relay.cut(),
    }
    eventually("replica b takes the Lease", || async {
        lease().await.holder_identity.as_deref() == Some("b")
    })
    .await;
    let taken = lease().await.acquire_time.expect("an acquire time").0;
    for name in &names {
        wait_ready(&api, name, 1).await;
    }
    if let Loss::Frozen = loss {
        signal(&pid, "-CONT");
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while leader.child.try_wait().unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{loss:?}: the old leader runs on"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let taken = taken.as_millisecond() as f64 / 1000.0;
    let late: Vec<_> = recorded_touching(&ns)
        .into_iter()
        .filter(|r| r.access_key == "replica-a" && r.is_write() && r.at >= taken)
        .collect();
    assert!(
        late.is_empty(),
        "{loss:?}: the old leader wrote after the takeover: {late:?}"
    );

    let (kms, sqs) = raw().await;
    let enabled: Vec<String> = keys_of(&kms, &ns)
        .await
        .into_iter()
        .filter(|(_, state)| state == "Enabled")
        .map(|(id, _)| id)
        .collect();
    let mut behind_aliases = Vec::new();
    for name in &names {
        let plan = plan::build(&sq(&ns, name, "", ""), &env()).unwrap();
        behind_aliases.push(alias_target(&kms, &plan.key.alias).await.expect("an alias"));
        for queue in [&plan.dead_letter_queue.name, &plan.queue.name] {
            assert!(
                queue_url(&sqs, queue).await.is_some(),
                "{loss:?}: {queue} missing"
            );
        }
    }
    behind_aliases.sort();
    let mut enabled = enabled;
    enabled.sort();
    assert_eq!(
        enabled, behind_aliases,
        "{loss:?}: one enabled key each, behind its alias"
    );
}

fn signal(pid: &str, signal: &str) {
    assert!(
        Command::new("kill")
            .args([signal, pid])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn a_leader_frozen_mid_wave_writes_nothing_after_the_other_takes_over() {
    failover_mid_wave(Loss::Frozen).await;
}

#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_writes_nothing_after_the_other_takes_over() {
    failover_mid_wave(Loss::Cut).await;
}
