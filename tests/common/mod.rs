//! Helpers shared by the integration tests: paths into the repository, the operator
//! configuration the tests run with, a base manifest, the example manifests, the built
//! `securequeue` binary, the generated CRD schema as the API server would apply it, and the chart
//! as helm renders it.
//!
//! Every test binary that says `mod common;` compiles all of it, and uses only its own part.
#![allow(dead_code)]

pub mod cli;
pub mod cluster;
pub mod examples;
pub mod helm;

use std::path::PathBuf;

use kube::CustomResourceExt;
use securequeue::api::SecureQueue;
use securequeue::manifest;
use securequeue::plan::{self, Plan};
use securequeue::resolve::Environment;
use securequeue::validation::Problem;
use serde_json::Value;

pub const ACCOUNT: &str = "111122223333";
pub const OPERATOR_ROLE: &str = "arn:aws:iam::111122223333:role/securequeue-operator";

/// The repository's root, whatever directory the test runs in.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A file or directory of the repository, by its path from the root (`deploy/examples`).
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(ROOT).join(relative)
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The configuration every test plans with: account 111122223333, region eu-west-1.
pub fn env() -> Environment {
    env_in("eu-west-1")
}

/// The configuration the tests run with, in `region`.
pub fn env_in(region: &str) -> Environment {
    Environment {
        account_id: ACCOUNT.to_string(),
        region: Some(region.to_string()),
        operator_role_arn: OPERATOR_ROLE.to_string(),
        cluster_id: "test".to_string(),
        allow_cross_account: false,
        guardrails: Default::default(),
    }
}

/// A valid manifest; `spec` lines are appended to its spec (indent them by two spaces).
pub fn manifest(spec: &str) -> String {
    format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: orders\n  namespace: shop\nspec:\n{spec}"
    )
}

/// Plans a one-document manifest with the given configuration.
pub fn plan_with(yaml: &str, env: &Environment) -> Result<Plan, Vec<Problem>> {
    let mut docs = manifest::parse(yaml).expect("test manifests are YAML");
    assert_eq!(docs.len(), 1, "one document expected");
    docs.remove(0)
        .parsed
        .and_then(|queue| plan::build(&queue, env))
}

/// Plans a one-document manifest with [`env`].
pub fn plan(yaml: &str) -> Result<Plan, Vec<Problem>> {
    plan_with(yaml, &env())
}

/// The generated CRD's schema, made strict about unknown fields as `kubectl apply` is by
/// default (server-side field validation `Strict`), and with list-type sets unique.
pub fn strict_schema() -> Value {
    let mut schema = crd_schema();
    // The root lists only spec and status; apiVersion, kind and metadata are implicit.
    make_strict(schema.pointer_mut("/properties/spec").unwrap());
    schema
}

/// The generated CRD's openAPIV3Schema.
pub fn crd_schema() -> Value {
    let crd = serde_json::to_value(SecureQueue::crd()).unwrap();
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .unwrap()
        .clone()
}

fn make_strict(schema: &mut Value) {
    if let Some(object) = schema.as_object_mut() {
        // The API server enforces `x-kubernetes-list-type: set` as uniqueness.
        if object.get("x-kubernetes-list-type") == Some(&Value::from("set")) {
            object.insert("uniqueItems".into(), Value::Bool(true));
        }
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".into(), Value::Bool(false));
        }
        for value in object.values_mut() {
            make_strict(value);
        }
    } else if let Some(array) = schema.as_array_mut() {
        array.iter_mut().for_each(make_strict);
    }
}

/// What the API server would say of a manifest: OpenAPI schema errors, then CEL rule failures
/// (with schema defaults applied first, as the API server does). `old` makes it an update.
pub fn api_server_errors(yaml: &str, old: Option<&str>) -> Vec<String> {
    let object: Value = serde_saphyr::from_str(yaml).expect("test manifests are YAML");
    let schema = strict_schema();
    let validator = jsonschema::validator_for(&schema).expect("the CRD schema compiles");
    let mut errors: Vec<String> = validator
        .iter_errors(&object)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect();
    let old: Option<Value> = old.map(|o| serde_saphyr::from_str(o).unwrap());
    if let Err(cel) =
        kube::core::cel::Validator::new().validate(&crd_schema(), &object, old.as_ref())
    {
        for e in cel.into_vec() {
            assert_eq!(
                e.kind,
                kube::core::cel::ErrorKind::ValidationFailure,
                "a CEL rule did not evaluate: {e:?}"
            );
            errors.push(format!("{}: {}", e.field_path, e.message));
        }
    }
    errors
}

/// Asserts that the API server would refuse `yaml` (an update of `old`, if given) with an error
/// containing `needle`.
pub fn assert_api_server_refuses(yaml: &str, old: Option<&str>, needle: &str) {
    let errors = api_server_errors(yaml, old);
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "expected an error containing {needle:?}, got {errors:#?}"
    );
}
