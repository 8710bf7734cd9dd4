//! The operator's pods as the chart's Deployment runs them: which are up and Ready, their logs,
//! and, on this machine's node, the host process of each one's container, to send it signals as
//! the kernel or a stalled node would.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use super::cluster::{Cluster, NodeHost};
use super::release::{NAMESPACE, SELECTOR};

/// The operator's pods that are not being deleted, by name.
pub async fn running(cluster: &Cluster) -> Vec<Pod> {
    let mut listed = all(cluster).await;
    listed.retain(|p| p.metadata.deletion_timestamp.is_none());
    listed
}

/// The operator's pods, those being deleted too, by name.
async fn all(cluster: &Cluster) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let mut listed = pods
        .list(&ListParams::default().labels(SELECTOR))
        .await
        .expect("the operator's pods list")
        .items;
    listed.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    listed
}

/// The containerd ids of the operator pods' current containers.
pub async fn container_ids(cluster: &Cluster) -> Vec<String> {
    all(cluster).await.iter().filter_map(container_id).collect()
}

fn container_id(pod: &Pod) -> Option<String> {
    operator_status(pod)?
        .container_id
        .as_deref()?
        .strip_prefix("containerd://")
        .map(str::to_string)
}

/// Waits until none of the containers `ids` runs, as the node's containerd says where this
/// machine is the node (kubelet 1.20 may take most of a minute more to report it and remove
/// the pods), and otherwise until no operator pod is left. Panics after `within`.
pub async fn until_stopped(cluster: &Cluster, ids: &[String], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<String> = match &cluster.host {
            Some(host) => ctr(host, &["tasks", "ls"])
                .lines()
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() == 3
                        && ids.iter().any(|id| id == fields[0])
                        && fields[2] == "RUNNING"
                })
                .map(str::to_string)
                .collect(),
            None => all(cluster).await.iter().map(name).collect(),
        };
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the operator still runs after {within:?}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Whether kubelet reports the pod Running with its Ready condition True: its readiness probe
/// answered.
pub fn is_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// How often the operator's container has been restarted.
pub fn restarts(pod: &Pod) -> i32 {
    operator_status(pod).map_or(0, |s| s.restart_count)
}

fn operator_status(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|s| s.name == "operator")
}

/// Waits until exactly `count` operator pods run, all Ready, and returns them; panics after
/// `within`, showing them.
pub async fn until_ready(cluster: &Cluster, count: usize, within: Duration) -> Vec<Pod> {
    let deadline = Instant::now() + within;
    loop {
        let pods = running(cluster).await;
        if pods.len() == count && pods.iter().all(is_ready) {
            return pods;
        }
        assert!(
            Instant::now() < deadline,
            "not {count} Ready operator pods within {within:?}: {:#?}",
            pods.iter()
                .map(|p| (name(p), &p.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The pod `name`, now.
pub async fn get(cluster: &Cluster, name: &str) -> Pod {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    pods.get(name).await.expect("the pod")
}

/// The operator's log in the pod `name`: its current container's, or with `previous` the one
/// before its last restart.
pub async fn log(cluster: &Cluster, name: &str, previous: bool) -> String {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let params = LogParams {
        container: Some("operator".to_string()),
        previous,
        ..LogParams::default()
    };
    pods.logs(name, &params).await.expect("the operator's log")
}

/// The host's process id of the pod's operator container, as the node's containerd knows it:
/// the operator itself (the image's entrypoint, no init before it).
pub async fn host_pid(cluster: &Cluster, host: &NodeHost, pod: &str) -> u32 {
    let pod = get(cluster, pod).await;
    let id =
        container_id(&pod).unwrap_or_else(|| panic!("no containerd container in {:?}", pod.status));
    let tasks = ctr(host, &["tasks", "ls"]);
    let pid: u32 = tasks
        .lines()
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some(id.as_str())).then(|| fields.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("containerd runs no task {id}:\n{tasks}"));
    let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let command = String::from_utf8_lossy(&command).replace('\0', " ");
    assert!(
        command.starts_with("/usr/local/bin/securequeue run "),
        "task {id} runs {command:?}, not the operator"
    );
    pid
}

fn ctr(host: &NodeHost, args: &[&str]) -> String {
    let output = std::process::Command::new("ctr")
        .args(["-n", "k8s.io", "-a", &host.containerd_socket])
        .args(args)
        .output()
        .expect("ctr runs");
    assert!(output.status.success(), "ctr {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sends `signal` (KILL, STOP, CONT) to the host process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// Waits until the container of the pod `name` has been restarted more than `before` times
/// and runs again; panics after `within`.
pub async fn until_restarted(cluster: &Cluster, name: &str, before: i32, within: Duration) -> Pod {
    let deadline = Instant::now() + within;
    loop {
        let pod = get(cluster, name).await;
        let running = operator_status(&pod)
            .and_then(|s| s.state.as_ref())
            .is_some_and(|s| s.running.is_some());
        if restarts(&pod) > before && running {
            return pod;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not restarted within {within:?}: {:#?}",
            pod.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that the host process `pid` runs as the chart's securityContext says: user and
/// group 65532, no capability, no new privileges, seccomp filtering, and a read-only root
/// filesystem. Read from /proc, so it is what the kernel enforces, not what the spec asks.
pub fn assert_confined(pid: u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(field("Uid"), "65532 65532 65532 65532", "{status}");
    assert_eq!(field("Gid"), "65532 65532 65532 65532", "{status}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(field(set), "0000000000000000", "{set}: {status}");
    }
    assert_eq!(field("NoNewPrivs"), "1", "{status}");
    assert_eq!(field("Seccomp"), "2", "{status}");
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let root = mounts
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|fields| fields.get(4) == Some(&"/"))
        .unwrap_or_else(|| panic!("no root mount in {mounts}"));
    assert!(
        root[5].split(',').any(|o| o == "ro"),
        "the root filesystem is mounted {}",
        root[5]
    );
}
