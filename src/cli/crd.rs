//! `securequeue crd`: the CRD YAML, exactly as `crds/securequeue.io_securequeues.yaml` holds it.

use std::process::ExitCode;

use kube::CustomResourceExt;

use crate::api::SecureQueue;

/// The CRD as YAML.
pub fn crd_yaml() -> String {
    serde_saphyr::to_string(&SecureQueue::crd()).expect("the CRD always serializes")
}

pub(super) fn run() -> ExitCode {
    print!("{}", crd_yaml());
    ExitCode::SUCCESS
}
