//! The Kubernetes API server the end-to-end and soak tests run on: the one `tests/run.sh`
//! starts, or the cluster KUBECONFIG names.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::{Client, CustomResourceExt};
use securequeue::api::{SecureQueue, SecureQueueAccount};
use tokio::sync::OnceCell;

/// A client of the cluster KUBECONFIG names.
pub async fn client() -> Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Client::try_default()
        .await
        .expect("KUBECONFIG names a cluster: run the tests with tests/run.sh")
}

/// A client, once this test binary has installed the CRDs and the API server serves them.
pub async fn with_crds() -> Client {
    static CRD: OnceCell<()> = OnceCell::const_new();
    let client = client().await;
    CRD.get_or_init(|| install_crds(client.clone())).await;
    client
}

async fn install_crds(client: Client) {
    // Create or replace rather than server-side apply: a 1.20 API server's apply refuses the
    // CEL fields it does not know, where create and replace drop them.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for mut crd in [SecureQueue::crd(), SecureQueueAccount::crd()] {
        let name = crd.metadata.name.clone().unwrap();
        match crds.get_opt(&name).await.unwrap() {
            None => {
                crds.create(&PostParams::default(), &crd).await.unwrap();
            }
            Some(existing) => {
                crd.metadata.resource_version = existing.metadata.resource_version;
                crds.replace(&name, &PostParams::default(), &crd)
                    .await
                    .unwrap();
            }
        }
    }
    let queues: Api<SecureQueue> = Api::all(client.clone());
    let accounts: Api<SecureQueueAccount> = Api::all(client);
    for _ in 0..100 {
        let queues_served = queues.list(&ListParams::default()).await.is_ok();
        if queues_served && accounts.list(&ListParams::default()).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SecureQueue and SecureQueueAccount CRDs are not served");
}

/// Creates the namespace `name`.
pub async fn create_namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
}
