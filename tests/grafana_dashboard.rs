//! The Grafana dashboard queries only metrics the operator exports.

mod common;

use std::collections::BTreeMap;

use regex::Regex;
use securequeue::aws::calls::CallCounts;
use securequeue::controller::metrics::{Metrics, ReconcileResult};

#[test]
fn every_dashboard_query_names_an_exported_metric() {
    // Families without samples are not exported, so record one of each first.
    let metrics = Metrics::default();
    metrics.reconciled(ReconcileResult::Ready);
    let calls = CallCounts(BTreeMap::from([("kms:DescribeKey".to_string(), 1)]));
    metrics.aws_calls(&calls, &CallCounts::default(), &CallCounts::default());
    metrics.ready_state("uid", Some("True"));
    metrics.dead_letter_messages("ns", "q", Some(3));
    let budget = securequeue::aws::budget::BudgetSnapshot {
        operation: "kms:CreateKey".to_string(),
        budget: Some(2.5),
        rate: Some(1.75),
        waiting: 3,
        requests: 10,
        throttles: 1,
        cuts: 1,
    };
    metrics.budgets(&[("111122223333".to_string(), "us-east-1".to_string(), budget)]);
    drop(metrics.timer());
    let exported = metrics.encode();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path(
            "deploy/grafana/securequeue-dashboard.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let name = Regex::new(r"securequeue_[a-z_]+").unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for metric in name.find_iter(expr) {
                let base = ["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .fold(metric.as_str(), |m, suffix| {
                        m.strip_suffix(suffix).unwrap_or(m)
                    });
                assert!(
                    exported.contains(&format!("# TYPE {base} ")),
                    "panel {:?} queries {}, which the operator does not export",
                    panel["title"],
                    metric.as_str()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} metric references found");
}
