//! An evaluator of the IAM policy language, as AWS documents it in the IAM User Guide's "Policy
//! evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>),
//! for resource-based policies (key policies, queue policies, trust policies) and identity-based
//! (IAM) policies: a request is allowed when some statement allows it and none denies it; "If
//! policies that apply to a request include an Allow statement and a Deny statement, the Deny
//! statement trumps the Allow statement"; with neither, the request is implicitly denied
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html>).
//!
//! - [`evaluate`] and [`evaluate_as`]: one policy's decision on one request, from the statements
//!   that apply to it, each read as a statement of its [`Kind`] of policy;
//! - [`Request`]: who asks, what, on which resource, with the context keys AWS sets;
//! - [`condition`]: the `Condition` operators; [`wildcard`]: `*` and `?` in actions, resources
//!   and condition values;
//! - [`same_account`]: an identity policy and a resource policy judged together, for a principal
//!   of the resource's own account (with KMS's exception).
//!
//! Pure and general: policy documents (JSON) and a request in, a decision and the statements
//! that made it out, or an [`Error`] that names the statement it cannot read. It knows nothing
//! of SecureQueues; the tables of `crate::evaluate` are built on it.

pub mod condition;
mod decision;
mod error;
mod request;
pub mod same_account;
mod statement;
pub mod wildcard;

pub use decision::{Decision, Effect, evaluate, evaluate_as};
pub use error::{Error, StatementError};
pub use request::{Principal, Request};
pub use statement::Kind;
