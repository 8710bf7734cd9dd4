//! A converge pass as a value: [`Pass`] carries what the pass needs (the verified plan, the
//! account's clients, what this process knows of keys and remembers of earlier passes, what the
//! SecureQueue may claim), and its steps are its methods. [`Pass::run`] folds them into what the
//! pass came to ([`Passed`]), which [`super::status`] puts in words.
//!
//! A pass first reads all three parts at once and checks their owners: nothing is written while
//! any part is unreadable or taken. Then it writes what differs, part by part in [`Part::ALL`]
//! order; the first step that does not hold blocks the rest ([`super::steps`]).

use std::future::Future;
use std::pin::Pin;

use crate::api::{Placement, SecureQueueStatus};
use crate::aws::Clients;
use crate::aws::calls::CallLog;
use crate::aws::held::HeldWrites;
use crate::part::Part;
use crate::plan::QueuePlan;

use super::found::{self, Found, Looked};
use super::key::{self, KeyFound, Keys};
use super::memory::{self, Left, Turn};
use super::outcome::{Converged, Done, Ended, Mode, Passed, Stepped};
use super::ownership::{Claim, Owner};
use super::queue::{self, ExistingQueue};
use super::steps::{Start, in_order};
use super::verified::Verified;

/// What a queue's owner grants before it can be adopted.
const QUEUE_GRANT: &str = "its owner must first add the statement AllowTheOperatorToManageTheQueue (the operator's role may sqs:SetQueueAttributes, sqs:TagQueue, sqs:UntagQueue and sqs:DeleteQueue on the queue) to the queue's policy";
/// What a key's owner grants before it can be adopted.
const KEY_GRANT: &str = "its owner must first add the operator's role to the key policy as an administrator of the key (kms:PutKeyPolicy, kms:TagResource, kms:UntagResource, kms:EnableKeyRotation, kms:UpdateKeyDescription, kms:ScheduleKeyDeletion)";

/// One converge pass over a verified plan, with everything it needs.
pub(super) struct Pass<'a> {
    /// The plan, and what the report says of it.
    pub verified: Verified,
    /// The clients of the SecureQueue's account.
    pub adapters: Adapters,
    /// What this process knows of keys, and the SecureQueue's key ledger.
    pub keys: Keys<'a>,
    /// Which existing resources the pass may use.
    pub claim: Claim<'a>,
    /// What the pass may rely on from earlier passes, and where it leaves its own.
    pub memory: Turn<'a>,
    /// Where its AWS calls are counted.
    pub log: &'a CallLog,
}

/// The AWS clients of a pass, and where a dry run holds its writes back.
pub(super) struct Adapters {
    clients: Clients,
    held: Option<HeldWrites>,
}

impl Adapters {
    /// The account's `clients` for a pass in `mode`: as they are, or holding back every write.
    pub fn new(clients: Clients, mode: Mode) -> Self {
        if !mode.dry_run() {
            return Self {
                clients,
                held: None,
            };
        }
        let held = HeldWrites::default();
        Self {
            clients: clients.holding_writes(&held),
            held: Some(held),
        }
    }
}

impl Pass<'_> {
    /// Runs the pass, its calls counted in its log; the memory learns from it when every step
    /// held, and forgets its parts otherwise.
    pub async fn run(self) -> Passed {
        // On the heap, its type erased: the pass's future holds every step's state at once,
        // and is too deep a type for the compiler to prove it `Send` through every caller.
        let converging: Pin<Box<dyn Future<Output = Converged> + Send + '_>> =
            Box::pin(self.converge());
        let converged = self.log.scope(converging).await;
        let Pass {
            verified,
            adapters,
            memory,
            log,
            ..
        } = self;
        memory.end(&verified.plan, converged.left());
        Passed {
            rows: verified.rows,
            kms_estimate: verified.plan.kms.estimated_requests_per_30_days,
            kept_region: verified.kept_region,
            converged,
            held_writes: adapters.held.map(|held| held.writes()),
            calls: log.counts(),
        }
    }

    /// Reads, checks ownership, then writes part by part.
    async fn converge(&self) -> Converged {
        let looked = self.look().await;
        let identity = looked.identity(&self.verified.resolved);
        let found = match looked.found() {
            Ok(found) => found,
            Err(unreadable) => {
                return Converged {
                    found: identity,
                    read: None,
                    steps: unreadable,
                };
            }
        };
        let read = found.read(&self.verified.plan, &self.verified.resolved);
        Converged {
            found: identity.clone(),
            read: Some(read),
            steps: self.steps(found, identity).await,
        }
    }

    /// Looks all three parts up at once, each checked against its owner and the claim.
    async fn look(&self) -> Looked {
        let plan = &self.verified.plan;
        let owner = &Owner::from_tags(&plan.key.tags);
        let queue = |part, plan| {
            let recall = self.memory.recall(part);
            queue::observe(
                &self.adapters.clients.sqs,
                plan,
                owner,
                &self.claim,
                part,
                recall,
            )
        };
        // Each lookup on the heap while it runs: once they are done, the pass keeps no room
        // for them while it waits in its steps.
        let (key, dead_letter_queue, queue) = tokio::join!(
            Box::pin(key::observe(
                &self.adapters.clients.kms,
                &plan.key,
                owner,
                &self.claim,
                &self.keys,
                self.memory.recall(Part::Key)
            )),
            Box::pin(queue(Part::DeadLetterQueue, &plan.dead_letter_queue)),
            Box::pin(queue(Part::Queue, &plan.queue)),
        );
        Looked {
            key,
            dead_letter_queue,
            queue,
        }
    }

    /// The steps, in order, each started only when its turn comes.
    async fn steps(&self, found: Found, identity: Option<Placement>) -> Vec<Stepped> {
        let plan = &self.verified.plan;
        let Found {
            key,
            dead_letter_queue,
            queue,
        } = found;
        let steps: Vec<(Part, Start<'_, Stepped>)> = vec![
            (
                Part::Key,
                Box::new(move || Box::pin(self.key_step(key, identity))),
            ),
            (
                Part::DeadLetterQueue,
                Box::new(move || {
                    Box::pin(self.queue_step(
                        Part::DeadLetterQueue,
                        &plan.dead_letter_queue,
                        dead_letter_queue,
                    ))
                }),
            ),
            (
                Part::Queue,
                Box::new(move || Box::pin(self.queue_step(Part::Queue, &plan.queue, queue))),
            ),
        ];
        in_order(steps, Stepped::holds)
            .await
            .into_iter()
            .map(|(part, stepped)| stepped.unwrap_or_else(|| Stepped::blocked(part)))
            .collect()
    }

    /// The key's step: create the key, or put back what drifted. Where the resources are is
    /// known once a key may exist: after any failure but a CreateKey that certainly made none.
    async fn key_step(&self, found: KeyFound, identity: Option<Placement>) -> Stepped {
        let (plan, resolved) = (&self.verified.plan, &self.verified.resolved);
        let adopted = matches!(&found, KeyFound::Present(key) if key.adopted().is_some());
        let key = match key::ensure(&self.adapters.clients.kms, &plan.key, &self.keys, found).await
        {
            Ok(key) => key,
            Err(e) => {
                let e = if adopted { e.adopting(KEY_GRANT) } else { e };
                let identity = if e.created_no_key() {
                    identity
                } else {
                    identity.or_else(|| Some(found::located(resolved, None)))
                };
                return Stepped {
                    learned: SecureQueueStatus {
                        identity,
                        ..SecureQueueStatus::default()
                    },
                    ..Stepped::failed(Part::Key, e)
                };
            }
        };
        Stepped {
            part: Part::Key,
            learned: SecureQueueStatus {
                key_arn: Some(key.info.arn.clone()),
                identity: Some(found::located(resolved, Some(&key.info.key_id))),
                ..SecureQueueStatus::default()
            },
            ended: Ended::Held(Done {
                id: format!("{} ({})", key.info.arn, plan.key.alias),
                created: key.created,
                adopted: key.adopted,
                corrections: key.corrections,
                waiting: None,
                left: Left {
                    identity: Some(memory::Identity::Key(key.info.key_id)),
                    tags_read: key.tags_read,
                },
            }),
        }
    }

    /// A queue's step, the same for the dead-letter queue and the queue: create the queue, or
    /// put back what drifted.
    async fn queue_step(
        &self,
        part: Part,
        plan: &QueuePlan,
        found: Option<ExistingQueue>,
    ) -> Stepped {
        let adopted = found.as_ref().is_some_and(ExistingQueue::adopted);
        let done = match queue::ensure(&self.adapters.clients.sqs, plan, found).await {
            Ok(done) => done,
            Err(e) if adopted => return Stepped::failed(part, e.adopting(QUEUE_GRANT)),
            Err(e) => return Stepped::failed(part, e),
        };
        let learned = match part {
            Part::DeadLetterQueue => SecureQueueStatus {
                dead_letter_queue_arn: Some(plan.arn.clone()),
                dead_letter_queue_url: Some(done.url.clone()),
                dead_letter_queue_messages: done.messages,
                ..SecureQueueStatus::default()
            },
            Part::Queue => SecureQueueStatus {
                queue_name: Some(plan.name.clone()),
                queue_arn: Some(plan.arn.clone()),
                queue_url: Some(done.url.clone()),
                ..SecureQueueStatus::default()
            },
            Part::Key => unreachable!("the key has a step of its own"),
        };
        Stepped {
            part,
            learned,
            ended: Ended::Held(Done {
                id: done.url,
                created: done.created,
                adopted: done.adopted,
                corrections: done.corrections,
                waiting: done.messages,
                left: Left {
                    identity: done.identity,
                    tags_read: done.tags_read,
                },
            }),
        }
    }
}
