//! What earlier passes of this process read of each resource's tags and queue URL, so that a
//! steady-state pass makes 6 reads instead of 10.
//!
//! A full look at a SecureQueue takes 10 reads: the key's DescribeKey, policy, rotation and tags,
//! and each queue's URL, attributes and tags. The URL of a queue never changes, and tags change
//! only when someone edits them, so a pass that remembers them reads the key's DescribeKey,
//! policy and rotation and each queue's attributes (5), plus the tags of the one resource whose
//! tags were read longest ago (1). Tag drift on any resource is therefore found within three
//! passes; everything that decides access (policies, rotation, key state, encryption, redrive)
//! is read on every pass.
//!
//! Remembered tags are used only for the very resource they were read from, because tags decide
//! ownership: a key by its key id (never reused), a queue by its URL and CreatedTimestamp (a
//! queue deleted and created again has a new one). A queue this process created is known by the
//! time of its CreateQueue call instead: SQS refuses a deleted queue's name for 60 seconds, so a
//! replacement is created at least 60 seconds later and cannot fall inside the 30 seconds of
//! tolerance. Nothing is remembered from a pass that failed, and a deletion forgets everything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::part::Part;
use crate::plan::Plan;

/// How much the operator's clock and AWS's may differ when matching a queue's creation time.
const CLOCK_TOLERANCE_SECONDS: i64 = 30;

/// Which resource the memory is about, by the name AWS knows it by: a key by alias, a queue by
/// name (whichever part it plays), each in its region.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) enum Slot {
    /// A key, by region and alias.
    Key { region: String, alias: String },
    /// A queue, by region and name.
    Queue { region: String, name: String },
}

impl Slot {
    /// The slot of `plan`'s `part`.
    fn of(plan: &Plan, part: Part) -> Self {
        let region = plan.region.clone();
        match part {
            Part::Key => Slot::Key {
                region,
                alias: plan.key.alias.clone(),
            },
            Part::DeadLetterQueue => Slot::Queue {
                region,
                name: plan.dead_letter_queue.name.clone(),
            },
            Part::Queue => Slot::Queue {
                region,
                name: plan.queue.name.clone(),
            },
        }
    }
}

/// The slots of a plan's parts, in [`Part::ALL`] order.
pub(super) fn slots(plan: &Plan) -> [Slot; 3] {
    Part::ALL.map(|part| Slot::of(plan, part))
}

/// The tags `plan` gives `part`.
fn planned_tags(plan: &Plan, part: Part) -> &Arc<BTreeMap<String, String>> {
    match part {
        Part::Key => &plan.key.tags,
        Part::DeadLetterQueue => &plan.dead_letter_queue.tags,
        Part::Queue => &plan.queue.tags,
    }
}

/// How a pass left one resource it converged.
#[derive(Clone, Debug)]
pub(super) struct Left {
    /// Which resource it is, when that is known.
    pub identity: Option<Identity>,
    /// Whether the pass read its tags (or wrote them whole) rather than relying on memory.
    pub tags_read: bool,
}

/// What identifies the resource the tags were read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Identity {
    /// A key, by key id.
    Key(String),
    /// A queue, by URL and creation time.
    Queue { url: String, created: Created },
}

/// When a queue was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Created {
    /// Its CreatedTimestamp, in seconds since the epoch, as SQS reported it.
    At(i64),
    /// This process created it: the clock read just after the CreateQueue call returned.
    ByUs(i64),
}

impl Created {
    /// Whether a queue SQS says was created at `observed` is this one.
    fn matches(self, observed: Option<i64>) -> bool {
        match (self, observed) {
            (Created::At(at), Some(observed)) => at == observed,
            (Created::ByUs(after), Some(observed)) => {
                (observed - after).abs() <= CLOCK_TOLERANCE_SECONDS
            }
            (_, None) => false,
        }
    }
}

/// One resource as a pass left it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    /// The resource.
    pub identity: Identity,
    /// Its tags when the pass ended: the plan's map, shared with its other two resources.
    pub tags: Arc<BTreeMap<String, String>>,
    /// When its tags were last read from AWS, in passes: the larger, the later.
    read: u64,
}

/// What a pass may rely on for one resource.
#[derive(Clone, Debug, Default)]
pub(super) enum Recall {
    /// Nothing: look it up by name and read its tags.
    #[default]
    Nothing,
    /// Its identity, but read the tags again: their turn has come.
    Audit(Seen),
    /// Its identity and its tags, if the resource found is the one remembered.
    Trust(Seen),
}

impl Recall {
    /// The remembered queue URL, if any.
    pub fn url(&self) -> Option<&str> {
        match self {
            Recall::Audit(seen) | Recall::Trust(seen) => match &seen.identity {
                Identity::Queue { url, .. } => Some(url),
                Identity::Key(_) => None,
            },
            Recall::Nothing => None,
        }
    }

    /// The remembered tags of the key `key_id`, when they may be used instead of a read.
    pub fn key_tags(&self, key_id: &str) -> Option<BTreeMap<String, String>> {
        match self {
            Recall::Trust(Seen {
                identity: Identity::Key(id),
                tags,
                ..
            }) if id == key_id => Some(BTreeMap::clone(tags)),
            _ => None,
        }
    }

    /// The remembered tags of the queue at `url` created at `created`, when they may be used
    /// instead of a read.
    pub fn queue_tags(&self, url: &str, created: Option<i64>) -> Option<BTreeMap<String, String>> {
        match self {
            Recall::Trust(Seen {
                identity:
                    Identity::Queue {
                        url: remembered,
                        created: when,
                    },
                tags,
                ..
            }) if remembered == url && when.matches(created) => Some(BTreeMap::clone(tags)),
            _ => None,
        }
    }

    /// When the tags were last read, for a resource whose tags this pass did not read.
    pub fn read(&self) -> Option<u64> {
        match self {
            Recall::Audit(seen) | Recall::Trust(seen) => Some(seen.read),
            Recall::Nothing => None,
        }
    }
}

/// The tags and URLs of resources earlier passes converged, shared by all passes of a process.
#[derive(Clone, Debug, Default)]
pub struct Memory(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    passes: u64,
    seen: HashMap<Slot, Seen>,
}

impl Memory {
    /// What a pass over `slots` may rely on: every remembered resource is trusted except the
    /// one whose tags were read longest ago, which is audited; when some resource is not
    /// remembered at all, its tags are read anyway and every remembered one is trusted.
    fn recall(&self, slots: [&Slot; 3]) -> [Recall; 3] {
        let state = self.0.lock().expect("memory");
        let seen = slots.map(|slot| state.seen.get(slot).cloned());
        let audited = if seen.iter().all(Option::is_some) {
            seen.iter()
                .enumerate()
                .min_by_key(|(_, s)| s.as_ref().map(|s| s.read))
                .map(|(i, _)| i)
        } else {
            None
        };
        std::array::from_fn(|i| match &seen[i] {
            None => Recall::Nothing,
            Some(s) if Some(i) == audited => Recall::Audit(s.clone()),
            Some(s) => Recall::Trust(s.clone()),
        })
    }

    /// A pass of this process begins; tags read from now on are later than any before.
    fn next_pass(&self) -> u64 {
        let mut state = self.0.lock().expect("memory");
        state.passes += 1;
        state.passes
    }

    /// A pass's turn at the memory over `plan`'s parts: what it may rely on, each part's
    /// [`Memory::recall`]. A dry run relies on nothing and teaches nothing: it reads everything
    /// afresh, and what it "made" does not exist.
    pub(super) fn turn(&self, plan: &Plan, dry_run: bool) -> Turn<'_> {
        if dry_run {
            return Turn {
                recalls: Default::default(),
                kept: None,
            };
        }
        let slots = slots(plan);
        let recalls = self.recall(slots.each_ref());
        let pass = self.next_pass();
        Turn {
            recalls,
            kept: Some(Kept {
                memory: self,
                slots,
                pass,
            }),
        }
    }

    /// Remembers the parts of `plan` after pass number `pass`, with the tags the plan gave
    /// them, when the pass converged all three (`finished`); forgets them otherwise.
    fn after_pass(
        &self,
        pass: u64,
        plan: &Plan,
        slots: [Slot; 3],
        recalls: &[Recall; 3],
        finished: Option<[Left; 3]>,
    ) {
        let Some(left) = finished else {
            self.forget(&slots.each_ref());
            return;
        };
        for (((part, slot), recall), left) in
            Part::ALL.into_iter().zip(slots).zip(recalls).zip(left)
        {
            let read = match recall.read() {
                Some(read) if !left.tags_read => read,
                _ => pass,
            };
            match left.identity {
                Some(identity) => {
                    self.remember(slot, identity, planned_tags(plan, part).clone(), read)
                }
                None => self.forget(&[&slot]),
            }
        }
    }

    /// Remembers a resource a pass converged: `read` is when its tags were last read.
    fn remember(
        &self,
        slot: Slot,
        identity: Identity,
        tags: Arc<BTreeMap<String, String>>,
        read: u64,
    ) {
        let seen = Seen {
            identity,
            tags,
            read,
        };
        self.0.lock().expect("memory").seen.insert(slot, seen);
    }

    /// Forgets resources: their pass failed, or they were deleted.
    pub(super) fn forget(&self, slots: &[&Slot]) {
        let mut state = self.0.lock().expect("memory");
        for slot in slots {
            state.seen.remove(*slot);
        }
    }
}

/// One pass's turn at the memory: what it may rely on for each part and, unless it is a dry
/// run, where it leaves what it converged.
pub(super) struct Turn<'a> {
    /// In [`Part::ALL`] order.
    recalls: [Recall; 3],
    kept: Option<Kept<'a>>,
}

/// Where a pass that writes leaves its parts.
struct Kept<'a> {
    memory: &'a Memory,
    slots: [Slot; 3],
    pass: u64,
}

impl Turn<'_> {
    /// What the pass may rely on for `part`.
    pub(super) fn recall(&self, part: Part) -> &Recall {
        &self.recalls[part.index()]
    }

    /// Ends the turn: remembers the parts the pass `left` as they are, when every step held;
    /// forgets them otherwise.
    pub(super) fn end(self, plan: &Plan, left: Option<[Left; 3]>) {
        if let Some(kept) = self.kept {
            kept.memory
                .after_pass(kept.pass, plan, kept.slots, &self.recalls, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(owner: &str) -> Arc<BTreeMap<String, String>> {
        Arc::new(BTreeMap::from([(
            "securequeue.io/name".to_string(),
            owner.to_string(),
        )]))
    }

    fn slots() -> [Slot; 3] {
        let queue = |name: &str| Slot::Queue {
            region: "us-east-1".into(),
            name: name.into(),
        };
        [
            Slot::Key {
                region: "us-east-1".into(),
                alias: "alias/k".into(),
            },
            queue("dlq"),
            queue("q"),
        ]
    }

    fn queue_identity(created: Created) -> Identity {
        Identity::Queue {
            url: "http://sqs/q".into(),
            created,
        }
    }

    fn remember_all(memory: &Memory, slots: &[Slot; 3]) {
        for (i, slot) in slots.iter().enumerate() {
            let pass = memory.next_pass();
            let identity = match slot {
                Slot::Key { .. } => Identity::Key(format!("key-{i}")),
                Slot::Queue { .. } => queue_identity(Created::At(100 + i as i64)),
            };
            memory.remember(slot.clone(), identity, tags("a"), pass);
        }
    }

    fn kinds(recalls: &[Recall]) -> Vec<&'static str> {
        recalls
            .iter()
            .map(|r| match r {
                Recall::Nothing => "nothing",
                Recall::Audit(_) => "audit",
                Recall::Trust(_) => "trust",
            })
            .collect()
    }

    #[test]
    fn nothing_is_trusted_before_a_pass_remembered_it() {
        let memory = Memory::default();
        let [k, d, q] = slots();
        assert_eq!(
            kinds(&memory.recall([&k, &d, &q])),
            ["nothing", "nothing", "nothing"]
        );
    }

    #[test]
    fn the_tags_read_longest_ago_are_audited_and_each_resource_takes_its_turn() {
        let memory = Memory::default();
        let s = slots();
        remember_all(&memory, &s);
        let [k, d, q] = &s;
        let mut audited = Vec::new();
        for _ in 0..6 {
            let recalls = memory.recall([k, d, q]);
            let pass = memory.next_pass();
            let turn = recalls
                .iter()
                .position(|r| matches!(r, Recall::Audit(_)))
                .expect("one resource is audited");
            assert_eq!(
                recalls
                    .iter()
                    .filter(|r| matches!(r, Recall::Trust(_)))
                    .count(),
                2
            );
            for (i, (slot, recall)) in s.iter().zip(&recalls).enumerate() {
                let (Recall::Audit(seen) | Recall::Trust(seen)) = recall else {
                    unreachable!()
                };
                let read = if i == turn { pass } else { seen.read };
                memory.remember(slot.clone(), seen.identity.clone(), tags("a"), read);
            }
            audited.push(turn);
        }
        assert_eq!(audited, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_forgotten_resource_is_read_and_the_others_are_trusted() {
        let memory = Memory::default();
        let s = slots();
        remember_all(&memory, &s);
        memory.forget(&[&s[1]]);
        let [k, d, q] = &s;
        assert_eq!(
            kinds(&memory.recall([k, d, q])),
            ["trust", "nothing", "trust"]
        );
    }

    #[test]
    fn remembered_tags_belong_to_one_key_id() {
        let memory = Memory::default();
        let s = slots();
        remember_all(&memory, &s);
        memory.next_pass();
        // Make the key the most recently read, so that it is trusted.
        let pass = memory.next_pass();
        memory.remember(s[0].clone(), Identity::Key("key-0".into()), tags("a"), pass);
        let [k, d, q] = &s;
        let [key, _, _] = memory.recall([k, d, q]);
        assert_eq!(key.key_tags("key-0").as_ref(), Some(&*tags("a")));
        assert_eq!(key.key_tags("another-key"), None);
    }

    #[test]
    fn a_queue_created_again_is_not_the_remembered_one() {
        let trusted = |created| {
            Recall::Trust(Seen {
                identity: queue_identity(created),
                tags: tags("a"),
                read: 1,
            })
        };
        let known = trusted(Created::At(1_000));
        assert!(known.queue_tags("http://sqs/q", Some(1_000)).is_some());
        assert!(known.queue_tags("http://sqs/q", Some(1_061)).is_none());
        assert!(known.queue_tags("http://sqs/q", None).is_none());
        assert!(known.queue_tags("http://sqs/other", Some(1_000)).is_none());

        let ours = trusted(Created::ByUs(1_000));
        assert!(ours.queue_tags("http://sqs/q", Some(999)).is_some());
        assert!(ours.queue_tags("http://sqs/q", Some(1_030)).is_some());
        // SQS keeps a deleted name for 60 s: a replacement is at least that much younger.
        assert!(ours.queue_tags("http://sqs/q", Some(1_060)).is_none());
        assert!(
            Recall::Audit(Seen {
                identity: queue_identity(Created::At(1_000)),
                tags: tags("a"),
                read: 1,
            })
            .queue_tags("http://sqs/q", Some(1_000))
            .is_none()
        );
    }
}
