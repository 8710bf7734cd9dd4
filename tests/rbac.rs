//! The chart's RBAC grants exactly what `src/controller/` calls, in cluster and in namespaced
//! mode: read from the source (each Kubernetes API call of the controller, by the Api it is made
//! on: a Lease in `leader.rs`, SecureQueueAccounts in `accounts.rs`, namespaces in
//! `namespaces.rs`, SecureQueues elsewhere) and from the chart as `helm template` renders it, as `tests/iam_policy.rs` does for AWS.

mod common;

use std::collections::BTreeSet;

use common::helm::{rendered, template};
use regex::Regex;
use serde_json::Value;

/// `group/resource verb`, as a rule grants it.
type Grant = String;

fn grant(group: &str, resource: &str, verb: &str) -> Grant {
    format!("{group}/{resource} {verb}")
}

/// The Kubernetes API verb of a kube `Api` method.
fn verb(method: &str) -> Option<&'static str> {
    Some(match method {
        "get" | "get_opt" | "get_metadata" | "get_metadata_opt" => "get",
        "list" | "list_metadata" => "list",
        "watch" | "watch_metadata" => "watch",
        "create" => "create",
        "replace" => "update",
        "patch" | "patch_metadata" => "patch",
        "delete" => "delete",
        _ => return None,
    })
}

/// Every grant the controller's calls need, found in its source: calls on each file's `api`
/// (a Lease in `leader.rs`, SecureQueues elsewhere), the status writes, kube's watcher (list and
/// watch), its finalizer helper (a patch) and Event recorder (create, and patch for a series).
fn grants_in_code() -> BTreeSet<Grant> {
    let call = Regex::new(r"\bapi\s*\.\s*([a-z_]+)\(").unwrap();
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(common::repo_path("src/controller")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let (group, resource) = if path.ends_with("leader.rs") {
            ("coordination.k8s.io", "leases")
        } else if path.ends_with("accounts.rs") {
            ("securequeue.io", "securequeueaccounts")
        } else if path.ends_with("namespaces.rs") {
            ("", "namespaces")
        } else {
            ("securequeue.io", "securequeues")
        };
        for capture in call.captures_iter(&text) {
            let method = &capture[1];
            if method == "clone" {
                continue; // a handle for another task, not a request
            }
            if method == "patch_status" {
                found.insert(grant(group, "securequeues/status", "patch"));
            } else if let Some(verb) = verb(method) {
                found.insert(grant(group, resource, verb));
            } else {
                panic!(
                    "{}: a Kubernetes call this test does not know: {method}",
                    path.display()
                );
            }
        }
        if text.contains("watcher(") {
            found.insert(grant(group, resource, "list"));
            found.insert(grant(group, resource, "watch"));
        }
        if text.contains("finalizer::finalizer(") {
            found.insert(grant(group, resource, "patch"));
        }
        if text.contains(".publish(") {
            found.insert(grant("events.k8s.io", "events", "create"));
            found.insert(grant("events.k8s.io", "events", "patch"));
        }
    }
    found
}

/// Every grant of the chart's Roles and ClusterRoles, with the kinds and namespaces of the roles.
fn grants_in_chart(documents: &[Value]) -> (BTreeSet<Grant>, Vec<(String, String)>) {
    let mut grants = BTreeSet::new();
    let mut roles = Vec::new();
    for document in documents {
        let kind = document["kind"].as_str().unwrap_or_default();
        if kind != "Role" && kind != "ClusterRole" {
            continue;
        }
        roles.push((
            kind.to_string(),
            document["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
        for rule in document["rules"].as_array().unwrap() {
            let list = |field: &str| -> Vec<String> {
                rule[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            };
            for group in list("apiGroups") {
                for resource in list("resources") {
                    for verb in list("verbs") {
                        grants.insert(grant(&group, &resource, &verb));
                    }
                }
            }
        }
    }
    (grants, roles)
}

#[test]
fn the_scan_sees_the_controllers_calls() {
    let code = grants_in_code();
    for expected in [
        grant("securequeue.io", "securequeues", "watch"),
        grant("securequeue.io", "securequeues/status", "patch"),
        grant("coordination.k8s.io", "leases", "update"),
        grant("events.k8s.io", "events", "create"),
        grant("securequeue.io", "securequeueaccounts", "watch"),
        grant("", "namespaces", "list"),
    ] {
        assert!(code.contains(&expected), "{expected} not found in {code:?}");
    }
}

#[test]
fn the_chart_grants_exactly_what_the_controller_calls_in_both_modes() {
    let code = grants_in_code();
    for (values, role_kind, namespace) in [
        (&[][..], "ClusterRole", ""),
        (&["watchNamespace=shop"][..], "Role", "shop"),
    ] {
        let (chart, roles) = grants_in_chart(&rendered(values));
        let missing: Vec<_> = code.difference(&chart).collect();
        let surplus: Vec<_> = chart.difference(&code).collect();
        assert!(
            missing.is_empty(),
            "{values:?}: called but not granted: {missing:?}"
        );
        assert!(
            surplus.is_empty(),
            "{values:?}: granted but never called: {surplus:?}"
        );
        assert!(
            roles.contains(&(role_kind.to_string(), namespace.to_string())),
            "{values:?}: {roles:?}"
        );
        // The Lease is the operator's own namespace's, in either mode.
        assert!(roles.contains(&("Role".to_string(), "securequeue-system".to_string())));
    }
}

#[test]
fn the_account_bindings_the_chart_renders_are_valid_ones() {
    let text = template(&["-f", "charts/securequeue/ci/all-options-values.yaml"]);
    let bindings: Vec<_> = securequeue::manifest::parse_accounts(&text)
        .unwrap()
        .into_iter()
        .filter_map(|d| d.parsed.ok())
        .collect();
    assert_eq!(bindings.len(), 1, "{text}");
    let accounts = securequeue::accounts::Accounts::of(&bindings);
    assert_eq!(accounts.len(), 1, "{:?}", accounts.problems());
}
