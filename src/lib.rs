#![forbid(unsafe_code)]
//! securequeue: a Kubernetes operator that gives every `SecureQueue` a customer-managed KMS key,
//! an encrypted dead-letter queue and an encrypted main queue, each with least-privilege policies.
//!
//! The layers, from the inside out:
//! - [`api`]: the custom resource types, their bounds and patterns;
//! - pure generation, no I/O: [`accounts`] decides the AWS account and role of each SecureQueue; [`arn`], [`validation`], [`naming`] and [`resolve`] turn a spec into concrete
//!   names, ARNs and principals; [`placement`] holds them to where the resources already are; [`policy`] builds every policy document; [`plan`] assembles the
//!   documents, attributes and ordered AWS calls; [`manifest`] reads manifests;
//! - [`cli`]: the `securequeue` command's subcommands.

pub mod accounts;
pub mod api;
pub mod arn;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod evaluate;
pub mod fence;
pub mod guardrails;
pub mod manifest;
pub mod naming;
pub mod placement;
pub mod plan;
pub mod policy;
pub mod quote;
pub mod reconcile;
pub mod resolve;
pub mod validation;
