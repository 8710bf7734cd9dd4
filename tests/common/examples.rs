//! The example manifests in `deploy/examples`, which several tests take one by one.

use std::path::PathBuf;

use securequeue::api::SecureQueue;
use securequeue::manifest;

/// One example manifest.
pub struct Example {
    /// Its file name, as `fifo.yaml`.
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// Every `.yaml` file in `deploy/examples`, by name.
pub fn all() -> Vec<Example> {
    let mut found: Vec<Example> = std::fs::read_dir(super::repo_path("deploy/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|path| Example {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&path).unwrap(),
            path,
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// Every SecureQueue the examples define, file by file.
pub fn queues() -> Vec<SecureQueue> {
    all()
        .iter()
        .flat_map(|example| manifest::parse(&example.text).unwrap())
        .map(|doc| doc.parsed.unwrap())
        .collect()
}
