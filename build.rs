//! Records the commit the binary is built from, for `securequeue --version`, as the environment
//! variable `SECUREQUEUE_COMMIT` of the crate's compilation. In order:
//! - `SOURCE_COMMIT`, set by whoever builds: the image build passes it as a build argument,
//!   since its context holds the sources but no `.git`;
//! - `git rev-parse HEAD` when building from a checkout;
//! - `unknown`, rather than a guess.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=SOURCE_COMMIT");
    let commit = std::env::var("SOURCE_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(checkout_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=SECUREQUEUE_COMMIT={commit}");
}

/// HEAD's commit, when building from a git checkout of this crate (not from a copy of it inside
/// some other repository), and the files to watch so that a new commit or another branch builds
/// again.
fn checkout_commit() -> Option<String> {
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    if Path::new(&top).canonicalize().ok()? != Path::new(&crate_dir).canonicalize().ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "--verify", "HEAD"])?;
    watch(&git(&["rev-parse", "--git-path", "HEAD"])?);
    if let Some(branch) = git(&["symbolic-ref", "--quiet", "HEAD"]) {
        watch_ref(&branch);
    }
    Some(commit)
}

/// A branch's commit lives in its loose ref file or, once git packs it, in `packed-refs`; a
/// commit on a packed branch writes the loose file anew, so its directory is watched then.
/// (Cargo reruns on every build for a path that does not exist: never name one.)
fn watch_ref(branch: &str) {
    let Some(loose) = git(&["rev-parse", "--git-path", branch]) else {
        return;
    };
    if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        watch(&packed);
    }
    let loose = Path::new(&loose);
    match loose.parent() {
        Some(dir) if !loose.exists() => watch(&dir.to_string_lossy()),
        _ => watch(&loose.to_string_lossy()),
    }
}

fn watch(path: &str) {
    if Path::new(path).exists() {
        println!("cargo::rerun-if-changed={path}");
    }
}

/// A git command's trimmed output, or None when git is missing or fails (no checkout).
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
