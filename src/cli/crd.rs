//! `securequeue crd`: a CRD's YAML, exactly as `crds/` holds it.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub(super) struct CrdArgs {
    /// Which CRD: `SecureQueue` (`crds/securequeue.io_securequeues.yaml`) or
    /// `SecureQueueAccount` (`crds/securequeue.io_securequeueaccounts.yaml`).
    #[arg(value_enum, default_value_t = Kind::SecureQueue)]
    kind: Kind,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
#[value(rename_all = "verbatim")]
enum Kind {
    SecureQueue,
    SecureQueueAccount,
}

pub(super) fn run(args: &CrdArgs) -> ExitCode {
    match args.kind {
        Kind::SecureQueue => print!("{}", crate::api::crd_yaml()),
        Kind::SecureQueueAccount => print!("{}", crate::api::account_crd_yaml()),
    }
    ExitCode::SUCCESS
}
