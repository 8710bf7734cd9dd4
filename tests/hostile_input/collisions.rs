//! Item 3: documents of one input that would meet in AWS (one queue, dead-letter queue or alias
//! after defaulting, or the same SecureQueue twice) are refused, naming both.

use super::*;

/// `first` and `second` in one input: `plan`, `verify` and `apply` fail naming the second,
/// what they share and the first, and nothing of the second is planned.
fn collide(first: &str, second: &str, shared: &str, labels: [&str; 2]) {
    let input = format!("{first}---\n{second}");
    let [one, two] = labels;
    let named = [
        format!("document 2 ({two})"),
        shared.to_string(),
        format!("document 1 ({one})"),
    ];
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    for args in pipelines() {
        let out = run(&args, Some(&input));
        out.failed(1, &named, args[0]);
        assert!(
            !out.stdout.contains(&format!("\"{two}\"")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn two_namespaces_and_names_that_default_to_one_queue_are_refused() {
    collide(
        &document("a-b", "c", ""),
        &document("a", "b-c", ""),
        "its queue `a-b-c`",
        ["a-b/c", "a/b-c"],
    );
}

#[test]
fn a_given_queue_name_equal_to_another_default_is_refused() {
    collide(
        &document("shop", "orders", ""),
        &document("shop", "payments", "queueName: shop-orders"),
        "its queue `shop-orders`",
        ["shop/orders", "shop/payments"],
    );
}

#[test]
fn an_alias_equal_to_another_default_alias_is_refused() {
    collide(
        &document("shop", "orders", ""),
        &document(
            "shop",
            "payments",
            "key: {alias: alias/securequeue/shop/orders}",
        ),
        "its key alias `alias/securequeue/shop/orders`",
        ["shop/orders", "shop/payments"],
    );
}

#[test]
fn names_that_differ_only_in_dots_and_dashes_are_refused() {
    collide(
        &document("dots", "b.c", ""),
        &document("dots", "b-c", ""),
        "`dots-b-c`",
        ["dots/b.c", "dots/b-c"],
    );
}

#[test]
fn the_same_secure_queue_twice_is_refused() {
    let one = document("shop", "orders", "");
    let twice = format!(
        "{one}---\n{}",
        document("shop", "orders", "queue: {delaySeconds: 5}")
    );
    for args in pipelines() {
        let out = run(&args, Some(&twice));
        out.failed(1, &["document 2 (shop/orders)", "may appear once"], args[0]);
        assert!(
            !out.stdout.contains("\"delaySeconds\": 5"),
            "{}",
            out.stdout
        );
    }
}
