//! The CRD on disk is the generated one, the examples are valid against it, and its CEL rules
//! say what the code says.

mod common;

use common::examples::{self, Example};
use common::{api_server_errors, assert_api_server_refuses, manifest, plan};

#[test]
fn crd_file_is_exactly_the_generated_crd() {
    let crd_file = common::repo_path("crds/securequeue.io_securequeues.yaml");
    let on_disk = std::fs::read_to_string(&crd_file).unwrap();
    assert!(
        on_disk == securequeue::api::crd_yaml(),
        "crds/securequeue.io_securequeues.yaml is stale: run `cargo run -- crd > {}`",
        crd_file.display()
    );
}

#[test]
fn the_required_examples_exist() {
    let names: Vec<String> = examples::all()
        .into_iter()
        .map(|example| example.name)
        .collect();
    for required in [
        "sns-producer.yaml",
        "s3-producer.yaml",
        "eventbridge-producer.yaml",
        "role-producer-vpce.yaml",
        "fifo.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "deploy/examples/{required} is missing"
        );
    }
}

#[test]
fn every_example_is_valid_for_the_api_server() {
    for Example { name, text, .. } in examples::all() {
        let errors = api_server_errors(&text, None);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn every_example_plans() {
    for Example { name, text, .. } in examples::all() {
        if let Err(problems) = plan(&text) {
            panic!("{name}: {problems:#?}");
        }
    }
}

#[test]
fn the_schema_refuses_an_unknown_field() {
    let yaml = manifest("  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n  retries: 3\n");
    assert_api_server_refuses(&yaml, None, "retries");
}

#[test]
fn the_schema_refuses_a_user_arn_as_consumer() {
    let yaml = manifest("  consumerRoleArns: [arn:aws:iam::111122223333:user/alice]\n");
    let errors = api_server_errors(&yaml, None);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/spec/consumerRoleArns/0")),
        "{errors:#?}"
    );
}

#[test]
fn cel_refuses_a_fifo_name_without_fifo() {
    let yaml = manifest(
        "  queueName: orders.fifo\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n",
    );
    assert_api_server_refuses(&yaml, None, "exactly when fifo is true");
}

#[test]
fn cel_refuses_a_queue_that_is_its_own_dead_letter_queue() {
    let yaml = manifest(
        "  queueName: orders\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n  deadLetterQueue: {queueName: orders}\n",
    );
    assert_api_server_refuses(&yaml, None, "its own dead-letter queue");
}

#[test]
fn cel_refuses_a_dead_letter_retention_shorter_than_the_queues() {
    let yaml = manifest(
        "  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n  queue: {messageRetentionSeconds: 1209600}\n  deadLetterQueue: {messageRetentionSeconds: 86400}\n",
    );
    assert_api_server_refuses(
        &yaml,
        None,
        "must be at least queue.messageRetentionSeconds",
    );
}

#[test]
fn cel_refuses_s3_producers_on_a_fifo_queue() {
    let yaml = manifest(
        "  fifo: true\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n  producers: {s3BucketArns: [arn:aws:s3:::bucket-one]}\n",
    );
    assert_api_server_refuses(&yaml, None, "S3 event notifications");
}

#[test]
fn cel_refuses_reserved_tags() {
    let yaml = manifest(
        "  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n  tags: {securequeue.io/name: x}\n",
    );
    assert_api_server_refuses(&yaml, None, "reserved");
}

#[test]
fn cel_refuses_changing_immutable_fields() {
    let old = manifest(
        "  queueName: orders\n  region: eu-west-1\n  key: {alias: alias/team/orders}\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n",
    );
    let alias = "  key: {alias: alias/team/orders}\n";
    for (field, new_spec) in [
        (
            "queueName",
            &format!("  queueName: orders2\n  region: eu-west-1\n{alias}"),
        ),
        ("queueName", &format!("  region: eu-west-1\n{alias}")),
        (
            "region",
            &format!("  queueName: orders\n  region: eu-west-2\n{alias}"),
        ),
        ("region", &format!("  queueName: orders\n{alias}")),
        (
            "fifo",
            &format!("  queueName: orders\n  region: eu-west-1\n  fifo: true\n{alias}"),
        ),
        (
            "key.alias is immutable",
            &"  queueName: orders\n  region: eu-west-1\n  key: {alias: alias/team/orders-v2}\n"
                .to_string(),
        ),
        (
            "key.alias cannot be added or removed",
            &"  queueName: orders\n  region: eu-west-1\n".to_string(),
        ),
    ] {
        let new = manifest(&format!(
            "{new_spec}  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n"
        ));
        assert_api_server_refuses(&new, Some(&old), field);
    }
}

#[test]
fn cel_allows_an_update_that_changes_mutable_fields() {
    let old =
        manifest("  queueName: orders\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n");
    let new = manifest(
        "  queueName: orders\n  consumerRoleArns: [arn:aws:iam::111122223333:role/d]\n  queue: {visibilityTimeoutSeconds: 60}\n",
    );
    assert_eq!(api_server_errors(&new, Some(&old)), Vec::<String>::new());
}

fn assert_every_property_is_described(
    schema: &serde_json::Value,
    path: &str,
    missing: &mut Vec<String>,
) {
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, property) in properties {
        let here = format!("{path}.{name}");
        if property
            .get("description")
            .and_then(|d| d.as_str())
            .is_none_or(str::is_empty)
        {
            missing.push(here.clone());
        }
        assert_every_property_is_described(property, &here, missing);
        if let Some(items) = property.get("items") {
            assert_every_property_is_described(items, &format!("{here}[]"), missing);
        }
    }
}

#[test]
fn kubectl_explain_has_text_for_every_field() {
    let mut missing = Vec::new();
    assert_every_property_is_described(&common::crd_schema(), "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a doc comment: {missing:?}"
    );
}

/// The formats Kubernetes' OpenAPI validation knows; any other is warned about at every install.
const KUBERNETES_FORMATS: [&str; 10] = [
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "password",
    "uri",
    "uuid",
];

fn formats(schema: &serde_json::Value, found: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(object) => {
            if let Some(serde_json::Value::String(format)) = object.get("format") {
                found.push(format.clone());
            }
            object.values().for_each(|v| formats(v, found));
        }
        serde_json::Value::Array(values) => values.iter().for_each(|v| formats(v, found)),
        _ => {}
    }
}

#[test]
fn the_crd_names_only_formats_kubernetes_knows() {
    let mut found = Vec::new();
    formats(&common::crd_schema(), &mut found);
    assert!(found.contains(&"int64".to_string()), "{found:?}");
    let unknown: Vec<_> = found
        .iter()
        .filter(|f| !KUBERNETES_FORMATS.contains(&f.as_str()))
        .collect();
    assert!(unknown.is_empty(), "unknown formats: {unknown:?}");
}
