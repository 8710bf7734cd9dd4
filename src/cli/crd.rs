//! `securequeue crd`: the CRD YAML, exactly as `crds/securequeue.io_securequeues.yaml` holds it.

use std::process::ExitCode;

pub(super) fn run() -> ExitCode {
    print!("{}", crate::api::crd_yaml());
    ExitCode::SUCCESS
}
