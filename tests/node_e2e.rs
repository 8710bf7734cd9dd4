//! The node tier: the operator image on a real kubelet, installed with the chart exactly as a
//! user installs it (`helm install --wait`, two replicas, web-identity credentials, the
//! emulator's endpoint), then used and abused as in production. `tests/node/e2e.sh` starts the
//! node, loads the image built from the Dockerfile and starts the emulator where pods reach it,
//! or runs on the cluster KUBECONFIG names; it sets SECUREQUEUE_NODE_KUBECONFIG, without which
//! this test only says that it did not run.
//!
//! In order, on one installation:
//! 1. both pods Running and Ready through their probes, one holding the Lease, the other
//!    standing by;
//! 2. a SecureQueue applied with `kubectl apply` becomes Ready (`kubectl wait`), made by the
//!    operator in the cluster: its key and queues read back from the emulator;
//! 3. credentials as EKS hands them out: each pod exchanged its projected token for the role
//!    with AssumeRoleWithWebIdentity at the emulator, signed every request with the session it
//!    got, and the key policy names that role as the key's operator;
//! 4. failover while ten SecureQueues converge, each ending with every SecureQueue Ready with
//!    exactly one key and two queues and no orphan (`failover`): the holder's pod deleted, its
//!    process frozen for longer than the Lease and resumed (`frozen`), its process killed. In
//!    that order, so that no pod's container is restarted twice, which kubelet would delay by
//!    its 10 s back-off;
//! 5. `helm upgrade` rolls the pods without the Lease going unrenewed for longer than its
//!    duration; `helm uninstall` leaves the SecureQueues' finalizers and AWS resources, as the
//!    README says.
//!
//! Each step prints what it measured, prefixed `node e2e [seconds since the start]:`. On a
//! cluster that runs elsewhere (no SECUREQUEUE_NODE_CONTAINERD_SOCKET) the steps that need the
//! node's processes are skipped, saying so.

mod common;
mod emulator;
mod in_cluster;
#[allow(dead_code)] // the soak's wave and emulator process: only its census is used here
mod kill_anywhere;

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use in_cluster::cluster::{Cluster, GATE};
use in_cluster::failover::{self, Failover};
use in_cluster::lease::{LeaseWatch, longest_without_renewal};
use in_cluster::release::{self, IRSA_ROLE, LEASE, NAMESPACE, SERVICE_ACCOUNT};
use in_cluster::{pods, queues};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use securequeue::api::SecureQueue;

/// The SecureQueue of step 2, which step 5 deletes once the operator is gone.
const SHOP: &str = "e2e-shop";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_on_a_real_node() {
    let Some(cluster) = Cluster::from_env().await else {
        // Straight to stderr: the test harness would hide a print of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "==> SKIPPED the node tier: {GATE} is not set. It runs in tests/run.sh's node section, or alone with tests/node/e2e.sh"
        );
        return;
    };
    let started = Instant::now();
    report(format!(
        "on {}, image {}",
        cluster.kubeconfig, cluster.image
    ));
    let lease = LeaseWatch::start(&cluster.client, NAMESPACE, LEASE);
    let installed = release::install(&cluster).await;
    report(format!(
        "helm install --wait: {:.1} s",
        installed.as_secs_f64()
    ));

    let (leader, standby) = pods_ready_one_leading(&cluster, &lease).await;
    let orders = one_queue_from_kubectl(&cluster, &leader).await;
    credentials_as_eks_hands_them_out(&cluster, &orders, &leader, &standby).await;

    for (failover, namespace) in [
        (Failover::Graceful, "e2e-graceful"),
        (Failover::Freeze, "e2e-frozen"),
        (Failover::Kill, "e2e-kill"),
    ] {
        if failover != Failover::Graceful && cluster.host.is_none() {
            report(format!(
                "==> SKIPPED {failover:?}: sending signals needs this machine to be the node (SECUREQUEUE_NODE_CONTAINERD_SOCKET)"
            ));
            continue;
        }
        report(
            failover::run(&cluster, &lease, failover, namespace)
                .await
                .to_string(),
        );
    }

    upgrade_rolls_keeping_the_lease(&cluster, &lease).await;
    uninstall_leaves_what_the_readme_says(&cluster).await;
    report(format!(
        "all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

/// Prints a step's figures, with the time since the suite began.
fn report(line: String) {
    static BEGAN: OnceLock<Instant> = OnceLock::new();
    let at = BEGAN.get_or_init(Instant::now).elapsed();
    println!("node e2e [{:5.1} s]: {line}", at.as_secs_f64());
}

/// Step 1; returns the leader's and the standby's pod names.
async fn pods_ready_one_leading(cluster: &Cluster, lease: &LeaseWatch) -> (String, String) {
    let pods = pods::until_ready(cluster, 2, Duration::from_secs(10)).await;
    for pod in &pods {
        assert_eq!(pods::restarts(pod), 0, "{}", pods::name(pod));
        let container = &pod.spec.as_ref().unwrap().containers[0];
        assert_eq!(container.image.as_deref(), Some(cluster.image.as_str()));
        let probe_path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
            probe
                .as_ref()
                .and_then(|p| p.http_get.as_ref())
                .and_then(|h| h.path.clone())
        };
        assert_eq!(
            probe_path(&container.readiness_probe).as_deref(),
            Some("/readyz")
        );
        assert_eq!(
            probe_path(&container.liveness_probe).as_deref(),
            Some("/healthz")
        );
        if let Some(host) = &cluster.host {
            pods::assert_confined(pods::host_pid(cluster, host, &pods::name(pod)).await);
        }
    }
    let names: Vec<String> = pods.iter().map(pods::name).collect();
    let held = lease
        .first_after(0, Duration::from_secs(30), "a holder among the pods", |s| {
            names.contains(&s.holder)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let leader = held.holder;
    let standby = names.iter().find(|n| **n != leader).unwrap().clone();
    let standing_by = pods::log(cluster, &standby, false).await;
    assert!(
        standing_by.contains("standing by") && standing_by.contains(&leader),
        "{standby} does not say it stands by for {leader}:\n{standing_by}"
    );
    assert!(
        !standing_by.contains("acquired the leader Lease"),
        "{standby} led:\n{standing_by}"
    );
    report(format!(
        "2 pods Running and Ready through /readyz, restarts 0, image {}{}; {leader} holds the Lease ({} s), {standby} stands by",
        cluster.image,
        if cluster.host.is_some() {
            ", each process uid 65532, no capability, no new privileges, seccomp, read-only root"
        } else {
            ""
        },
        held.duration.as_secs()
    ));
    (leader, standby)
}

/// Step 2: returns the SecureQueue, Ready.
async fn one_queue_from_kubectl(cluster: &Cluster, leader: &str) -> SecureQueue {
    let yaml = queues::manifest(SHOP, &["orders".to_string()], "  deletionPolicy: Delete\n");
    queues::apply(cluster, &yaml).await;
    let took = queues::wait_ready(cluster, SHOP, Duration::from_secs(120)).await;
    let orders = queues::of(cluster, SHOP).await.remove(0);
    let status = orders.status.clone().expect("a status");
    let managers: Vec<&str> = orders
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert!(
        managers.contains(&"securequeue"),
        "status not written by the operator: {managers:?}"
    );

    // Every AWS request for it was signed with the credentials the leader's session got (read
    // before this test sends its own).
    let requests = emulator::recorded_at(&cluster.emulator, SHOP);
    assert!(
        requests.iter().any(|r| r.call == "kms:CreateKey"),
        "{requests:#?}"
    );
    for request in &requests {
        assert_eq!(request.session, leader, "{request:?}");
    }

    // Read back from the emulator: the alias names the key the status names, both queues exist
    // at the URLs the status gives, encrypted with that key.
    let (kms, sqs) = emulator::raw().await;
    let alias = &status.identity.as_ref().expect("an identity").key_alias;
    let key = emulator::alias_target(&kms, alias)
        .await
        .expect("the alias exists");
    assert!(
        status
            .key_arn
            .as_deref()
            .unwrap_or_default()
            .ends_with(&key),
        "{status:?}"
    );
    assert_eq!(emulator::key_states(&kms, SHOP).await, ["Enabled"]);
    for url in [&status.queue_url, &status.dead_letter_queue_url] {
        let url = url.as_deref().expect("a queue URL");
        let attributes = emulator::queue_attributes(&sqs, url).await;
        let encrypted_with = attributes
            .get("KmsMasterKeyId")
            .cloned()
            .unwrap_or_default();
        assert!(
            encrypted_with.ends_with(&key) || encrypted_with.ends_with(&format!(":{alias}")),
            "{url} is encrypted with {encrypted_with}, not {key} or {alias}"
        );
    }
    report(format!(
        "kubectl apply -> kubectl wait Ready in {:.1} s: key {key} behind {alias} and both queues read back from the emulator; {} requests, all from {leader}'s session",
        took.as_secs_f64(),
        requests.len()
    ));
    orders
}

/// Step 3.
async fn credentials_as_eks_hands_them_out(
    cluster: &Cluster,
    orders: &SecureQueue,
    leader: &str,
    standby: &str,
) {
    for name in [leader, standby] {
        let pod = pods::get(cluster, name).await;
        assert_projected_token(&pod);
        let exchanges: Vec<String> =
            emulator::recorded_at(&cluster.emulator, &format!("RoleSessionName={name}"))
                .into_iter()
                .map(|r| r.call)
                .collect();
        assert!(
            exchanges.contains(&"sts:AssumeRoleWithWebIdentity".to_string()),
            "{name} did not exchange its token: {exchanges:?}"
        );
        if let Some(host) = &cluster.host {
            // The very token kubelet projected for the pod is what STS was given.
            let uid = pod.metadata.uid.as_deref().unwrap();
            let file = host.kubelet_root.join(format!(
                "pods/{uid}/volumes/kubernetes.io~projected/aws-iam-token/token"
            ));
            let token = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let given: Vec<String> = emulator::recorded_at(&cluster.emulator, token.trim())
                .into_iter()
                .map(|r| r.call)
                .collect();
            assert_eq!(
                given,
                ["sts:AssumeRoleWithWebIdentity"],
                "{name}'s projected token"
            );
        }
    }
    let key = orders.status.as_ref().unwrap().key_arn.clone().unwrap();
    assert_operated_by_the_role(&key).await;
    report(format!(
        "both pods exchanged their projected sts.amazonaws.com token with AssumeRoleWithWebIdentity{}; the key policy names {IRSA_ROLE} as the key's operator",
        if cluster.host.is_some() {
            " (the very token kubelet projected)"
        } else {
            ""
        }
    ));
}

/// The key's policy names the role the pods assumed, and only it, as the key's administrator:
/// the operator took its identity from the web-identity credentials, not from a static one.
async fn assert_operated_by_the_role(key: &str) {
    let (kms, _) = emulator::raw().await;
    let policy = emulator::key_policy(&kms, key).await;
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    let admins = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "AllowKeyAdminPermissions")
        .map(|s| s["Principal"]["AWS"].clone())
        .expect("an administrators' statement");
    let admins: Vec<&str> = match &admins {
        serde_json::Value::Array(all) => all.iter().filter_map(|a| a.as_str()).collect(),
        one => one.as_str().into_iter().collect(),
    };
    assert_eq!(admins, [IRSA_ROLE], "{key}'s operator: {policy:#}");
}

/// The pod has what EKS's webhook injects: the projected token for STS and the variables that
/// point the SDK at it.
fn assert_projected_token(pod: &Pod) {
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some(SERVICE_ACCOUNT));
    let volume = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "aws-iam-token")
        .and_then(|v| v.projected.as_ref())
        .expect("the aws-iam-token projected volume");
    let token = volume
        .sources
        .iter()
        .flatten()
        .find_map(|s| s.service_account_token.as_ref());
    assert_eq!(
        token.and_then(|t| t.audience.as_deref()),
        Some("sts.amazonaws.com")
    );
    let env: Vec<(String, String)> = spec.containers[0]
        .env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect();
    for (name, value) in [
        ("AWS_ROLE_ARN", IRSA_ROLE),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        ),
        ("AWS_ROLE_SESSION_NAME", "$(POD_NAME)"),
    ] {
        assert!(
            env.contains(&(name.to_string(), value.to_string())),
            "{name}={value} not in {env:?}"
        );
    }
}

/// Step 5, helm upgrade: the pods are replaced one by one; the Lease is sampled on every write
/// until a new pod holds it.
async fn upgrade_rolls_keeping_the_lease(cluster: &Cluster, lease: &LeaseWatch) {
    let before: Vec<String> = pods::until_ready(cluster, 2, Duration::from_secs(120))
        .await
        .iter()
        .map(pods::name)
        .collect();
    let mark = lease.mark();
    let took = release::upgrade(cluster, "resyncSeconds=300").await;
    let after = pods::until_ready(cluster, 2, Duration::from_secs(120)).await;
    let names: Vec<String> = after.iter().map(pods::name).collect();
    for pod in &after {
        assert!(
            !before.contains(&pods::name(pod)),
            "{} was not replaced",
            pods::name(pod)
        );
        let args = pod.spec.as_ref().unwrap().containers[0]
            .args
            .clone()
            .unwrap_or_default();
        assert!(
            args.contains(&"--resync-seconds=300".to_string()),
            "{args:?}"
        );
    }
    let duration = lease.latest().unwrap().duration;
    let held = lease
        .first_after(mark, duration * 2, "a new pod holding it", |s| {
            names.contains(&s.holder)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let samples: Vec<_> = lease
        .since(mark)
        .into_iter()
        .take_while(|s| s.seen <= held.seen)
        .collect();
    let gap = longest_without_renewal(&samples);
    let holders: Vec<&str> = samples.iter().map(|s| s.holder.as_str()).collect();
    assert!(
        gap <= duration,
        "the Lease went unrenewed for {gap:?} during the roll, over {duration:?}: {samples:#?}"
    );
    let counted = queues::assert_census(cluster).await;
    report(format!(
        "helm upgrade --wait in {:.1} s rolled both pods; {} Lease writes, holders {:?}; longest without a renewal {:.2} s (bound {} s); census of {counted} passed",
        took.as_secs_f64(),
        samples.len(),
        dedup(holders),
        gap.as_secs_f64(),
        duration.as_secs()
    ));
}

fn dedup(mut items: Vec<&str>) -> Vec<&str> {
    items.dedup();
    items
}

/// Step 5, helm uninstall with SecureQueues present: "Removing the operator while SecureQueues
/// exist leaves their finalizers in place: they wait for it to come back." Nothing in AWS is
/// touched, and a SecureQueue deleted now, with `deletionPolicy: Delete`, waits.
async fn uninstall_leaves_what_the_readme_says(cluster: &Cluster) {
    let present = queues::all(cluster).await;
    let writes = || {
        emulator::recorded_at(&cluster.emulator, "")
            .into_iter()
            .filter(|r| r.is_write() && !r.call.starts_with("sts:"))
            .count()
    };
    let writes_before = writes();
    // The two pods' containers, and those of pods an upgrade just replaced if kubelet has
    // not removed them yet: every one of them must stop.
    let containers = pods::container_ids(cluster).await;
    assert!(
        containers.len() >= 2,
        "the operator's containers: {containers:?}"
    );
    let took = release::uninstall(cluster).await;
    let stopping = Instant::now();
    pods::until_stopped(cluster, &containers, Duration::from_secs(90)).await;
    let stopped = stopping.elapsed();
    cluster
        .kubectl(
            &[
                "delete",
                "securequeue",
                "orders",
                "-n",
                SHOP,
                "--wait=false",
            ],
            None,
        )
        .await;
    let after = queues::all(cluster).await;
    assert_eq!(after.len(), present.len());
    for queue in &after {
        let finalizers = queue.metadata.finalizers.clone().unwrap_or_default();
        assert_eq!(
            finalizers,
            ["securequeue.io/cleanup"],
            "{:?}",
            queue.metadata.name
        );
        let deleting = queue.metadata.deletion_timestamp.is_some();
        let is_orders = queue.metadata.name.as_deref() == Some("orders");
        assert_eq!(
            deleting, is_orders,
            "{:?} deleting: {deleting}",
            queue.metadata.name
        );
    }
    kill_anywhere::census::Census::take(&cluster.emulator)
        .await
        .assert_exactly_one_each(&present);
    for queue in &present {
        assert_operated_by_the_role(queue.status.as_ref().unwrap().key_arn.as_deref().unwrap())
            .await;
    }
    assert_eq!(writes(), writes_before, "AWS writes after helm uninstall");
    report(format!(
        "helm uninstall --wait in {:.1} s, the operator stopped {:.1} s later: all {} SecureQueues keep their finalizer, orders (deletionPolicy Delete) deleted since waits, every key Enabled and every queue there, every key policy naming the role, no AWS write",
        took.as_secs_f64(),
        stopped.as_secs_f64(),
        after.len()
    ));
    leave_a_given_cluster_as_it_was(cluster, &after).await;
}

/// Releases what the suite made on the cluster: its SecureQueues (their finalizers removed, as
/// no operator is left to) and their namespaces, and the release's namespace. The CRDs, which
/// helm never removes, stay.
async fn leave_a_given_cluster_as_it_was(cluster: &Cluster, made: &[SecureQueue]) {
    let unfinalized = Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}}));
    for queue in made {
        let namespace = queue.metadata.namespace.as_deref().unwrap();
        let api: Api<SecureQueue> = Api::namespaced(cluster.client.clone(), namespace);
        api.patch(&queue.name_any(), &PatchParams::default(), &unfinalized)
            .await
            .expect("the finalizer removed");
    }
    let mut namespaces: Vec<&str> = made
        .iter()
        .filter_map(|q| q.metadata.namespace.as_deref())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces.push(NAMESPACE);
    let mut args = vec!["delete", "namespace", "--wait=false"];
    args.extend(namespaces);
    cluster.kubectl(&args, None).await;
}
