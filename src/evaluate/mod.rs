//! SecureQueue's tables over the IAM policy evaluator of [`crate::iam`]: each asks the policies a
//! plan generates (or finds in AWS) a list of requests, and says which decisions must come out.
//!
//! - [`intent`]: every access a SecureQueue means to grant, and the nearby accesses that must stay
//!   denied, against its key policy and queue policies (`securequeue verify`, and each pass before
//!   its first write);
//! - [`access_diff`]: who gains and who loses each action when one policy replaces another
//!   (`securequeue diff`, and a pass that corrects a policy changed in AWS);
//! - [`containment`]: what the operator's own IAM policy lets it do, judged with each resource's
//!   policy as AWS judges requests within one account (`securequeue verify --operator`).
//!
//! The rules themselves are AWS's and live in [`crate::iam`], which cites where AWS states them:
//! one policy's decision ("Policy evaluation logic", IAM User Guide,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>),
//! an identity policy with a resource policy, and KMS's exception to that
//! ([`crate::iam::same_account`]). The tables add only who asks, what, and what must be the answer.

pub mod access_diff;
pub mod containment;
pub mod intent;
