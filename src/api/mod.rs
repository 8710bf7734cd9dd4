//! The `SecureQueue` custom resource (`securequeue.io/v1alpha1`): the spec a user writes, the
//! status the operator reports, and the condition vocabulary both sides share.
//!
//! Defaults live here and only here: the serde defaults become the OpenAPI defaults of the
//! generated CRD, so the API server and the offline `plan` see the same values.

pub mod account;
pub mod conditions;
pub mod limits;
pub mod patterns;
pub mod schema;
pub mod spec;
pub mod status;

pub use account::{AccountGuardrails, SecureQueueAccount, SecureQueueAccountSpec};
pub use spec::{
    DeadLetterQueueSettings, DeletionPolicy, KeySettings, Management, Producers, QueueSettings,
    SecureQueue, SecureQueueSpec,
};
pub use status::{AdoptionRecord, KeyCreation, Placement, SecureQueueStatus};

/// API group of every securequeue resource.
pub const GROUP: &str = "securequeue.io";
/// The served and stored API version.
pub const VERSION: &str = "v1alpha1";
/// The kind of the resource this operator serves.
pub const KIND: &str = "SecureQueue";
/// The kind of the platform team's account bindings.
pub const ACCOUNT_KIND: &str = "SecureQueueAccount";

/// The CustomResourceDefinition as YAML: what `securequeue crd` prints and
/// `crds/securequeue.io_securequeues.yaml` holds.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    serde_saphyr::to_string(&SecureQueue::crd()).expect("the CRD always serializes")
}

/// The SecureQueueAccount CustomResourceDefinition as YAML: what `securequeue crd
/// SecureQueueAccount` prints and `crds/securequeue.io_securequeueaccounts.yaml` holds.
pub fn account_crd_yaml() -> String {
    use kube::CustomResourceExt;
    serde_saphyr::to_string(&SecureQueueAccount::crd()).expect("the CRD always serializes")
}
