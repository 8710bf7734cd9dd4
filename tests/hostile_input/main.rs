//! The hostile-input catalogue: what a new user, or an attacker, may feed the `securequeue`
//! binary, one file per kind of input (names, dead-letter queues, collisions, shapes, size, tags,
//! flags, messages, `explain`, tenancy). Each case runs the binary as a pipeline would and holds
//! it to three promises:
//! - it is refused with the documented exit status, naming the field or flag;
//! - the refusal is a sentence ([`assert_plain`]): no Rust syntax, no value shown beyond 200
//!   characters, nothing a reader cannot see;
//! - `apply` refuses before AWS: its endpoint is a closed port ([`CLOSED`]), so a single call
//!   would show as `could not connect to`, and the tests check it does not.
//!
//! The rules themselves are unit-tested where they live (`resolve`, `validation`, `manifest`,
//! `guardrails`, `plan::collisions`); `tests/invalid_specs.rs` catalogues invalid spec fields.

#[path = "../common/mod.rs"]
mod common;

mod collisions;
mod dead_letter;
mod explain;
mod flags;
mod messages;
mod names;
mod shapes;
mod size;
mod tags;
mod tenancy;

use common::OPERATOR_ROLE;
use common::cli::{self, text};

/// An AWS endpoint nothing listens on: a call that reached it would fail loudly.
pub const CLOSED: &str = "http://127.0.0.1:9";

/// The head of every SecureQueue document.
pub const HEAD: &str = "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\n";

/// A consumer every spec may carry.
pub const CONSUMER: &str = "arn:aws:iam::111122223333:role/worker";

/// A SecureQueue `namespace/name` with `spec` (flow-style entries after the consumer); names are
/// written as JSON strings, which YAML reads as they are.
pub fn document(namespace: &str, name: &str, spec: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap();
    let spec = if spec.is_empty() {
        String::new()
    } else {
        format!(", {spec}")
    };
    format!(
        "{HEAD}metadata: {{name: {}, namespace: {}}}\nspec: {{consumerRoleArns: ['{CONSUMER}']{spec}}}\n",
        quote(name),
        quote(namespace)
    )
}

/// What a run printed and how it ended.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `securequeue <args>` on `stdin`, with static credentials so that a call to AWS would be
/// sent (and fail on the closed port) rather than stop at missing credentials.
pub fn run(args: &[&str], stdin: Option<&str>) -> Outcome {
    let out = cli::output(
        cli::command(args)
            .current_dir(common::ROOT)
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true"),
        stdin,
    );
    Outcome {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// The pipeline subcommands that read manifests, each with the operator's flags; `apply` against
/// the closed endpoint.
pub fn pipelines() -> Vec<Vec<&'static str>> {
    let operator = [
        "--operator-role-arn",
        OPERATOR_ROLE,
        "--region",
        "eu-west-1",
    ];
    let apply = ["apply", "-f", "-", "--endpoint-url", CLOSED];
    vec![
        [&["plan", "-f", "-"][..], &operator].concat(),
        [&["verify", "-f", "-"][..], &operator].concat(),
        [&apply[..], &operator].concat(),
    ]
}

/// `input` is refused by `plan`, `verify` and `apply` with exit status 1, each naming every one
/// of `named`, in plain words, and `apply` calls nothing.
pub fn refused_everywhere(input: &str, named: &[&str]) {
    for args in pipelines() {
        let out = run(&args, Some(input));
        out.refused(1, named, args[0]);
    }
}

impl Outcome {
    /// The run ended with `code`, its standard error names each of `named` and reads as plain
    /// words, nothing was printed as a result, and AWS was never called.
    pub fn refused(&self, code: i32, named: &[&str], what: &str) {
        self.failed(code, named, what);
        assert!(
            self.stdout.is_empty(),
            "{what} printed anyway: {}",
            self.stdout
        );
    }

    /// As [`Outcome::refused`], where the documents not refused may still be printed (`plan`
    /// prints each valid document of an input).
    pub fn failed(&self, code: i32, named: &[&str], what: &str) {
        let stderr = &self.stderr;
        assert_eq!(self.code, Some(code), "{what}: {stderr}{}", self.stdout);
        for name in named {
            assert!(
                stderr.contains(name),
                "{what}: `{name}` not named: {stderr}"
            );
        }
        let all = format!("{}{stderr}", self.stdout);
        assert!(
            !all.contains("could not connect"),
            "{what} called AWS: {all}"
        );
        assert_plain(stderr);
    }
}

/// The marks of a message that still speaks Rust: type names, `Debug` output, range syntax,
/// Rust's escapes.
const RUST: [&str; 14] = [
    "Some(",
    "None",
    "Option<",
    "Vec<",
    "u32",
    "u64",
    "f64",
    "::<",
    " { ",
    "..=",
    "\\u{",
    "SdkBody",
    "Error {",
    "DuplicateKeyPolicy",
];

/// `message` reads as sentences: no Rust syntax, no line longer than three quoted values and
/// their words, no control character but the line break, nothing invisible.
pub fn assert_plain(message: &str) {
    for rust in RUST {
        assert!(!message.contains(rust), "speaks Rust ({rust}): {message}");
    }
    for line in message.lines() {
        assert!(
            line.chars().count() <= 1_200,
            "a line of {} characters: {}…",
            line.chars().count(),
            line.chars().take(300).collect::<String>()
        );
    }
    let hidden = |c: char| c != '\n' && (c.is_control() || c.escape_debug().nth(1).is_some());
    if let Some(c) = message.chars().find(|&c| hidden(c) && !"\\'\"".contains(c)) {
        panic!("shows U+{:04X} raw: {message:?}", u32::from(c));
    }
}
