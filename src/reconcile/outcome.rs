//! What a pass came to, as values: [`super::pass`] and [`super::deletion`] make them,
//! [`super::status`] puts them in words. Nothing here is worded for people but the errors and
//! repairs the steps carry.

use crate::api::conditions::Reason;
use crate::api::{Placement, SecureQueueStatus};
use crate::aws::calls::CallCounts;
use crate::aws::held::HeldWrite;
use crate::evaluate::access_diff::AccessChange;
use crate::part::Part;
use crate::validation::{self, Problem};

use super::error::StepError;
use super::memory::Left;
use super::report::{Adoption, Finding, Repair};

/// How a converge pass treats its writes, and what its report says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// It writes what differs (`spec.management: Manage` or `Adopt`).
    Converge,
    /// It holds every write back and reports them: `securequeue diff`, and the dry run that
    /// finds what an adoption takes over.
    Preview,
    /// It holds every write back and reports what differs as drift (`spec.management: Observe`).
    Observe,
}

impl Mode {
    /// Whether its writes are held back.
    pub fn dry_run(self) -> bool {
        self != Mode::Converge
    }
}

/// What a converge pass came to: all its report is made of ([`super::status::converge`]).
pub(super) struct Outcome {
    /// `<namespace>/<name>`.
    pub name: String,
    pub mode: Mode,
    /// The pass over the verified plan, or why there was none.
    pub end: Result<Passed, Refused>,
}

/// Why a SecureQueue is refused before any AWS call: a condition reason and its message.
#[derive(Debug)]
pub(super) struct Refused {
    pub reason: Reason,
    pub message: String,
}

impl Refused {
    /// The refusal of a SecureQueue with these problems: the first one's reason, all of them
    /// described.
    pub fn of(problems: &[Problem]) -> Self {
        Self {
            reason: problems[0].refusal,
            message: validation::describe(problems),
        }
    }
}

/// A pass over a verified plan.
pub(super) struct Passed {
    /// The rows of the intent table the generated policies passed.
    pub rows: usize,
    /// The plan's estimate of the key's requests in 30 days.
    pub kms_estimate: u64,
    /// Where the resources stay although the operator's region is now another.
    pub kept_region: Option<KeptRegion>,
    /// What the lookups found, and each part's step in converge order.
    pub converged: Converged,
    /// The writes held back, in order, in a dry run; `None` when the pass wrote.
    pub held_writes: Option<Vec<HeldWrite>>,
    /// The AWS calls of the pass.
    pub calls: CallCounts,
}

/// The resources stay in `region`, where `status.identity` records them, while the operator's
/// region is now `operator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KeptRegion {
    pub region: String,
    pub operator: String,
}

/// What the steps of a pass did, each after reading all three parts.
pub(super) struct Converged {
    /// Where the resources are, when the lookups found any.
    pub found: Option<Placement>,
    /// What the policies in AWS allow, when all three parts could be read.
    pub read: Option<Read>,
    /// Each part's step, in converge order.
    pub steps: Vec<Stepped>,
}

impl Converged {
    /// What the memory keeps of each part, when every step held.
    pub fn left(&self) -> Option<[Left; 3]> {
        let left: Vec<Left> = self
            .steps
            .iter()
            .map(|step| match &step.ended {
                Ended::Held(done) => Some(done.left.clone()),
                Ended::Failed(_) | Ended::Blocked => None,
            })
            .collect::<Option<_>>()?;
        left.try_into().ok()
    }
}

/// What the policies read back from AWS showed, before this pass changed any.
#[derive(Default)]
pub(super) struct Read {
    /// The rows of the intent table they broke.
    pub findings: Vec<Finding>,
    /// Who gains and who loses what when the plan's policies replace them.
    pub changes: Vec<AccessChange>,
    /// What the pass uses although it is not the SecureQueue's own.
    pub adoption: Adoption,
}

/// How one part's step ended.
#[derive(Debug)]
pub(super) enum Ended<T> {
    /// It holds, having done this.
    Held(T),
    /// It failed.
    Failed(StepError),
    /// It was not started: an earlier step did not hold.
    Blocked,
}

impl<T> From<Result<T, StepError>> for Ended<T> {
    fn from(result: Result<T, StepError>) -> Self {
        match result {
            Ok(done) => Ended::Held(done),
            Err(error) => Ended::Failed(error),
        }
    }
}

/// One part's converge step.
pub(super) struct Stepped {
    pub part: Part,
    pub ended: Ended<Done>,
    /// The status fields it learned: a part's ARN and URL once it holds; where the key may be
    /// when the key's step failed.
    pub learned: SecureQueueStatus,
}

impl Stepped {
    /// A step that failed with `error`, learning nothing.
    pub fn failed(part: Part, error: StepError) -> Self {
        Self {
            part,
            ended: Ended::Failed(error),
            learned: SecureQueueStatus::default(),
        }
    }

    /// A step not started.
    pub fn blocked(part: Part) -> Self {
        Self {
            part,
            ended: Ended::Blocked,
            learned: SecureQueueStatus::default(),
        }
    }

    /// Whether it holds.
    pub fn holds(&self) -> bool {
        matches!(self.ended, Ended::Held(_))
    }
}

/// What a converge step that held did.
#[derive(Debug)]
pub(super) struct Done {
    /// How messages name the part: the key's ARN and alias, a queue's URL.
    pub id: String,
    pub created: bool,
    /// Whether it is used although it is not the SecureQueue's own.
    pub adopted: bool,
    /// The drift it put back.
    pub corrections: Vec<Repair>,
    /// The messages waiting in a queue, as read before this pass's writes.
    pub waiting: Option<u64>,
    /// What the memory keeps of it.
    pub left: Left,
}

/// What a deletion pass came to.
pub(super) enum DeletionOutcome {
    /// Nothing was touched: the SecureQueue only observes (`spec.management: Observe`).
    Observed,
    /// Everything stays in AWS (`spec.deletionPolicy: Retain`).
    Retained,
    /// Nothing was deleted: the binding of the SecureQueue's account is gone.
    Unbound(Refused),
    /// Nothing was deleted: which resources are the SecureQueue's cannot be told.
    Untold(Refused),
    /// Each part's deletion step, in deletion order, with what it did; and their AWS calls.
    Ran {
        steps: Vec<(Part, Ended<String>)>,
        calls: CallCounts,
    },
}
