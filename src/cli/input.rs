//! Reading `-f` manifest files for the subcommands that take them.

use std::io::Read;
use std::path::{Path, PathBuf};

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
                inputs.errors.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let parsed = match manifest::parse(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                inputs.errors.push(format!("{shown}: {e}"));
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

/// The most bytes securequeue reads from one input: far above any real manifest (the API server
/// keeps objects of at most about 1.5 MiB), far below what would exhaust a pipeline's memory.
pub const INPUT_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// The text of `path` (`-`: standard input), or why it cannot be read, to follow its name.
pub(super) fn read_text(path: &Path) -> Result<String, String> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?)
    };
    let mut bytes = Vec::new();
    reader
        .take(INPUT_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > INPUT_BYTES_MAX {
        return Err(format!(
            "is larger than {} MiB, the most securequeue reads from one input: split it into several files",
            INPUT_BYTES_MAX >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "is not UTF-8 text (the first bad byte is at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
