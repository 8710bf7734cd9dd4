//! The `-o` formats of the subcommands that print what they planned or did.

use clap::ValueEnum;
use serde::Serialize;

/// How a subcommand prints its result on standard output.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// Lines for people.
    Text,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

impl Format {
    /// `value` as a JSON or YAML document; `None` for text, which each subcommand writes itself.
    pub(super) fn document<T: Serialize>(self, value: &T) -> Option<String> {
        match self {
            Format::Text => None,
            Format::Json => {
                Some(serde_json::to_string_pretty(value).expect("results serialize to JSON"))
            }
            Format::Yaml => {
                Some(serde_saphyr::to_string(value).expect("results serialize to YAML"))
            }
        }
    }

    /// Writes a summary line: to standard output for text, to standard error next to a
    /// document, which stays the only thing on standard output.
    pub(super) fn summary(self, line: &str) {
        match self {
            Format::Text => println!("{line}"),
            Format::Json | Format::Yaml => eprintln!("{line}"),
        }
    }
}

/// The table `verify` checked for one SecureQueue, as a JSON or YAML document lists it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct Checked<R: Serialize> {
    /// The manifest the SecureQueue came from.
    pub source: String,
    /// `namespace/name`, or the name the plan gives it.
    pub name: String,
    /// Whether every row holds.
    pub holds: bool,
    /// The rows.
    pub rows: Vec<R>,
}
