//! SecureQueues as a user makes them, `kubectl apply` and `kubectl wait`, read back from the
//! API server, and the emulator's census of what the operator made for them.

use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use securequeue::api::SecureQueue;

use super::cluster::Cluster;
use crate::emulator::{CONSUMER_ROLE, recorded_at};
use crate::kill_anywhere::census::Census;

/// A namespace and a SecureQueue in it for each of `names`, as one manifest; `spec` lines are
/// added to each spec (indented by two spaces).
pub fn manifest(namespace: &str, names: &[String], spec: &str) -> String {
    let mut yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n");
    for name in names {
        yaml.push_str(&format!(
            "---\napiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  consumerRoleArns: [{CONSUMER_ROLE}]\n{spec}"
        ));
    }
    yaml
}

/// `kubectl apply -f -` of `yaml`.
pub async fn apply(cluster: &Cluster, yaml: &str) {
    cluster.kubectl(&["apply", "-f", "-"], Some(yaml)).await;
}

/// `kubectl wait --for=condition=Ready` for every SecureQueue of `namespace`; how long it took.
pub async fn wait_ready(cluster: &Cluster, namespace: &str, within: Duration) -> Duration {
    let started = Instant::now();
    let timeout = format!("--timeout={}s", within.as_secs());
    let waited = cluster
        .try_kubectl(
            &[
                "wait",
                "--for=condition=Ready",
                "securequeue",
                "--all",
                "-n",
                namespace,
                &timeout,
            ],
            None,
        )
        .await;
    if let Err(e) = waited {
        let shown = cluster
            .kubectl(&["get", "securequeue", "-n", namespace, "-o", "wide"], None)
            .await;
        panic!("the SecureQueues of {namespace} are not all Ready: {e}\n{shown}");
    }
    started.elapsed()
}

/// Every SecureQueue in the cluster.
pub async fn all(cluster: &Cluster) -> Vec<SecureQueue> {
    let api: Api<SecureQueue> = Api::all(cluster.client.clone());
    api.list(&ListParams::default())
        .await
        .expect("SecureQueues list")
        .items
}

/// The SecureQueues of `namespace`.
pub async fn of(cluster: &Cluster, namespace: &str) -> Vec<SecureQueue> {
    let api: Api<SecureQueue> = Api::namespaced(cluster.client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .expect("SecureQueues list")
        .items
}

/// Whether it is Ready for its current generation.
pub fn is_ready(queue: &SecureQueue) -> bool {
    queue.status.as_ref().is_some_and(|status| {
        status.conditions.iter().any(|c| {
            c.type_ == "Ready"
                && c.status == "True"
                && c.observed_generation == queue.metadata.generation
        })
    })
}

/// Waits until the operator is converging the SecureQueues of `namespace`: the emulator has
/// received a CreateKey for one of them. Returns how many were Ready then.
pub async fn until_converging(cluster: &Cluster, namespace: &str, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    while !recorded_at(&cluster.emulator, namespace)
        .iter()
        .any(|r| r.call == "kms:CreateKey")
    {
        assert!(
            Instant::now() < deadline,
            "no CreateKey for {namespace} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    of(cluster, namespace)
        .await
        .iter()
        .filter(|q| is_ready(q))
        .count()
}

/// Every SecureQueue in the cluster is Ready, and the emulator holds exactly one key and two
/// queues for each, by their tags and the key's description, those its status names, and
/// nothing else. Returns how many there are.
pub async fn assert_census(cluster: &Cluster) -> usize {
    let queues = all(cluster).await;
    let not_ready: Vec<_> = queues
        .iter()
        .filter(|q| !is_ready(q))
        .map(|q| (&q.metadata.namespace, &q.metadata.name, &q.status))
        .collect();
    assert!(not_ready.is_empty(), "not Ready: {not_ready:#?}");
    Census::take(&cluster.emulator)
        .await
        .assert_exactly_one_each(&queues);
    queues.len()
}
