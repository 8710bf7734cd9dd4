//! Item 1: a queue is never its own dead-letter queue, whether the names are given or defaulted.

use super::*;

const NAMED: &str = "spec.deadLetterQueue.queueName";

#[test]
fn a_dead_letter_queue_named_as_the_main_queue_is_refused() {
    for spec in [
        "queueName: orders-main, deadLetterQueue: {queueName: orders-main}",
        "fifo: true, queueName: orders.fifo, deadLetterQueue: {queueName: orders.fifo}",
    ] {
        refused_everywhere(
            &document("shop", "orders", spec),
            &[NAMED, "its own dead-letter queue"],
        );
    }
}

#[test]
fn a_dead_letter_queue_named_as_the_default_main_queue_is_refused() {
    let input = document(
        "shop",
        "orders",
        "deadLetterQueue: {queueName: shop-orders}",
    );
    refused_everywhere(&input, &[NAMED, "`shop-orders`"]);
}

#[test]
fn another_dead_letter_queue_name_is_planned() {
    let input = document(
        "shop",
        "orders",
        "deadLetterQueue: {queueName: shop-orders-failed}",
    );
    let out = run(&pipelines()[0], Some(&input));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("shop-orders-failed"), "{}", out.stdout);
}
