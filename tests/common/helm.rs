//! The chart as `helm template` renders it, with the helm `tests/run.sh` installs and names in
//! SECUREQUEUE_HELM.

use std::process::Command;

use serde_json::Value;

use super::ROOT;

/// helm with `args`, run from the repository's root (the chart is `charts/securequeue`): its
/// output, or its error output when it refuses.
pub fn helm(args: &[&str]) -> Result<String, String> {
    let helm = std::env::var("SECUREQUEUE_HELM").expect(
        "SECUREQUEUE_HELM is not set: run the tests with tests/run.sh, which installs helm",
    );
    let out = Command::new(helm)
        .current_dir(ROOT)
        .args(args)
        .output()
        .expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("helm prints UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `helm template securequeue charts/securequeue --namespace securequeue-system` with `args`,
/// or helm's error.
pub fn try_template(args: &[&str]) -> Result<String, String> {
    let mut all = vec![
        "template",
        "securequeue",
        "charts/securequeue",
        "--namespace",
        "securequeue-system",
    ];
    all.extend_from_slice(args);
    helm(&all)
}

/// [`try_template`], which must succeed.
pub fn template(args: &[&str]) -> String {
    try_template(args).unwrap_or_else(|e| panic!("helm template {args:?}: {e}"))
}

/// The documents of rendered text, without the empty ones.
pub fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .expect("helm renders YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The chart rendered with `--set` of each of `values`, as documents.
pub fn rendered(values: &[&str]) -> Vec<Value> {
    let args: Vec<&str> = values.iter().flat_map(|v| ["--set", v]).collect();
    documents(&template(&args))
}

/// The one document of `kind` among `documents`.
pub fn the<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = documents.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} expected: {documents:#?}");
    found[0]
}
