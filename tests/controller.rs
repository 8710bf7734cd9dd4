//! The controller's reconcile against a mocked Kubernetes API server (kube's tower-test
//! pattern): each test scripts the requests the reconcile must make, in order, and answers them.
//! Most of these paths reach no AWS, and their AWS client points at a closed port; the one that
//! does uses the moto emulator.

mod common;
mod emulator;

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use securequeue::api::SecureQueue;
use securequeue::aws::request_quota::{QuotaOverride, QuotaSettings};
use securequeue::aws::{Aws, ConnectOptions};
use securequeue::controller::reconcile::{self, FINALIZER};
use securequeue::controller::{Context, metrics::Metrics};
use securequeue::guardrails::Guardrails;
use securequeue::reconcile::{Reconciler, Report, status};
use securequeue::resolve::Environment;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// One request the reconcile must make, and the answer.
struct Expect {
    method: Method,
    path: String,
    body_contains: Vec<&'static str>,
    answer: Answer,
    /// For a status write: the field manager that must make it.
    manager: &'static str,
}

enum Answer {
    Json(Value),
    EchoBody,
}

fn queue(spec: &str, extra_metadata: &str) -> SecureQueue {
    serde_saphyr::from_str(&format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: orders\n  namespace: shop\n  uid: 0b1c\n  generation: 1\n  resourceVersion: \"7\"\n{extra_metadata}spec:\n  region: us-east-1\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{spec}"
    ))
    .unwrap()
}

async fn context(guardrails: Guardrails) -> (Arc<Context>, ApiHandle) {
    let aws = Aws::connect(&ConnectOptions {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("us-east-1".into()),
        ..ConnectOptions::default()
    })
    .await;
    let env = Environment {
        guardrails,
        ..emulator::env()
    };
    context_with(Reconciler::new(aws, env))
}

fn context_with(reconciler: Reconciler) -> (Arc<Context>, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = Context::new(
        client,
        reconciler,
        Metrics::default(),
        Duration::from_secs(600),
    );
    (Arc::new(ctx), handle)
}

/// Answers the expected requests in order, then checks that no other request comes.
async fn serve(mut handle: ApiHandle, expected: Vec<Expect>) {
    for expect in expected {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request())
                .await
                .unwrap_or_else(|_| panic!("no {} {} came", expect.method, expect.path))
                .expect("the client is alive");
        assert_eq!(request.method(), expect.method, "{}", request.uri());
        assert!(
            request.uri().path() == expect.path,
            "expected {} {}, got {}",
            expect.method,
            expect.path,
            request.uri()
        );
        if expect.path.ends_with("/status") {
            // Every status write is a server-side apply owned by the operator: the whole status
            // by one field manager, the key ledger by its own.
            let query = request.uri().query().unwrap_or_default();
            let manager = format!("fieldManager={}", expect.manager);
            assert!(
                query.split('&').any(|pair| pair == manager) && query.contains("force=true"),
                "{}",
                request.uri()
            );
            assert_eq!(
                request.headers()["content-type"],
                "application/apply-patch+yaml"
            );
        }
        let body = request.into_body().collect_bytes().await.unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        for needle in &expect.body_contains {
            assert!(
                text.contains(needle),
                "{} lacks {needle}: {text}",
                expect.path
            );
        }
        let answer = match expect.answer {
            Answer::Json(value) => serde_json::to_vec(&value).unwrap(),
            Answer::EchoBody => body.to_vec(),
        };
        respond.send_response(Response::builder().body(Body::from(answer)).unwrap());
    }
    let extra = tokio::time::timeout(Duration::from_millis(300), handle.next_request()).await;
    if let Ok(Some((request, _))) = extra {
        panic!("unexpected request {} {}", request.method(), request.uri());
    }
}

/// A status write the reconcile must make, answered with `object`.
fn status_patch(body_contains: Vec<&'static str>, object: &SecureQueue) -> Expect {
    Expect {
        method: Method::PATCH,
        path: format!("{OBJECT}/status"),
        body_contains,
        answer: Answer::Json(serde_json::to_value(object).unwrap()),
        manager: "securequeue",
    }
}

/// The key ledger's write before a CreateKey (`recorded`), or its removal once the key is
/// settled, answered with `object`.
fn ledger_patch(recorded: bool, object: &SecureQueue) -> Expect {
    Expect {
        body_contains: vec![if recorded {
            "\"keyCreation\":{\"requestedAt\""
        } else {
            "\"status\":{}"
        }],
        manager: "securequeue-key-ledger",
        ..status_patch(Vec::new(), object)
    }
}

/// An Event the reconcile must publish.
fn event(body_contains: Vec<&'static str>) -> Expect {
    Expect {
        method: Method::POST,
        path: EVENTS.into(),
        body_contains,
        answer: Answer::EchoBody,
        manager: "",
    }
}

const OBJECT: &str = "/apis/securequeue.io/v1alpha1/namespaces/shop/securequeues/orders";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";

fn with_finalizer() -> String {
    format!("  finalizers: [{FINALIZER}]\n")
}

#[tokio::test]
async fn a_new_secure_queue_gets_the_finalizer_before_anything_else() {
    let (ctx, handle) = context(Guardrails::default()).await;
    let object = queue("", "");
    let mut finalized = serde_json::to_value(&object).unwrap();
    finalized["metadata"]["finalizers"] = json!([FINALIZER]);
    let server = tokio::spawn(serve(
        handle,
        vec![Expect {
            method: Method::PATCH,
            path: OBJECT.into(),
            body_contains: vec![FINALIZER],
            answer: Answer::Json(finalized),
            manager: "",
        }],
    ));
    let action = reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    server.await.unwrap();
}

#[tokio::test]
async fn a_guardrail_violation_is_stalled_with_an_event_and_no_aws_call() {
    let guardrails = Guardrails {
        queue_name_prefix: Some("team-".into()),
        ..Default::default()
    };
    let (ctx, handle) = context(guardrails).await;
    let object = queue("  queueName: orders\n", &with_finalizer());
    let server = tokio::spawn(serve(
        handle,
        vec![
            status_patch(
                vec![
                    "\"Stalled\"",
                    "GuardrailQueueNamePrefix",
                    "must start with `team-`",
                    "\"observedGeneration\":1",
                ],
                &object,
            ),
            event(vec!["Warning", "GuardrailQueueNamePrefix"]),
        ],
    ));
    let action = reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    assert_eq!(action, Action::await_change(), "a person must act");
    server.await.unwrap();
}

#[tokio::test]
async fn a_new_queue_waiting_for_its_policy_is_reconciling_with_a_normal_event() {
    let (ctx, handle) = context_with(emulator::reconciler().await);
    let unique = emulator::unique_namespace("controller-propagating");
    let spec = format!("  queueName: {unique}\n  key: {{alias: alias/{unique}}}\n");
    let object = queue(&spec, &with_finalizer());
    // SQS refuses the new queue's tagging until it has applied the queue's policy.
    emulator::inject_fault("TagQueue", "AccessDenied", 400, 1, &unique);
    let server = tokio::spawn(serve(
        handle,
        vec![
            ledger_patch(true, &object),
            ledger_patch(false, &object),
            status_patch(vec!["QueuePolicyPropagating", "\"Reconciling\""], &object),
            event(vec!["Normal", "CreateKey"]),
            event(vec!["Normal", "QueuePolicyPropagating"]),
        ],
    ));
    let action = reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    assert_ne!(action, Action::await_change());
    assert_ne!(
        action,
        Action::requeue(Duration::from_secs(600)),
        "backoff, not the resync"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn an_unchanged_status_is_not_written_again() {
    let guardrails = Guardrails {
        queue_name_prefix: Some("team-".into()),
        ..Default::default()
    };
    let (ctx, handle) = context(guardrails.clone()).await;
    let mut object = queue("  queueName: orders\n", &with_finalizer());
    let violation = &guardrails.apply(&object, "111122223333").unwrap_err()[0];
    let report = Report::refused(
        "shop/orders".into(),
        violation.reason,
        violation.problem.to_string(),
    );
    let now = jiff::Timestamp::now();
    object.status = Some(status::of_pass(&report, Some(1), None, now));
    let server = tokio::spawn(serve(handle, vec![]));
    reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn deleting_a_retained_secure_queue_reports_releases_and_forgets_it() {
    let (ctx, handle) = context(Guardrails::default()).await;
    let object = queue(
        "  deletionPolicy: Retain\n",
        &format!(
            "{}  deletionTimestamp: \"2026-11-23T10:00:00Z\"\n",
            with_finalizer()
        ),
    );
    let mut released = serde_json::to_value(&object).unwrap();
    released["metadata"]["finalizers"] = json!([]);
    let retained = |action: &'static str| event(vec!["Retained", action]);
    let server = tokio::spawn(serve(
        handle,
        vec![
            retained("DeleteQueue"),
            retained("DeleteDeadLetterQueue"),
            retained("DeleteKey"),
            Expect {
                method: Method::PATCH,
                path: OBJECT.into(),
                body_contains: vec!["remove", "/metadata/finalizers/0"],
                answer: Answer::Json(released),
                manager: "",
            },
        ],
    ));
    // An earlier pass failed; once the SecureQueue is gone, nothing of it stays.
    ctx.backoff(&object);
    assert_eq!(ctx.failing(), 1);
    reconcile::reconcile(Arc::new(object), ctx.clone())
        .await
        .unwrap();
    server.await.unwrap();
    assert_eq!(ctx.failing(), 0);
}

#[tokio::test]
async fn an_invalid_spec_is_stalled_and_waits_for_a_change() {
    let (ctx, handle) = context(Guardrails::default()).await;
    let object = queue("  queue: {delaySeconds: 9000}\n", &with_finalizer());
    let server = tokio::spawn(serve(
        handle,
        vec![
            status_patch(
                vec!["InvalidSpec", "spec.queue.delaySeconds", "\"Stalled\""],
                &object,
            ),
            event(vec!["InvalidSpec"]),
        ],
    ));
    let action = reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    server.await.unwrap();
}

#[tokio::test]
async fn a_pass_waiting_for_its_turn_at_a_budget_says_so_without_an_event_then_is_ready() {
    const REGION: &str = "eu-north-1";
    // One CreateKey every 2.5 s: a pass that comes right after another waits that long.
    let raised = QuotaOverride::parse("kms:CreateKey=0.4").unwrap();
    let reconciler = emulator::reconciler_in(REGION, QuotaSettings::new(1.0, [raised])).await;
    let unique = emulator::unique_namespace("controller-waiting");
    let mut ahead = emulator::secure_queue(&format!("{unique}-ahead"), "");
    ahead.spec.region = Some(REGION.into());
    emulator::converge(&reconciler, &ahead).await;
    let (ctx, handle) = context_with(reconciler);
    let spec = format!("  queueName: {unique}\n  key: {{alias: alias/{unique}}}\n");
    let mut object = queue(&spec, &with_finalizer());
    object.spec.region = Some(REGION.into());
    let server = tokio::spawn(serve(
        handle,
        vec![
            ledger_patch(true, &object),
            status_patch(
                vec![
                    "WaitingForRequestQuota",
                    "\"Reconciling\"",
                    "queued behind 0 other requests for kms:CreateKey",
                ],
                &object,
            ),
            ledger_patch(false, &object),
            status_patch(vec!["\"Ready\"", "\"True\"", "Created"], &object),
            event(vec!["Normal", "CreateKey"]),
            event(vec!["Normal", "CreateDeadLetterQueue"]),
            event(vec!["Normal", "CreateQueue"]),
        ],
    ));
    let action = reconcile::reconcile(Arc::new(object), ctx).await.unwrap();
    assert_ne!(action, Action::await_change());
    server.await.unwrap();
}
