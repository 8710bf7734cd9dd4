//! The three parts of every SecureQueue: its KMS key, its dead-letter queue and its queue, with
//! each name the operator gives a part: its condition, its noun in messages, its Event actions.
//! One enum, so that a new use of a part cannot forget one of them, and no match on a condition
//! string needs a catch-all.

use serde::Serialize;

use crate::api::conditions::{DEAD_LETTER_QUEUE_READY, KEY_READY, QUEUE_READY};

/// One part of a SecureQueue. Serialized (and debug-printed) by its variant name, as the intent
/// table's `target` reads: `Key`, `DeadLetterQueue`, `Queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Part {
    /// The customer-managed KMS key both queues are encrypted with.
    Key,
    /// The dead-letter queue the queue redrives to.
    DeadLetterQueue,
    /// The main queue.
    Queue,
}

impl Part {
    /// Every part, in converge order: each needs the one before it (the queues are encrypted
    /// with the key, and the queue's redrive policy names the dead-letter queue).
    pub const ALL: [Part; 3] = [Part::Key, Part::DeadLetterQueue, Part::Queue];

    /// Every part, in deletion order: the converge order reversed.
    pub const DELETION_ORDER: [Part; 3] = [Part::Queue, Part::DeadLetterQueue, Part::Key];

    /// Its place in [`Part::ALL`], for arrays that hold one value per part.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The condition its step reports: `KeyReady`, `DeadLetterQueueReady`, `QueueReady`.
    pub fn condition(self) -> &'static str {
        match self {
            Part::Key => KEY_READY,
            Part::DeadLetterQueue => DEAD_LETTER_QUEUE_READY,
            Part::Queue => QUEUE_READY,
        }
    }

    /// The part whose step reports `condition`; `None` for `Ready` and the other conditions.
    pub fn of_condition(condition: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.condition() == condition)
    }

    /// What messages call it: "the {noun} ...".
    pub fn noun(self) -> &'static str {
        match self {
            Part::Key => "key",
            Part::DeadLetterQueue => "dead-letter queue",
            Part::Queue => "queue",
        }
    }

    /// The action of the Event telling that a pass created it.
    pub fn created_action(self) -> &'static str {
        match self {
            Part::Key => "CreateKey",
            Part::DeadLetterQueue => "CreateDeadLetterQueue",
            Part::Queue => "CreateQueue",
        }
    }

    /// The action of the Event telling that a pass adopted it.
    pub fn adopted_action(self) -> &'static str {
        match self {
            Part::Key => "AdoptKey",
            Part::DeadLetterQueue => "AdoptDeadLetterQueue",
            Part::Queue => "AdoptQueue",
        }
    }

    /// The action of the Event telling that a deletion deleted (or retained) it.
    pub fn deleted_action(self) -> &'static str {
        match self {
            Part::Key => "DeleteKey",
            Part::DeadLetterQueue => "DeleteDeadLetterQueue",
            Part::Queue => "DeleteQueue",
        }
    }

    /// The action of the Event telling that its policy in AWS breaks a row of the intent table.
    pub fn verified_action(self) -> &'static str {
        match self {
            Part::Key => "VerifyKeyPolicy",
            Part::DeadLetterQueue => "VerifyDeadLetterQueuePolicy",
            Part::Queue => "VerifyQueuePolicy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_reports_its_own_condition_and_is_found_by_it() {
        let conditions = Part::ALL.map(Part::condition);
        assert_eq!(
            conditions,
            ["KeyReady", "DeadLetterQueueReady", "QueueReady"]
        );
        for part in Part::ALL {
            assert_eq!(Part::of_condition(part.condition()), Some(part));
        }
        assert_eq!(Part::of_condition("Ready"), None);
        assert_eq!(Part::of_condition("PoliciesVerified"), None);
    }

    #[test]
    fn messages_name_each_part_by_its_noun() {
        assert_eq!(
            Part::ALL.map(Part::noun),
            ["key", "dead-letter queue", "queue"]
        );
    }

    #[test]
    fn the_key_comes_first_and_goes_last() {
        assert_eq!(Part::ALL, [Part::Key, Part::DeadLetterQueue, Part::Queue]);
        let mut reversed = Part::ALL;
        reversed.reverse();
        assert_eq!(Part::DELETION_ORDER, reversed);
        for (i, part) in Part::ALL.into_iter().enumerate() {
            assert_eq!(part.index(), i);
        }
    }

    #[test]
    fn event_actions_name_the_verb_and_the_part() {
        assert_eq!(
            Part::ALL.map(Part::created_action),
            ["CreateKey", "CreateDeadLetterQueue", "CreateQueue"]
        );
        assert_eq!(
            Part::ALL.map(Part::adopted_action),
            ["AdoptKey", "AdoptDeadLetterQueue", "AdoptQueue"]
        );
        assert_eq!(
            Part::ALL.map(Part::deleted_action),
            ["DeleteKey", "DeleteDeadLetterQueue", "DeleteQueue"]
        );
        assert_eq!(
            Part::ALL.map(Part::verified_action),
            [
                "VerifyKeyPolicy",
                "VerifyDeadLetterQueuePolicy",
                "VerifyQueuePolicy"
            ]
        );
    }

    #[test]
    fn a_part_serializes_as_the_intent_table_writes_its_target() {
        let written = serde_json::to_string(&Part::ALL).unwrap();
        assert_eq!(written, r#"["Key","DeadLetterQueue","Queue"]"#);
        assert_eq!(format!("{:?}", Part::DeadLetterQueue), "DeadLetterQueue");
    }
}
