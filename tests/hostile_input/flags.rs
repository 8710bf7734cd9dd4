//! Item 6: the operator's flags are checked at start, naming the flag, before any document is
//! read: guardrail ARNs, prefixes (only the characters AWS allows there), organization and
//! account ids, namespaces, the endpoint URL and bounded numbers.

use super::*;

const EXAMPLE: &str = "deploy/examples/sns-producer.yaml";

fn plan_with(flag: &str, value: &str) -> Outcome {
    run(
        &[
            "plan",
            "-f",
            EXAMPLE,
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--region",
            "eu-west-1",
            flag,
            value,
        ],
        None,
    )
}

#[test]
fn guardrail_flags_are_checked_at_start_naming_the_flag() {
    for (flag, value) in [
        ("--admin-role-arns", "arn:aws:iam::111122223333:role/*"),
        ("--admin-role-arns", "arn:aws:iam::111122223333:root"),
        ("--queue-name-prefix", "*"),
        ("--queue-name-prefix", "team?"),
        ("--required-organization-id", "o-*"),
        ("--key-alias-prefix", "alias/team?"),
        ("--key-alias-prefix", "alias/aws/"),
        ("--allowed-account-ids", "1111*"),
        ("--cross-tenant-namespaces", "Team*"),
    ] {
        plan_with(flag, value).refused(2, &[flag], flag);
    }
}

#[test]
fn numbers_out_of_range_are_named_in_words() {
    for (flag, value, words) in [
        ("--aws-attempt-timeout-seconds", "0", "from 1 to 300"),
        ("--aws-quota-share", "2", "--aws-quota-share"),
    ] {
        let out = run(&["apply", "-f", EXAMPLE, flag, value], None);
        out.refused(2, &[flag, words], flag);
    }
}

#[test]
fn the_iam_policy_prefix_is_checked_as_the_guardrail_is() {
    let out = run(
        &[
            "iam-policy",
            "--account-id",
            "111122223333",
            "--queue-name-prefix",
            "team?",
        ],
        None,
    );
    out.refused(2, &["--queue-name-prefix"], "iam-policy");
}

#[test]
fn an_endpoint_that_is_not_a_url_is_refused_at_start() {
    let out = run(
        &["apply", "-f", EXAMPLE, "--endpoint-url", "not a url"],
        None,
    );
    out.refused(2, &["--endpoint-url"], "apply");
}
