#![forbid(unsafe_code)]
//! securequeue: a Kubernetes operator that gives every `SecureQueue` a customer-managed KMS key,
//! an encrypted dead-letter queue and an encrypted main queue, each with least-privilege policies.
//!
//! This is the crate's architecture: the way from a watch event to a SecureQueue's status, the
//! layers and their modules, the entry points, and where each thing is decided. What the operator
//! does for the people who use it is in the repository's `README.md` and `docs/`.
//!
//! # From a watch event to the status
//!
//! One reconcile of one SecureQueue, as `securequeue run` makes it. Names with `::` are items of
//! this crate; names ending in `.rs` are files under `src/` whose items are private.
//!
//! ```text
//! API server: a SecureQueue is created, edited, annotated or deleted
//!   |  watch of metadata only: changes of generation, finalizers, deletion and the
//!   |  reconcile-requested-at annotation pass, status writes do not (controller::watching)
//!   v
//! controller::run                  kube's Controller, started once this replica holds the
//!   |                              Lease (controller::leader), at most --concurrency at once
//!   v
//! controller::reconcile::reconcile_latest   reads the SecureQueue afresh
//!   v
//! controller::reconcile::reconcile          finalizer securequeue.io/cleanup
//!   |
//!   +-- Apply --> reconcile::Reconciler::converge_recorded   (key ledger: status.keyCreation)
//!   |               |  Reconciler::tenant        the account and role (accounts, aws::session)
//!   |               |  plan::build_held          guardrails -> validation, resolve -> policy
//!   |               |                            -> plan, held to status.identity (placement)
//!   |               |  evaluate::intent::verify  the intent table, before any AWS call
//!   |               v
//!   |             reconcile/pass.rs   Pass::run: read the key, the dead-letter queue and the
//!   |               |                 queue at once, check ownership, then write key ->
//!   |               |                 dead-letter queue -> queue, only what differs; the first
//!   |               |                 failure blocks the rest. Every call goes through aws:
//!   |               |                 its budget, and for a write the fence
//!   |               v
//!   |             reconcile/status/converge.rs   what the pass came to, in words
//!   |               v
//!   |             reconcile::Report --> reconcile::status::of_pass: every condition and field
//!   |               v
//!   |             controller/reconcile.rs   the status by server-side apply, only if it changed;
//!   |                                       Events; metrics; come back at the resync place
//!   |                                       (controller::spread), with backoff, or on a change
//!   |                                       (api::conditions::Reason::revisit)
//!   |
//!   +-- Cleanup --> reconcile::Reconciler::delete_recorded --> reconcile/deletion.rs:
//!                   queue -> dead-letter queue -> key, as spec.deletionPolicy says
//! ```
//!
//! # Entry points
//!
//! - [`controller::run`]: `securequeue run`, the controller, given a [`reconcile::Reconciler`]
//!   and a [`controller::Config`]; it runs until SIGTERM or SIGINT, or until leadership is
//!   lost.
//! - [`controller::reconcile::reconcile_latest`] and [`controller::reconcile::reconcile`]: one
//!   reconcile, as kube's Controller calls it; [`controller::reconcile::error_policy`] requeues
//!   after a failure outside the AWS pass.
//! - The reconciler's passes: [`reconcile::Reconciler::converge_recorded`] (the controller's,
//!   with the key ledger in the status), [`reconcile::Reconciler::converge`] (`apply`'s),
//!   [`reconcile::Reconciler::preview`] (`diff`: every write held back), and
//!   [`reconcile::Reconciler::delete_recorded`] and [`reconcile::Reconciler::delete`]. The
//!   converges and the preview run the private `Reconciler::pass` (`src/reconcile/mod.rs`),
//!   which runs a `Pass` (`src/reconcile/pass.rs`) and has `src/reconcile/status/converge.rs`
//!   word what it came to; the deletions run `delete` in `src/reconcile/deletion.rs`.
//! - [`plan::build_resolved`] and its wrappers [`plan::build`], [`plan::build_held`] and
//!   [`plan::build_in_place`]: the plan of one SecureQueue, pure; `securequeue plan` prints
//!   [`plan::build_in_place`]'s.
//! - [`cli::Cli`]: the command line; `src/main.rs` parses it and calls [`cli::Cli::run`].
//!
//! # The layers
//!
//! From the inside out. The first three, the resource, the generation and the evaluator, are
//! pure: values in, values out, no I/O.
//!
//! **The resource.** [`api`]: the custom resource types, SecureQueue and SecureQueueAccount,
//! their bounds ([`api::limits`]) and patterns ([`api::patterns`]), and the condition
//! vocabulary ([`api::conditions`]). [`part`] names the three parts of every SecureQueue (its
//! key, dead-letter queue and queue) as every layer speaks of them: condition, noun, Event
//! actions, converge order.
//!
//! **Pure policy and plan generation.** A spec and the operator's configuration in, documents
//! and ordered AWS calls out:
//! - [`accounts`]: the `SecureQueueAccount` bindings, which account and role a SecureQueue
//!   works with, and STS session names;
//! - [`guardrails`]: the platform team's guardrails, applied to a SecureQueue before planning;
//!   [`guardrails::tenancy`], the names an `Observe` or `Adopt` SecureQueue may use;
//! - [`validation`]: spec validation in code; [`arn`]: ARN parsing and building; [`naming`]: the
//!   default queue names and key alias; [`resolve`]: resolution to names, ARNs, principals and
//!   tags; [`quote`]: how a value a user gave is shown in a message (escaped, cut at 200
//!   characters);
//! - [`placement`]: where a SecureQueue's resources live (`status.identity`), and the refusal of
//!   any move;
//! - [`policy`]: the IAM document types, the key and queue policies, redrive documents, quotas,
//!   the trust policy of a bound account's role ([`policy::trust`]) and the operator's own IAM
//!   policy ([`policy::operator`]);
//! - [`plan`]: the plan, the ordered calls of a fresh converge ([`plan::steps`]), the KMS
//!   estimate ([`plan::kms_cost`]);
//! - [`manifest`]: reading multi-document manifests, with field paths in errors.
//!
//! **The evaluator.** [`iam`]: the IAM policy evaluator, also pure, and general: it knows
//! nothing of SecureQueues; same-account decisions over an identity and a resource policy
//! ([`iam::same_account`]). [`evaluate`]: SecureQueue's tables over it, the intent table
//! ([`evaluate::intent`]: `verify`, `explain`, the `PoliciesVerified` condition); the
//! containment table of the operator's own IAM policy ([`evaluate::containment`],
//! `verify --operator`); the access diff of two versions of a policy
//! ([`evaluate::access_diff`], for `diff`, `Observe` and adoptions).
//!
//! **The AWS adapters.** [`aws`], the only code calling the SDKs: KMS ([`aws::kms`]), SQS
//! ([`aws::sqs`]), each call sent once through `src/aws/sender.rs` (budget, fence, errors); the
//! STS caller ([`aws::caller`]), errors ([`aws::error`]), call counting
//! ([`aws::calls`]); per-operation request budgets ([`aws::budget`], from
//! [`aws::request_quota`]; [`aws::queued`] tells the controller what a pass waits for);
//! CreateKey's no-blind-retry rule ([`aws::ambiguous`]); adapters that hold back every write for
//! dry runs and `Observe` ([`aws::held`]); the assumed-role sessions of bound accounts
//! ([`aws::session`]); the fence checked before each write is sent ([`aws::fenced`]). Behind
//! cargo features, kept out of the operator's build: added latency for benches
//! (`src/aws/latency.rs`, feature `bench`) and the cutting of a pass after N calls for the fault
//! tests (`src/aws/call_limit.rs`, feature `test-hooks`, which the tests turn on through a
//! dev-dependency on the crate itself).
//!
//! **The reconciler.** [`reconcile`]: one pass. In `src/reconcile/`:
//! - `verified.rs` is what a pass starts from: the plan, its policies proven by the intent table;
//! - `pass.rs` is the pass as a value, `Pass`, whose methods are its steps (key, dead-letter
//!   queue, queue; `deletion.rs` the reverse), run in order by `steps.rs`, where a pass stops;
//! - `key.rs` and `queue.rs` read, check ownership (`ownership.rs`) and write what differs
//!   (`diff.rs`, `tags.rs`); `found.rs` is what the lookups found: access drift and changes,
//!   adoptions;
//! - `ownership.rs`'s `Claim` says what each `spec.management` may use;
//! - [`reconcile::ledger`] is the key ledger: when a key a cut pass made can exist, recorded in
//!   the status before every CreateKey;
//! - `outcome.rs` is what a pass came to, as values; [`reconcile::status`] puts it in words and
//!   builds every condition and status field, and the adoption record (`status/observed.rs`
//!   turns an `Observe` dry run into drift and findings);
//! - `report.rs` is what a pass tells ([`reconcile::Report`]); `memory.rs` is what a process
//!   remembers between passes.
//!
//! **The Kubernetes controller.** [`controller`]: `securequeue run`.
//! - [`controller::reconcile`]: reconcile with finalizer, status writes, Events and when to come
//!   back;
//! - [`controller::watching`]: what is watched and how;
//! - [`controller::accounts`] and [`controller::namespaces`]: the SecureQueueAccounts and
//!   namespace labels followed;
//! - [`controller::spread`]: when each SecureQueue resyncs;
//! - [`controller::metrics`], [`controller::http`]: metrics and the HTTP endpoints;
//! - [`controller::leader`]: the leader Lease; [`fence`]: whether this process may still write,
//!   checked before every write to AWS and to the API server.
//!
//! **The command line.** [`cli`]: the `securequeue` subcommands (`src/cli/diff.rs`: `diff` and
//! `apply --dry-run`).
//!
//! # Where is it decided?
//!
//! | question | where |
//! | --- | --- |
//! | the dead-letter queue's policy | [`policy::queue::dead_letter_queue_policy`], from [`policy::statements`] |
//! | the main queue's policy | [`policy::queue::main_queue_policy`], from [`policy::statements`] |
//! | the key policy | [`policy::key::key_policy`] |
//! | the operator's own IAM policy | [`policy::operator`] |
//! | a SecureQueue's account and role | [`accounts::Accounts::tenant`] (pure) |
//! | the assumed role's credentials | [`aws::session`] |
//! | the bindings the controller follows | [`controller::accounts`] |
//! | where a pass stops before AWS | [`reconcile::Reconciler::tenant`] (the account binding) |
//! | ... and then | `Verified::of` in `src/reconcile/verified.rs`: guardrails, spec, moves, intent table |
//! | where a pass stops in AWS | `in_order` in `src/reconcile/steps.rs`: a failed step blocks the rest |
//! | a condition's reason | [`api::conditions::Reason`] |
//! | when it is retried | [`api::conditions::Reason::revisit`]: spec change, resync or backoff |
//! | what a pass may write to | `Claim` in `src/reconcile/ownership.rs`, by `spec.management` |
//! | writes held back (dry runs, `Observe`) | [`aws::held`] |
//! | what the status says | [`reconcile::status`], and nowhere else |
//! | who writes the status | `src/controller/reconcile.rs`, by server-side apply |
//! | ... under which field manager | [`controller::reconcile::FIELD_MANAGER`] |
//! | where the guardrails are applied | [`plan::build_resolved`], so every subcommand refuses as `run` does |

pub mod accounts;
pub mod api;
pub mod arn;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod evaluate;
pub mod fence;
pub mod guardrails;
pub mod iam;
pub mod manifest;
pub mod naming;
pub mod part;
pub mod placement;
pub mod plan;
pub mod policy;
pub mod quote;
pub mod reconcile;
pub mod resolve;
pub mod validation;
