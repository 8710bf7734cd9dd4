//! The built `securequeue` binary, run as a user or a pipeline runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_securequeue");

/// `securequeue args`, with stdin, stdout and stderr piped, and without the operator
/// configuration a developer's shell may export: the tests give it as flags.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("SECUREQUEUE_OPERATOR_ROLE_ARN")
        .env_remove("SECUREQUEUE_ACCOUNT_ID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command`, writes `stdin` to it (nothing if `None`) and closes it, and waits for its
/// output.
pub fn output(command: &mut Command, stdin: Option<&str>) -> Output {
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Output as text, for assertions and their messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `securequeue args` run in the repository's root, so the files the tests name are found
/// there, with no region from the environment; `stdin` as [`output`] takes it.
pub fn in_repository(args: &[&str], stdin: Option<&str>) -> Output {
    output(
        command(args)
            .current_dir(crate::common::ROOT)
            .env_remove("AWS_REGION"),
        stdin,
    )
}
