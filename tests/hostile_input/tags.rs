//! Item 5: tag values hold what AWS's tag pattern allows, and the keys securequeue and AWS keep
//! for themselves are refused.

use super::*;

#[test]
fn tag_values_outside_aws_pattern_are_refused() {
    let long = "v".repeat(257);
    for value in ["a\\tb", "a\\nb", "a\\u200Bb", "a\\u0000b", long.as_str()] {
        let input = document("shop", "orders", &format!("tags: {{team: \"{value}\"}}"));
        refused_everywhere(&input, &["spec.tags"]);
    }
}

#[test]
fn reserved_tag_keys_are_refused() {
    for key in ["aws:created", "securequeue.io/owner"] {
        let input = document("shop", "orders", &format!("tags: {{\"{key}\": x}}"));
        refused_everywhere(&input, &["spec.tags", "reserved"]);
    }
}

#[test]
fn tag_values_aws_allows_are_planned() {
    let input = document(
        "shop",
        "orders",
        "tags: {team: \"Payments_EU: a/b=c+d-e@f.g\"}",
    );
    let out = run(&pipelines()[0], Some(&input));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
