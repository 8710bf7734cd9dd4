//! The chart, installed, upgraded and uninstalled with helm as a user does it: two replicas of
//! the image the driver names, web-identity credentials for a role of the emulator's account,
//! and the emulator's endpoint.

use std::time::{Duration, Instant};

use super::cluster::Cluster;

pub const RELEASE: &str = "securequeue";
pub const NAMESPACE: &str = "securequeue-system";
/// The Deployment's selector.
pub const SELECTOR: &str =
    "app.kubernetes.io/name=securequeue,app.kubernetes.io/instance=securequeue";
/// The chart's default `leaderElection.leaseName`.
pub const LEASE: &str = "securequeue-operator";
/// The role the pods assume with their projected token (`aws.webIdentity.roleArn`).
pub const IRSA_ROLE: &str = "arn:aws:iam::111122223333:role/securequeue-irsa";
/// The chart's service account, which the token names as its subject.
pub const SERVICE_ACCOUNT: &str = "securequeue";
const CHART: &str = "charts/securequeue";
/// How long helm may wait for the pods.
const HELM_WAIT: &str = "5m";

/// `image` as the chart's `image.repository` and `image.tag`: split at the last colon after the
/// last slash, so that a registry's port stays in the repository.
pub fn repository_and_tag(image: &str) -> (&str, &str) {
    let name_starts = image.rfind('/').map_or(0, |slash| slash + 1);
    let colon = name_starts
        + image[name_starts..]
            .rfind(':')
            .unwrap_or_else(|| panic!("{image}: name the image as repository:tag"));
    (&image[..colon], &image[colon + 1..])
}

/// `helm install --wait`; how long it took.
pub async fn install(cluster: &Cluster) -> Duration {
    let (repository, tag) = repository_and_tag(&cluster.image);
    let values = [
        format!("image.repository={repository}"),
        format!("image.tag={tag}"),
        "image.pullPolicy=IfNotPresent".to_string(),
        "replicaCount=2".to_string(),
        format!("aws.region={}", crate::emulator::REGION),
        format!("aws.endpointUrl={}", cluster.emulator),
        format!("aws.webIdentity.roleArn={IRSA_ROLE}"),
        "clusterId=node-e2e".to_string(),
    ];
    let mut args = vec![
        "install",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        HELM_WAIT,
        "--set-string",
        "aws.accountId=111122223333",
    ];
    for value in &values {
        args.extend(["--set", value.as_str()]);
    }
    timed(cluster.helm(&args)).await
}

/// `helm upgrade --reuse-values --set VALUE --wait`; how long it took.
pub async fn upgrade(cluster: &Cluster, value: &str) -> Duration {
    timed(cluster.helm(&[
        "upgrade",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "--reuse-values",
        "--set",
        value,
        "--wait",
        "--timeout",
        HELM_WAIT,
    ]))
    .await
}

/// `helm uninstall --wait`: returns once the chart's objects are gone.
pub async fn uninstall(cluster: &Cluster) -> Duration {
    timed(cluster.helm(&[
        "uninstall",
        RELEASE,
        "--namespace",
        NAMESPACE,
        "--wait",
        "--timeout",
        HELM_WAIT,
    ]))
    .await
}

async fn timed(work: impl Future<Output = String>) -> Duration {
    let started = Instant::now();
    work.await;
    started.elapsed()
}
