//! The CRD on real API servers that run its CEL rules: `tests/run.sh` starts the v1.36 test
//! server once per supported minor (`--emulated-version` 1.33 to 1.36) and names them in
//! `SECUREQUEUE_CRD_SERVERS` (`label=kubeconfig ...`), or names the cluster `KUBECONFIG` gives.
//! On each: the CRD installs by server-side apply without a warning, every CEL rule refuses what
//! it should with its message and a legal update passes, the server fills in the defaults, and
//! the printer columns print; `kubectl explain` shows every field's text.

mod common;

use std::process::Command;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, CustomResourceExt};
use securequeue::api::{SecureQueue, SecureQueueAccount};
use serde_json::{Value, json};

const NAMESPACE: &str = "default";
const CRD_NAME: &str = "securequeues.securequeue.io";
const CONSUMER: &str = "arn:aws:iam::111122223333:role/c";

/// One API server to test on.
struct Server {
    label: String,
    kubeconfig: String,
}

fn servers() -> Vec<Server> {
    let list = std::env::var("SECUREQUEUE_CRD_SERVERS").expect(
        "SECUREQUEUE_CRD_SERVERS is not set: run the tests with tests/run.sh, which starts the API servers",
    );
    list.split_whitespace()
        .map(|entry| {
            let (label, kubeconfig) = entry
                .split_once('=')
                .expect("SECUREQUEUE_CRD_SERVERS entries are label=kubeconfig");
            Server {
                label: label.to_string(),
                kubeconfig: kubeconfig.to_string(),
            }
        })
        .collect()
}

fn kubectl(server: &Server, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let binary = std::env::var("SECUREQUEUE_KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
    let mut child = Command::new(&binary)
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {binary}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

async fn client(server: &Server) -> Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// Installs the CRD by server-side apply, as `kubectl apply --server-side` does, and waits
/// until the kind is served.
async fn install(server: &Server) -> Client {
    let client = client(server).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        CRD_NAME,
        &PatchParams::apply("securequeue-tests").force(),
        &Patch::Apply(SecureQueue::crd()),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: the CRD does not install: {e}", server.label));
    let api: Api<SecureQueue> = Api::namespaced(client.clone(), NAMESPACE);
    for _ in 0..100 {
        if api.list(&Default::default()).await.is_ok() {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{}: the SecureQueue kind is not served", server.label);
}

fn object(name: &str, spec: Value) -> Value {
    let mut full = json!({"consumerRoleArns": [CONSUMER]});
    full.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    json!({
        "apiVersion": "securequeue.io/v1alpha1",
        "kind": "SecureQueue",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": full,
    })
}

fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{n}-{nanos}")
}

/// Creates `value` through the typed API; the server's answer or its refusal.
async fn create(api: &Api<SecureQueue>, value: Value) -> Result<SecureQueue, kube::Error> {
    let queue: SecureQueue = serde_json::from_value(value).unwrap();
    api.create(&PostParams::default(), &queue).await
}

/// Replaces the object with `value`'s spec, as an update the CEL transition rules judge.
async fn update(api: &Api<SecureQueue>, name: &str, value: Value) -> Result<(), kube::Error> {
    let current = api.get(name).await?;
    let mut queue: SecureQueue = serde_json::from_value(value).unwrap();
    queue.metadata.resource_version = current.metadata.resource_version;
    api.replace(name, &PostParams::default(), &queue)
        .await
        .map(|_| ())
}

/// A CEL rule's case: the manifest refused (an update of `old` when given), and a part of the
/// rule's message the refusal must carry.
struct Case {
    message: &'static str,
    old: Option<Value>,
    new: Value,
}

fn cases() -> Vec<Case> {
    let case = |message, old: Option<Value>, new: Value| Case { message, old, new };
    vec![
        case(
            "queueName cannot be added or removed",
            Some(json!({"queueName": "orders"})),
            json!({}),
        ),
        case(
            "region cannot be added or removed",
            Some(json!({"region": "eu-west-1"})),
            json!({}),
        ),
        case(
            "key.alias cannot be added or removed",
            Some(json!({"key": {"alias": "alias/team/orders"}})),
            json!({}),
        ),
        case(
            "queueName must end in '.fifo' exactly when fifo is true",
            None,
            json!({"fifo": true, "queueName": "orders"}),
        ),
        case("should match", None, json!({"tags": {"team": "a\tb"}})),
        case(
            "a queue cannot be its own dead-letter queue",
            None,
            json!({"queueName": "orders", "deadLetterQueue": {"queueName": "orders"}}),
        ),
        case(
            "deadLetterQueue.messageRetentionSeconds must be at least queue.messageRetentionSeconds",
            None,
            json!({"queue": {"messageRetentionSeconds": 7200}, "deadLetterQueue": {"messageRetentionSeconds": 3600}}),
        ),
        case(
            "S3 event notifications cannot be delivered to a FIFO queue",
            None,
            json!({"fifo": true, "producers": {"s3BucketArns": ["arn:aws:s3:::uploads"]}}),
        ),
        case(
            "a FIFO queue can only subscribe to FIFO SNS topics",
            None,
            json!({"fifo": true, "producers": {"snsTopicArns": ["arn:aws:sns:eu-west-1:111122223333:orders"]}}),
        ),
        case(
            "queueName is immutable",
            Some(json!({"queueName": "orders"})),
            json!({"queueName": "orders2"}),
        ),
        case("fifo is immutable", Some(json!({})), json!({"fifo": true})),
        case(
            "region is immutable",
            Some(json!({"region": "eu-west-1"})),
            json!({"region": "us-east-1"}),
        ),
        case(
            "accountId is immutable",
            Some(json!({"accountId": "222233334444"})),
            json!({"accountId": "333344445555"}),
        ),
        case(
            "tag keys starting with 'aws:' or 'securequeue.io/' are reserved",
            None,
            json!({"tags": {"aws:team": "a"}}),
        ),
        case(
            "aliases under alias/aws/ are reserved for AWS managed keys",
            None,
            json!({"key": {"alias": "alias/aws/sqs"}}),
        ),
        case(
            "key.alias is immutable",
            Some(json!({"key": {"alias": "alias/team/orders"}})),
            json!({"key": {"alias": "alias/team/orders-v2"}}),
        ),
    ]
}

/// Every CEL rule's message in the generated CRD.
fn rule_messages() -> Vec<String> {
    fn collect(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::Array(rules)) = object.get("x-kubernetes-validations") {
                    found.extend(
                        rules
                            .iter()
                            .filter_map(|r| r["message"].as_str().map(str::to_string)),
                    );
                }
                object.values().for_each(|v| collect(v, found));
            }
            Value::Array(values) => values.iter().for_each(|v| collect(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    collect(&common::crd_schema(), &mut found);
    found
}

#[test]
fn every_cel_rule_of_the_crd_has_a_case() {
    let cases = cases();
    for message in rule_messages() {
        assert!(
            cases.iter().any(|c| message.contains(c.message)),
            "no case exercises the rule `{message}`"
        );
    }
}

#[tokio::test]
async fn every_cel_rule_refuses_what_it_should_and_a_legal_update_passes() {
    for server in servers() {
        let client = install(&server).await;
        let api: Api<SecureQueue> = Api::namespaced(client, NAMESPACE);
        for case in cases() {
            let name = unique("cel");
            let refused = match &case.old {
                None => create(&api, object(&name, case.new.clone())).await.err(),
                Some(old) => {
                    create(&api, object(&name, old.clone()))
                        .await
                        .unwrap_or_else(|e| panic!("{}: {name}: {e}", server.label));
                    update(&api, &name, object(&name, case.new.clone()))
                        .await
                        .err()
                }
            };
            let refused = refused.unwrap_or_else(|| {
                panic!(
                    "{}: the server accepted what `{}` refuses",
                    server.label, case.message
                )
            });
            assert!(
                refused.to_string().contains(case.message),
                "{}: expected `{}`, got {refused}",
                server.label,
                case.message
            );
            let _ = api.delete(&name, &DeleteParams::default()).await;
        }

        let name = unique("legal");
        create(
            &api,
            object(&name, json!({"queueName": "orders", "region": "eu-west-1"})),
        )
        .await
        .unwrap();
        let changed = json!({
            "queueName": "orders",
            "region": "eu-west-1",
            "consumerRoleArns": ["arn:aws:iam::111122223333:role/d"],
            "queue": {"visibilityTimeoutSeconds": 60},
            "tags": {"team": "a"},
        });
        update(&api, &name, object(&name, changed))
            .await
            .unwrap_or_else(|e| panic!("{}: a legal update was refused: {e}", server.label));
        api.delete(&name, &DeleteParams::default()).await.unwrap();
    }
}

#[tokio::test]
async fn the_server_fills_in_the_defaults() {
    for server in servers() {
        let client = install(&server).await;
        let api: Api<SecureQueue> = Api::namespaced(client.clone(), NAMESPACE);
        let name = unique("defaults");
        create(&api, object(&name, json!({}))).await.unwrap();
        // Read untyped: the typed spec would fill in serde's defaults itself.
        let untyped: Api<DynamicObject> =
            Api::namespaced_with(client, NAMESPACE, &ApiResource::erase::<SecureQueue>(&()));
        let spec = untyped.get(&name).await.unwrap().data["spec"].clone();
        for (pointer, expected) in [
            ("/fifo", json!(false)),
            ("/deletionPolicy", json!("Retain")),
            ("/queue/visibilityTimeoutSeconds", json!(30)),
            ("/queue/messageRetentionSeconds", json!(345_600)),
            ("/queue/maximumMessageSizeBytes", json!(262_144)),
            ("/deadLetterQueue/maxReceiveCount", json!(5)),
            ("/deadLetterQueue/messageRetentionSeconds", json!(1_209_600)),
            ("/key/dataKeyReusePeriodSeconds", json!(300)),
            ("/key/rotationPeriodDays", json!(365)),
            ("/key/deletionWindowDays", json!(30)),
        ] {
            let got = spec.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(got, expected, "{}: spec{pointer}", server.label);
        }
        api.delete(&name, &DeleteParams::default()).await.unwrap();
    }
}

#[tokio::test]
async fn the_crd_installs_by_server_side_apply_without_a_warning() {
    let crd = std::fs::read_to_string(common::repo_path("crds/securequeue.io_securequeues.yaml"))
        .unwrap();
    for server in servers() {
        let out = kubectl(
            &server,
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(&crd),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", server.label);
        assert!(!stderr.contains("Warning"), "{}: {stderr}", server.label);
    }
}

#[tokio::test]
async fn the_printer_columns_print() {
    for server in servers() {
        let api: Api<SecureQueue> = Api::namespaced(install(&server).await, NAMESPACE);
        let name = unique("columns");
        create(&api, object(&name, json!({"queueName": "orders-columns"})))
            .await
            .unwrap();
        let status = json!({
            "apiVersion": "securequeue.io/v1alpha1",
            "kind": "SecureQueue",
            "status": {
                "queueName": "orders-columns",
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Converged",
                    "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"
                }]
            }
        });
        api.patch_status(
            &name,
            &PatchParams::apply("securequeue-tests").force(),
            &Patch::Apply(status),
        )
        .await
        .unwrap();
        let out = kubectl(&server, &["get", "sq", &name, "-n", NAMESPACE], None);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let header: Vec<_> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            header,
            ["NAME", "READY", "QUEUE", "REASON", "AGE"],
            "{}: {text}",
            server.label
        );
        let row: Vec<_> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            &row[..4],
            [name.as_str(), "True", "orders-columns", "Converged"],
            "{}",
            server.label
        );
        api.delete(&name, &DeleteParams::default()).await.unwrap();
    }
}

/// The first sentence-start of a description, as `kubectl explain` prints it (it wraps lines).
fn first_words(description: &str) -> String {
    description
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every object in the schema with properties, by its `kubectl explain` path.
fn objects(schema: &Value, path: &str, found: &mut Vec<(String, Value)>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        if let Some(items) = schema.get("items") {
            objects(items, path, found);
        }
        return;
    };
    found.push((path.to_string(), schema.clone()));
    for (name, property) in properties {
        objects(property, &format!("{path}.{name}"), found);
    }
}

#[tokio::test]
async fn kubectl_explain_shows_every_fields_text() {
    let mut found = Vec::new();
    objects(&common::crd_schema(), "securequeue", &mut found);
    for server in servers()
        .iter()
        .filter(|s| s.label.ends_with("1.36") || s.label == "cluster")
    {
        install(server).await;
        for (path, schema) in &found {
            let out = kubectl(server, &["explain", path], None);
            let text = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                out.status.success(),
                "{}: explain {path}: {}",
                server.label,
                String::from_utf8_lossy(&out.stderr)
            );
            for (field, property) in schema["properties"].as_object().unwrap() {
                let Some(description) = property["description"].as_str() else {
                    continue;
                };
                assert!(
                    text.contains(&first_words(description)),
                    "{}: `kubectl explain {path}` lacks {field}'s text `{description}`: {text}",
                    server.label
                );
            }
        }
    }
}

#[tokio::test]
async fn streaming_lists_are_used_where_the_server_sends_initial_events() {
    use kube::api::PartialObjectMeta;
    use securequeue::controller::watching::supports_streaming_lists;
    for server in servers() {
        if !server.label.starts_with("1.") {
            println!(
                "{}: a cluster of unknown version; streaming lists not checked",
                server.label
            );
            continue;
        }
        let client = install(&server).await;
        let api: Api<PartialObjectMeta<SecureQueue>> = Api::all(client);
        let supported = supports_streaming_lists(&api).await;
        // WatchList is on by default from 1.34; 1.33 turned it off by default.
        let expected = !server.label.ends_with("1.33");
        assert_eq!(supported, expected, "{}", server.label);
    }
}

/// Installs the SecureQueueAccount CRD by server-side apply, from `crds/`, and waits until the
/// kind is served.
async fn install_accounts(server: &Server) -> Api<SecureQueueAccount> {
    let applied = kubectl(
        server,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(
            &std::fs::read_to_string(common::repo_path(
                "crds/securequeue.io_securequeueaccounts.yaml",
            ))
            .unwrap(),
        ),
    );
    assert!(
        applied.status.success() && applied.stderr.is_empty(),
        "{}: the SecureQueueAccount CRD does not install cleanly: {}",
        server.label,
        String::from_utf8_lossy(&applied.stderr)
    );
    let api: Api<SecureQueueAccount> = Api::all(client(server).await);
    for _ in 0..100 {
        if api.list(&Default::default()).await.is_ok() {
            return api;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{}: the SecureQueueAccount kind is not served",
        server.label
    );
}

#[tokio::test]
async fn a_binding_must_name_a_role_of_its_own_account_and_an_external_id_sts_takes() {
    for server in servers() {
        let api = install_accounts(&server).await;
        let binding = |name: &str, role_account: &str, external_id: &str| -> SecureQueueAccount {
            serde_json::from_value(json!({
                "apiVersion": "securequeue.io/v1alpha1",
                "kind": "SecureQueueAccount",
                "metadata": {"name": name},
                "spec": {
                    "accountId": "222233334444",
                    "roleArn": format!("arn:aws:iam::{role_account}:role/securequeue-target"),
                    "externalId": external_id,
                    "namespaces": ["payments"],
                },
            }))
            .unwrap()
        };
        let name = unique("binding");
        let made = api
            .create(
                &PostParams::default(),
                &binding(&name, "222233334444", "cluster-prod"),
            )
            .await;
        assert!(made.is_ok(), "{}: {made:?}", server.label);
        api.delete(&name, &DeleteParams::default()).await.unwrap();
        for (role_account, external_id, message) in [
            (
                "999999999999",
                "cluster-prod",
                "roleArn must be a role in accountId",
            ),
            ("222233334444", &"x".repeat(1225)[..], "externalId"),
            ("222233334444", "has space", "externalId"),
        ] {
            let refused = api
                .create(
                    &PostParams::default(),
                    &binding(&unique("bad"), role_account, external_id),
                )
                .await
                .expect_err("refused");
            assert!(
                refused.to_string().contains(message),
                "{}: {refused}",
                server.label
            );
        }
    }
}
