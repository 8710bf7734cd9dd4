//! What a converge pass starts from: the SecureQueue's plan, built and held to where its
//! resources are, with its policies proven against the intent table before the first write; or
//! why it is refused before any AWS call.

use crate::api::SecureQueue;
use crate::api::conditions::Reason;
use crate::evaluate::intent;
use crate::plan::{self, Plan};
use crate::resolve::{self, Environment, Resolved};

use super::outcome::{KeptRegion, Refused};

/// The plan of a SecureQueue that may be converged.
pub(super) struct Verified {
    pub resolved: Resolved,
    pub plan: Plan,
    /// The rows of the intent table its policies passed.
    pub rows: usize,
    /// Where its resources stay although the operator's region is now another.
    pub kept_region: Option<KeptRegion>,
}

impl Verified {
    /// The plan of `queue` in `env`; or why it is refused: a guardrail, an invalid spec, a move
    /// of its resources, or a policy failing the intent table (a failing row blocks the pass).
    pub fn of(queue: &SecureQueue, env: &Environment) -> Result<Self, Refused> {
        let (resolved, plan) = plan::build_held(queue, env).map_err(|p| Refused::of(&p))?;
        let failing = |message| Refused {
            reason: Reason::PolicyVerificationFailed,
            message,
        };
        let rows = intent::verify(&intent::Policies::of(&plan), &resolved)
            .map_err(|e| failing(e.to_string()))?;
        if let Some(row) = rows.iter().find(|r| !r.holds) {
            let count = rows.iter().filter(|r| !r.holds).count();
            return Err(failing(format!(
                "{count} of {} policy checks fail, e.g. `{}`: the {:?} policy decides {:?}",
                rows.len(),
                row.check.description,
                row.check.target,
                row.decision.effect
            )));
        }
        Ok(Self {
            kept_region: kept_region(&resolved, env),
            resolved,
            plan,
            rows: rows.len(),
        })
    }
}

/// Where the resources stay when they are in their recorded region although the operator's
/// region is now another one.
fn kept_region(resolved: &Resolved, env: &Environment) -> Option<KeptRegion> {
    let operator = env.region.as_deref()?;
    (resolved.region_source == resolve::RegionSource::Recorded && operator != resolved.region).then(
        || KeptRegion {
            region: resolved.region.clone(),
            operator: operator.to_string(),
        },
    )
}
