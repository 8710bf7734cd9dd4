//! Item 10: `Observe` and `Adopt` keep to their namespace's names unless the platform team
//! trusts the namespace across tenants; a name outside them is refused before AWS. (That an
//! observer reads nothing another namespace's SecureQueue owns is shown against the emulator in
//! `tests/aws_brownfield.rs`.)

use super::*;

const ELSEWHERE: &str = "queueName: billing-invoices, deadLetterQueue: {queueName: billing-invoices-dlq}, key: {alias: alias/securequeue/billing/invoices}";

#[test]
fn observe_and_adopt_of_another_namespaces_names_are_refused_naming_the_rule() {
    for management in ["Observe", "Adopt"] {
        let input = document(
            "shop",
            "orders",
            &format!("management: {management}, {ELSEWHERE}"),
        );
        refused_everywhere(
            &input,
            &[
                "spec.queueName: `billing-invoices`",
                "spec.deadLetterQueue.queueName",
                "spec.key.alias",
                "--cross-tenant-namespaces",
            ],
        );
    }
}

#[test]
fn a_namespace_the_platform_trusts_may_name_anything() {
    let input = document(
        "shop",
        "orders",
        &format!("management: Observe, {ELSEWHERE}"),
    );
    let args = [
        &pipelines()[0][..],
        &["--cross-tenant-namespaces", "platform,shop"],
    ]
    .concat();
    let out = run(&args, Some(&input));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn manage_may_name_anything_as_it_never_uses_what_it_did_not_make() {
    let out = run(
        &pipelines()[0],
        Some(&document("shop", "orders", ELSEWHERE)),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
