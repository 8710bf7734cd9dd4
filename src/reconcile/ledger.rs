//! The key ledger: what a SecureQueue's status durably records of the CreateKey calls its
//! passes sent, so that a fresh converge reads nothing account-wide.
//!
//! CreateKey is not idempotent and KMS cannot look a key up by its tags, so a key made by a pass
//! cut off (or whose answer was lost) before its alias existed can be found only by listing
//! every key of the region and reading each unaliased one: the orphan search. It exists for that
//! one window. The ledger makes the window durable and narrow: just before every CreateKey the
//! pass records in the SecureQueue's status (`status.keyCreation`) that one may be sent, and once
//! the key's alias names it (and no key of a lost answer can still appear) the record is removed.
//! So a pass that finds no alias searches only when the record says an earlier pass may have
//! been cut in the window; without a record no CreateKey of this SecureQueue can have made a
//! key, and the pass creates one at once. A key the status already knows by id (its alias
//! deleted out of band) is read directly.
//!
//! The record must be written before CreateKey is sent: a pass that cannot write it creates
//! nothing. Removing it may fail harmlessly: the next pass searches once more and removes it.
//! The status is the ledger, so what it relies on is the status itself: a status erased by hand
//! (or restored from a backup taken without it) in the seconds between a cut CreateKey and the
//! next pass would let that pass make a second key, unaliased and unseen by the controller;
//! `securequeue delete`, which always searches, finds it by its tags or description.
//!
//! Where no durable record exists (`securequeue apply`, which keeps no status), a pass cannot
//! know what an earlier one sent, so every pass that finds no alias searches, and lost answers
//! are watched for in the process's memory (`KeyRecords` in `src/reconcile/key.rs`): the slower
//! path.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::api::{KeyCreation, SecureQueue};

/// How long after a CreateKey whose answer was lost a key it made may still appear: while the
/// record is younger, passes also search for surplus keys, and it is kept.
pub const LOST_CREATE_WATCH: Duration = Duration::from_secs(600);

/// A write to the durable record: done, or why not, in words.
pub type Written = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Where the record is kept: the SecureQueue's status, written by the controller.
pub trait LedgerStore: Send + Sync {
    /// Records `creation` (`None`: removes the record).
    fn write(&self, creation: Option<KeyCreation>) -> Written;
}

/// What a pass knows of its SecureQueue's CreateKey calls.
#[derive(Clone, Copy)]
pub enum KeyLedger<'a> {
    /// No durable record: every pass without an alias searches (see the module's
    /// documentation).
    Memory,
    /// The SecureQueue's status.
    Status {
        /// When an unsettled CreateKey was recorded, if one was.
        pending_since: Option<jiff::Timestamp>,
        /// The key the status last saw, by id.
        known_key: Option<&'a str>,
        /// Where to record; `None` in a dry run, which records nothing.
        store: Option<&'a dyn LedgerStore>,
    },
}

impl<'a> KeyLedger<'a> {
    /// The ledger `queue`'s status keeps, written to `store`.
    pub fn of(queue: &'a SecureQueue, store: Option<&'a dyn LedgerStore>) -> Self {
        let status = queue.status.as_ref();
        KeyLedger::Status {
            pending_since: status.and_then(|s| s.key_creation.as_ref()).map(|c| {
                c.requested_at
                    .parse()
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            }),
            known_key: status
                .and_then(|s| s.identity.as_ref())
                .and_then(|i| i.key_id.as_deref()),
            store,
        }
    }

    /// Whether a pass that finds no alias must search the region for an unaliased key of its
    /// own.
    pub fn must_search(&self) -> bool {
        match self {
            KeyLedger::Memory => true,
            KeyLedger::Status { pending_since, .. } => pending_since.is_some(),
        }
    }

    /// The key the status last saw, to be read directly when the alias is missing.
    pub fn known_key(&self) -> Option<&'a str> {
        match self {
            KeyLedger::Memory => None,
            KeyLedger::Status { known_key, .. } => *known_key,
        }
    }

    /// Whether a record younger than [`LOST_CREATE_WATCH`] says a key of a lost answer may
    /// still appear; `None` without a durable record (the process's memory decides).
    pub fn watching(&self, now: jiff::Timestamp) -> Option<bool> {
        match self {
            KeyLedger::Memory => None,
            KeyLedger::Status { pending_since, .. } => {
                Some(pending_since.is_some_and(|since| young(since, now)))
            }
        }
    }

    /// Records, before a CreateKey, that one may be sent now. Without a durable record there
    /// is nothing to write; in a dry run nothing is sent.
    pub async fn record_creation(&self, now: jiff::Timestamp) -> Result<(), String> {
        match self {
            KeyLedger::Status {
                store: Some(store), ..
            } => {
                let creation = KeyCreation {
                    requested_at: now.to_string(),
                };
                store.write(Some(creation)).await
            }
            _ => Ok(()),
        }
    }

    /// Removes the record once the key is settled: the alias names it, and either this pass
    /// made it with nothing recorded before (`made_alone`) or the record is older than any key
    /// of a lost answer can appear. A failure is only logged: the next pass searches once more.
    pub async fn settle(&self, made_alone: bool, now: jiff::Timestamp) {
        let KeyLedger::Status {
            pending_since,
            store: Some(store),
            ..
        } = self
        else {
            return;
        };
        let settled = match pending_since {
            None => made_alone,
            Some(since) => !young(*since, now),
        };
        if !settled {
            return;
        }
        if let Err(why) = store.write(None).await {
            tracing::warn!(%why, "could not remove the key creation record; the next pass searches once more");
        }
    }
}

/// A ledger kept in this process, as the controller keeps it in the status: for the benches and
/// the tests, which converge SecureQueues without an API server. A write can be made to fail.
#[cfg(any(test, feature = "bench", feature = "test-hooks"))]
#[derive(Debug, Default)]
pub struct KeptLedger {
    record: std::sync::Mutex<Option<KeyCreation>>,
    refusing: std::sync::atomic::AtomicBool,
    writes: std::sync::atomic::AtomicU32,
}

#[cfg(any(test, feature = "bench", feature = "test-hooks"))]
impl KeptLedger {
    /// The record it holds.
    pub fn record(&self) -> Option<KeyCreation> {
        self.record.lock().expect("kept record").clone()
    }

    /// From now on every write fails, as a write to an unreachable API server does.
    pub fn refuse_writes(&self) {
        self.refusing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many writes it took.
    pub fn writes(&self) -> u32 {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Gives `queue` the status the controller writes after `report`'s pass, with this
    /// ledger's record in it.
    pub fn after_pass(&self, queue: &mut SecureQueue, report: &super::report::Report) {
        let status = super::status::of_pass(
            report,
            queue.metadata.generation,
            queue.status.as_ref(),
            jiff::Timestamp::now(),
        );
        queue.status = Some(crate::api::SecureQueueStatus {
            key_creation: self.record(),
            ..status
        });
    }
}

#[cfg(any(test, feature = "bench", feature = "test-hooks"))]
impl LedgerStore for KeptLedger {
    fn write(&self, creation: Option<KeyCreation>) -> Written {
        use std::sync::atomic::Ordering;
        let refused = self.refusing.load(Ordering::SeqCst);
        if !refused {
            self.writes.fetch_add(1, Ordering::SeqCst);
            *self.record.lock().expect("kept record") = creation;
        }
        Box::pin(async move {
            if refused {
                Err("the API server is unreachable".to_string())
            } else {
                Ok(())
            }
        })
    }
}

/// Whether `since` is recent enough that a key of a CreateKey sent then may still appear.
fn young(since: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    now.duration_since(since).unsigned_abs() < LOST_CREATE_WATCH
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A store that keeps every write.
    #[derive(Default)]
    struct Kept(Mutex<Vec<Option<KeyCreation>>>);

    impl LedgerStore for Kept {
        fn write(&self, creation: Option<KeyCreation>) -> Written {
            self.0.lock().unwrap().push(creation);
            Box::pin(async { Ok(()) })
        }
    }

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn ledger<'a>(pending: Option<i64>, known: Option<&'a str>, store: &'a Kept) -> KeyLedger<'a> {
        KeyLedger::Status {
            pending_since: pending.map(at),
            known_key: known,
            store: Some(store),
        }
    }

    #[test]
    fn only_a_pending_record_or_no_record_at_all_means_searching() {
        let store = Kept::default();
        assert!(KeyLedger::Memory.must_search());
        assert!(!ledger(None, None, &store).must_search());
        assert!(!ledger(None, Some("k"), &store).must_search());
        assert!(ledger(Some(0), None, &store).must_search());
        assert_eq!(ledger(None, Some("k"), &store).known_key(), Some("k"));
    }

    #[test]
    fn a_record_is_watched_for_ten_minutes_and_memory_decides_without_one() {
        let store = Kept::default();
        assert_eq!(KeyLedger::Memory.watching(at(0)), None);
        assert_eq!(ledger(None, None, &store).watching(at(0)), Some(false));
        assert_eq!(ledger(Some(0), None, &store).watching(at(599)), Some(true));
        assert_eq!(ledger(Some(0), None, &store).watching(at(600)), Some(false));
    }

    #[tokio::test]
    async fn a_creation_is_recorded_before_and_settled_only_when_nothing_else_may_appear() {
        let store = Kept::default();
        let fresh = ledger(None, None, &store);
        fresh.record_creation(at(0)).await.unwrap();
        fresh.settle(true, at(1)).await;
        assert_eq!(
            *store.0.lock().unwrap(),
            [
                Some(KeyCreation {
                    requested_at: at(0).to_string()
                }),
                None
            ]
        );
        let steady = Kept::default();
        ledger(None, None, &steady).settle(false, at(0)).await;
        assert!(
            steady.0.lock().unwrap().is_empty(),
            "a steady pass writes nothing"
        );
        let lost = Kept::default();
        ledger(Some(0), None, &lost).settle(true, at(60)).await;
        assert!(
            lost.0.lock().unwrap().is_empty(),
            "a lost answer is still watched"
        );
        ledger(Some(0), None, &lost).settle(false, at(600)).await;
        assert_eq!(*lost.0.lock().unwrap(), [None]);
    }

    #[test]
    fn the_ledger_of_a_status_reads_its_record_and_known_key() {
        let mut queue: SecureQueue = serde_saphyr::from_str(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: q, namespace: n}\nspec: {consumerRoleArns: ['arn:aws:iam::111122223333:role/c']}\nstatus: {keyCreation: {requestedAt: '2027-01-15T08:00:00Z'}, identity: {partition: aws, accountId: '111122223333', region: eu-west-1, queueName: n-q, deadLetterQueueName: n-q-dlq, keyAlias: alias/securequeue/n/q, keyId: k-1}}\n",
        )
        .unwrap();
        let KeyLedger::Status {
            pending_since,
            known_key,
            ..
        } = KeyLedger::of(&queue, None)
        else {
            panic!("a status ledger");
        };
        assert_eq!(pending_since, Some("2027-01-15T08:00:00Z".parse().unwrap()));
        assert_eq!(known_key, Some("k-1"));
        queue.status = None;
        assert!(!KeyLedger::of(&queue, None).must_search());
    }
}
