//! Reading `-f` manifest files for the subcommands that take them.

use std::io::Read;
use std::path::PathBuf;

use crate::api::SecureQueue;
use crate::manifest;

/// The SecureQueues of the files, each with its source (`file: document N (ns/name)`), and
/// every error met, one line each.
pub(super) struct Inputs {
    pub queues: Vec<(String, SecureQueue)>,
    pub errors: Vec<String>,
    pub documents: usize,
}

/// Reads every file; `-` is standard input.
pub(super) fn read(files: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs {
        queues: Vec::new(),
        errors: Vec::new(),
        documents: 0,
    };
    for path in files {
        let shown = path.display().to_string();
        let text = match read_text(path) {
            Ok(text) => text,
            Err(e) => {
                inputs.errors.push(format!("{shown}: cannot read: {e}"));
                continue;
            }
        };
        let parsed = match manifest::parse(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                inputs.errors.push(format!("{shown}: not valid YAML: {e}"));
                continue;
            }
        };
        for doc in parsed {
            inputs.documents += 1;
            let source = format!("{shown}: document {} ({})", doc.index, doc.label);
            match doc.parsed {
                Ok(queue) => inputs.queues.push((source, queue)),
                Err(problems) => inputs
                    .errors
                    .extend(problems.iter().map(|p| format!("{source}: {p}"))),
            }
        }
    }
    if inputs.documents == 0 && inputs.errors.is_empty() {
        inputs
            .errors
            .push("no SecureQueue documents in the input".to_string());
    }
    inputs
}

fn read_text(path: &PathBuf) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}
