//! Item 4: every message a sentence: what is wrong, where, and what to do, in words.

use super::*;

#[test]
fn manifest_problems_read_as_one_sentence_each() {
    for (manifest, expected) in [
        (
            "apiVersion: v1\nkind: SecureQueue\nmetadata: {name: a}\nspec: {consumerRoleArns: []}\n".to_string(),
            "-: document 1 (default/a): apiVersion: is `v1`; expected `securequeue.io/v1alpha1`",
        ),
        (
            format!("{HEAD}metadata: {{name: null}}\nspec: {{consumerRoleArns: ['{CONSUMER}']}}\n"),
            "-: document 1 (default/<unnamed>): metadata.name: is required",
        ),
        (
            document("default", "a", "queue: {delaySeconds: soon}"),
            "-: document 1 (default/a): spec.queue.delaySeconds: is `soon`; expected a whole number from 0 to 4294967295",
        ),
        (
            format!("{HEAD}metadata: {{name: a\nspec: [\n"),
            "-: not valid YAML: line 4, column 5: ",
        ),
    ] {
        let out = run(&pipelines()[0], Some(&manifest));
        out.refused(1, &[expected], "plan");
        assert!(out.stderr.starts_with(expected), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "one problem, one line: {}", out.stderr);
    }
}

#[test]
fn an_unquoted_account_id_is_told_to_be_quoted() {
    let input = document("shop", "orders", "accountId: 012345678901");
    refused_everywhere(&input, &["spec.accountId", "quote it"]);
}

#[test]
fn a_control_character_is_named_not_printed() {
    for args in pipelines() {
        run(&args, Some("a: \u{0}\n")).refused(1, &["U+0000, a control character"], args[0]);
    }
}

#[test]
fn ranges_are_stated_in_words() {
    let input = document("shop", "orders", "queue: {delaySeconds: 9999}");
    refused_everywhere(&input, &["spec.queue.delaySeconds", "AWS accepts 0 to 900"]);
}

#[test]
fn a_call_that_cannot_reach_aws_names_the_endpoint_and_why() {
    let out = run(&pipelines()[2], Some(&document("shop", "orders", "")));
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!("could not connect to {CLOSED}")),
        "{all}"
    );
    assert!(all.contains("AwsUnavailable"), "{all}");
    assert_plain(&all);
}
