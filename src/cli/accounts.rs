//! `--accounts FILE`: the platform team's account bindings for the subcommands that plan
//! outside the cluster, so a pipeline binds namespaces to accounts as the controller does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::accounts::{Accounts, Tenant};
use crate::api::SecureQueue;
use crate::manifest;
use crate::resolve::Environment;
use crate::validation::Problem;

/// The account bindings a subcommand plans with.
#[derive(Args, Debug, Clone)]
pub(super) struct AccountsArgs {
    /// A file of SecureQueueAccount documents: the accounts SecureQueues may name in
    /// spec.accountId, and the namespaces each is bound to. Namespaces are matched by name
    /// (spec.namespaces); a namespaceSelector matches none here, as no namespace's labels are
    /// read. Without it, only the operator's own account may be used.
    #[arg(long = "accounts", value_name = "FILE")]
    accounts: Option<PathBuf>,
}

impl AccountsArgs {
    /// The bindings of the file, or every problem with it, one line each naming the document
    /// and field.
    pub(super) fn read(&self) -> Result<Accounts, Vec<String>> {
        let Some(path) = &self.accounts else {
            return Ok(Accounts::default());
        };
        let shown = path.display();
        let text =
            super::input::read_text(path).map_err(|e| vec![format!("--accounts {shown}: {e}")])?;
        let documents = manifest::parse_accounts(&text)
            .map_err(|e| vec![format!("--accounts {shown}: {e}")])?;
        let mut errors = Vec::new();
        let mut resources = Vec::new();
        for document in documents {
            match document.parsed {
                Ok(resource) => resources.push(resource),
                Err(problems) => errors.extend(
                    problems
                        .iter()
                        .map(|p| format!("--accounts {shown}: document {}: {p}", document.index)),
                ),
            }
        }
        let accounts = Accounts::of(&resources);
        errors.extend(
            accounts
                .problems()
                .into_iter()
                .map(|p| format!("--accounts {shown}: {p}")),
        );
        if errors.is_empty() {
            Ok(accounts)
        } else {
            Err(errors)
        }
    }

    /// The bindings of the file; or, after printing every problem with it, exit code 2.
    pub(super) fn read_or_exit(&self) -> Result<Accounts, ExitCode> {
        self.read().map_err(|errors| {
            for error in errors {
                eprintln!("error: {error}");
            }
            ExitCode::from(2)
        })
    }
}

/// The configuration `queue` is planned with under `accounts`, or why its namespace may not
/// use the account it names.
pub(super) fn environment(
    accounts: &Accounts,
    queue: &SecureQueue,
    home: &Environment,
) -> Result<Environment, Vec<Problem>> {
    accounts
        .tenant(queue, home)
        .map(|Tenant { env, .. }| env)
        .map_err(|problem| vec![problem])
}
