//! `securequeue verify` and `securequeue explain`: prove offline what the generated policies
//! allow and deny.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use crate::evaluate::intent::{Policies, Row, verify};
use crate::iam::{Request, evaluate};
use crate::part::Part;
use crate::plan;

use super::accounts::{self, AccountsArgs};
use super::input;
use super::operator::OperatorArgs;
use super::output::{Checked, Format};

#[derive(Args, Debug)]
pub(super) struct VerifyArgs {
    /// Manifest file with one or more SecureQueue documents; `-` reads standard input.
    #[arg(short = 'f', long = "filename", required_unless_present = "operator")]
    files: Vec<PathBuf>,

    #[command(flatten)]
    operator_args: OperatorArgs,

    #[command(flatten)]
    accounts: AccountsArgs,

    /// Check the operator's own IAM policy instead: every call it makes on its own key, alias
    /// and queues is allowed, and nothing that would change, tag, use or delete another's is
    /// (with the policies of the -f SecureQueues, or of a probe without -f).
    #[arg(long)]
    operator: bool,

    /// With --operator: check this IAM policy document (as attached to the operator's role)
    /// instead of the one `securequeue iam-policy` generates.
    #[arg(long, requires = "operator")]
    iam_policy: Option<PathBuf>,

    /// How to print the tables: lines for people, or one JSON or YAML document listing every
    /// SecureQueue's rows (the summary lines then go to standard error).
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    output: Format,

    /// The same as `-o json`, kept for scripts written before `-o`.
    #[arg(long, hide = true, conflicts_with = "output")]
    json: bool,
}

impl VerifyArgs {
    fn format(&self) -> Format {
        if self.json { Format::Json } else { self.output }
    }
}

/// `explain --resource`: the part whose policy decides, spelled `key`, `queue` or `dlq` and
/// listed in that order.
impl ValueEnum for Part {
    fn value_variants<'a>() -> &'a [Self] {
        &[Part::Key, Part::Queue, Part::DeadLetterQueue]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Part::Key => "key",
            Part::Queue => "queue",
            Part::DeadLetterQueue => "dlq",
        }))
    }
}

#[derive(Args, Debug)]
pub(super) struct ExplainArgs {
    /// A manifest with one SecureQueue.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,

    #[command(flatten)]
    operator_args: OperatorArgs,

    #[command(flatten)]
    accounts: AccountsArgs,

    /// Who asks: an IAM ARN, or a service principal such as `sns.amazonaws.com`.
    #[arg(long)]
    principal: String,

    /// The action, such as `sqs:ReceiveMessage`.
    #[arg(long)]
    action: String,

    /// Which policy decides.
    #[arg(long, value_enum, default_value_t = Part::Queue)]
    resource: Part,

    /// aws:SourceArn, for a service acting for a source.
    #[arg(long)]
    source_arn: Option<String>,

    /// aws:SourceAccount, for a service acting for a source.
    #[arg(long)]
    source_account: Option<String>,

    /// The request comes over plain HTTP (aws:SecureTransport false).
    #[arg(long)]
    no_tls: bool,

    /// aws:PrincipalOrgID of the caller.
    #[arg(long)]
    org: Option<String>,

    /// aws:SourceVpce of the request.
    #[arg(long)]
    vpce: Option<String>,

    /// kms:ViaService of the request (e.g. sqs.eu-west-1.amazonaws.com).
    #[arg(long)]
    via_service: Option<String>,
}

pub(super) fn verify_command(args: VerifyArgs) -> ExitCode {
    let env = match args.operator_args.offline_environment() {
        Ok(env) => env,
        Err(code) => return code,
    };
    let format = args.format();
    if args.operator {
        let operator = super::containment::Operator {
            env,
            iam_policy: args.iam_policy,
        };
        return super::containment::run(&args.files, &operator, format);
    }
    let bindings = match args.accounts.read_or_exit() {
        Ok(bindings) => bindings,
        Err(code) => return code,
    };
    let inputs = input::read(&args.files);
    if !inputs.errors.is_empty() {
        for error in &inputs.errors {
            eprintln!("error: {error}");
        }
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    let mut built = Vec::new();
    for (source, queue) in &inputs.queues {
        match accounts::environment(&bindings, queue, &env)
            .and_then(|env| plan::build_resolved(queue, &env))
        {
            Ok((resolved, plan)) => built.push((source, resolved, plan)),
            Err(problems) => {
                for problem in problems {
                    eprintln!("error: {source}: {problem}");
                }
                failed = true;
            }
        }
    }
    let collisions = plan::collisions(
        built
            .iter()
            .map(|(source, _, plan)| (source.as_str(), plan)),
    );
    for collision in &collisions {
        eprintln!("error: {collision}");
        failed = true;
    }
    let built = super::plan::without_later(built, &collisions);
    let mut checked = Vec::new();
    for (source, resolved, plan) in built {
        let rows = match verify(&Policies::of(&plan), &resolved) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("error: {source}: {e}");
                failed = true;
                continue;
            }
        };
        if format == Format::Text {
            print_rows(&plan.name, &rows);
        }
        let failing = rows.iter().filter(|r| !r.holds).count();
        format.summary(&format!(
            "{}: {} of {} checks hold",
            plan.name,
            rows.len() - failing,
            rows.len()
        ));
        failed |= failing > 0;
        checked.push(Checked {
            source: source.clone(),
            name: plan.name,
            holds: failing == 0,
            rows,
        });
    }
    if let Some(document) = format.document(&checked) {
        println!("{document}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_rows(name: &str, rows: &[Row]) {
    println!("{name}");
    for row in rows {
        let by = row.decision.statements();
        println!(
            "  {} {:<15} {:<12} expected {:<16} {}— {}",
            if row.holds { "ok  " } else { "FAIL" },
            format!("{:?}", row.check.target),
            format!("{:?}", row.decision.effect),
            format!("{:?}", row.check.expect),
            if by.is_empty() {
                String::new()
            } else {
                format!("by {by} ")
            },
            row.check.description
        );
    }
}

pub(super) fn explain_command(args: ExplainArgs) -> ExitCode {
    let env = match args.operator_args.offline_environment() {
        Ok(env) => env,
        Err(code) => return code,
    };
    let bindings = match args.accounts.read_or_exit() {
        Ok(bindings) => bindings,
        Err(code) => return code,
    };
    if let Err(error) = explainable(&args) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let inputs = input::read(std::slice::from_ref(&args.file));
    let mut errors = inputs.errors;
    if inputs.documents > 1 {
        errors.push(format!(
            "{}: holds {} documents; explain answers for one SecureQueue: give a file with that one alone",
            args.file.display(),
            inputs.documents
        ));
    }
    let Some((source, queue)) = inputs.queues.first().filter(|_| errors.is_empty()) else {
        for error in errors {
            eprintln!("error: {error}");
        }
        return ExitCode::FAILURE;
    };
    let built =
        accounts::environment(&bindings, queue, &env).and_then(|env| plan::build(queue, &env));
    let plan = match built {
        Ok(plan) => plan,
        Err(problems) => {
            for problem in problems {
                eprintln!("error: {source}: {problem}");
            }
            return ExitCode::FAILURE;
        }
    };
    let policies = Policies::of(&plan);
    let target = args.resource;
    let (policy, resource) = match target {
        Part::Key => (&policies.key, "*".to_string()),
        Part::Queue => (&policies.queue, plan.queue.arn.clone()),
        Part::DeadLetterQueue => (
            &policies.dead_letter_queue,
            plan.dead_letter_queue.arn.clone(),
        ),
    };
    let request = explained_request(&args, &resource);
    match evaluate(policy, &request) {
        Ok(decision) => {
            println!(
                "{:?} by the {target:?} policy of {}",
                decision.effect, plan.name
            );
            if !decision.denied_by.is_empty() {
                println!("  denied by: {}", decision.denied_by.join(", "));
            }
            if !decision.allowed_by.is_empty() {
                println!("  allowed by: {}", decision.allowed_by.join(", "));
            }
            if decision.denied_by.is_empty() && decision.allowed_by.is_empty() {
                println!("  no statement applies: denied by default");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses a request that cannot be made: a made-up action, or a principal that is neither an
/// ARN nor a service principal. The evaluator would answer "denied by default" for either,
/// which reads like a finding about the policy.
fn explainable(args: &ExplainArgs) -> Result<(), String> {
    if !crate::policy::actions::is_known(&args.action) {
        return Err(format!(
            "--action {} is not an Amazon SQS or AWS KMS action, such as sqs:SendMessage or kms:Decrypt (one action, no wildcards)",
            crate::quote::quoted(&args.action)
        ));
    }
    let service = args
        .principal
        .strip_suffix(".amazonaws.com")
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
        });
    if !service && crate::arn::Arn::parse(&args.principal).is_err() {
        return Err(format!(
            "--principal {} is neither an ARN (arn:aws:iam::111122223333:role/orders) nor a service principal (sns.amazonaws.com)",
            crate::quote::quoted(&args.principal)
        ));
    }
    Ok(())
}

/// The request `explain` is asked about, built with the intent table's request helpers: an IAM
/// principal (an ARN) signs it, a service principal sends it, over TLS unless `--no-tls`.
fn explained_request(args: &ExplainArgs, resource: &str) -> Request {
    let mut request = if args.principal.starts_with("arn:") {
        Request::signed(&args.principal, &args.action, resource)
    } else {
        Request::from_service(&args.principal, &args.action, resource)
    };
    if args.no_tls {
        request = request.over_plain_http();
    }
    if let Some(arn) = &args.source_arn {
        request = request.for_source_arn(arn);
    }
    if let Some(account) = &args.source_account {
        request = request.for_source_account(account);
    }
    if let Some(organization) = &args.org {
        request = request.in_organization(organization);
    }
    if let Some(endpoint) = &args.vpce {
        request = request.through_endpoint(endpoint);
    }
    if let Some(service) = &args.via_service {
        request = request.via_service(service);
    }
    request
}
