//! Pure generation of every policy document the operator applies. No I/O.
//!
//! A reader who wants a policy opens one file: [`key`] for the key policy, [`queue`] for both
//! queue policies (built from the statements in [`statements`]), [`redrive`] for the redrive
//! documents, [`quota`] for the AWS size limits they must fit, and [`trust`] for the trust
//! policy of the role the operator assumes in another account.

pub mod actions;
pub mod document;
pub mod key;
pub mod normalize;
pub mod operator;
pub mod queue;
pub mod quota;
pub mod redrive;
pub mod statements;
pub mod trust;
