//! Held writes: adapters that read AWS as usual but hold back every write, recording it
//! instead, in the order the pass made it. A dry run (`securequeue diff`) and `spec.management:
//! Observe` run the ordinary pass through such adapters, so what they report is exactly what a
//! pass would write, and nothing reaches AWS: a held write never leaves the process.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One write a pass would have made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldWrite {
    /// `service:Operation`, such as `sqs:SetQueueAttributes`.
    pub operation: String,
    /// What it writes to: a key id or alias, a queue name or URL.
    pub target: String,
}

impl std::fmt::Display for HeldWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.operation, self.target)
    }
}

/// The writes held back by the adapters sharing this record, in order.
#[derive(Clone, Debug, Default)]
pub struct HeldWrites(Arc<Mutex<Vec<HeldWrite>>>);

impl HeldWrites {
    /// Records a write of `operation` (of `service`) to `target`.
    pub(super) fn hold(&self, service: &str, operation: &str, target: &str) {
        self.0.lock().expect("held writes").push(HeldWrite {
            operation: format!("{service}:{operation}"),
            target: target.to_string(),
        });
    }

    /// The writes held so far.
    pub fn writes(&self) -> Vec<HeldWrite> {
        self.0.lock().expect("held writes").clone()
    }
}

/// Where an adapter's writes go: to AWS, or held back into a record.
#[derive(Clone, Debug, Default)]
pub(super) struct Gate(Option<HeldWrites>);

impl Gate {
    /// A gate holding every write back into `held`.
    pub(super) fn holding(held: &HeldWrites) -> Self {
        Self(Some(held.clone()))
    }

    /// Whether a write of `operation` (of `service`) to `target` is held back rather than sent;
    /// if so, it is recorded.
    pub(super) fn holds(&self, service: &str, operation: &str, target: &str) -> bool {
        self.0
            .as_ref()
            .map(|held| held.hold(service, operation, target))
            .is_some()
    }
}

/// What a held CreateKey or CreateQueue answers in place of AWS: a name that says it is none,
/// so that the rest of the pass (tagging it, aliasing it) is recorded against it.
pub(super) fn not_yet_made(what: &str) -> String {
    format!("(the new {what})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_kept_in_the_order_they_were_held() {
        let held = HeldWrites::default();
        let other = held.clone();
        held.hold("kms", "CreateKey", "alias/a");
        other.hold("sqs", "TagQueue", "q");
        let writes: Vec<String> = held.writes().iter().map(ToString::to_string).collect();
        assert_eq!(writes, ["kms:CreateKey alias/a", "sqs:TagQueue q"]);
    }
}
