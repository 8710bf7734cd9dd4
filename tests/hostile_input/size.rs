//! Item 8: input is bounded (8 MiB, and the YAML parser's limits on nesting, documents and
//! values), and a long or odd value is shown in part, escaped.

use super::*;

#[test]
fn an_input_larger_than_the_documented_bound_is_refused_naming_it() {
    let out = run(
        &[
            "plan",
            "-f",
            "/dev/zero",
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--region",
            "eu-west-1",
        ],
        None,
    );
    out.refused(1, &["/dev/zero: is larger than 8 MiB"], "plan");
}

#[test]
fn the_parsers_limits_are_named_with_their_values() {
    let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
    let documents = "---\n".repeat(1_100);
    let values = format!("a: [{}]\n", vec!["1"; 260_000].join(","));
    for (input, named) in [
        (deep, "nested more than 64 deep"),
        (documents, "more than 1024 documents"),
        (values, "more than 250000 values"),
    ] {
        for args in pipelines() {
            run(&args, Some(&input)).refused(1, &[named], args[0]);
        }
    }
}

#[test]
fn a_megabyte_arn_is_shown_in_part_with_its_length() {
    let arn = format!("arn:aws:iam::111122223333:role/{}", "x".repeat(1_000_000));
    let input = document(
        "shop",
        "orders",
        &format!("producers: {{roleArns: ['{arn}']}}"),
    );
    let out = run(&pipelines()[0], Some(&input));
    out.refused(
        1,
        &["spec.producers.roleArns[0]", "(1000031 characters)"],
        "plan",
    );
}

#[test]
fn invisible_and_line_breaking_characters_are_shown_escaped() {
    let input = document(
        "shop",
        "orders",
        r#"producers: {roleArns: ["arn:aws:iam::111122223333:role/a\u200B\u202E", "arn:aws:iam::111122223333:role/b\nc"]}"#,
    );
    let out = run(&pipelines()[0], Some(&input));
    out.refused(1, &["role/a<U+200B><U+202E>`", r"role/b\nc`"], "plan");
    assert_eq!(
        out.stderr.lines().count(),
        2,
        "one problem a line: {}",
        out.stderr
    );
}
