//! Item 9: `explain` answers only questions that mean something: a known action, a principal
//! that is an ARN or a service, one document.

use super::*;

const EXAMPLE: &str = "deploy/examples/sns-producer.yaml";
const ROLE: &str = "arn:aws:iam::111122223333:role/orders-worker";

fn explain(file: &str, principal: &str, action: &str, stdin: Option<&str>) -> Outcome {
    run(
        &[
            "explain",
            "-f",
            file,
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--region",
            "eu-west-1",
            "--principal",
            principal,
            "--action",
            action,
        ],
        stdin,
    )
}

#[test]
fn made_up_actions_and_principals_are_refused_naming_the_flag() {
    for (principal, action, flag) in [
        (ROLE, "sqs:SendMessages", "--action"),
        (ROLE, "sqs:*", "--action"),
        (ROLE, "s3:GetObject", "--action"),
        ("bob", "sqs:SendMessage", "--principal"),
        ("*", "sqs:SendMessage", "--principal"),
    ] {
        explain(EXAMPLE, principal, action, None).refused(2, &[flag], action);
    }
    let service = explain(EXAMPLE, "sns.amazonaws.com", "sqs:SendMessage", None);
    assert_eq!(service.code, Some(0), "{}", service.stderr);
}

#[test]
fn several_documents_are_refused_saying_how_many() {
    let two = format!(
        "{}\n---\n{}",
        std::fs::read_to_string(common::repo_path(EXAMPLE)).unwrap(),
        std::fs::read_to_string(common::repo_path("deploy/examples/fifo.yaml")).unwrap()
    );
    explain("-", ROLE, "sqs:ReceiveMessage", Some(&two)).refused(
        1,
        &["holds 2 documents"],
        "explain",
    );
}
