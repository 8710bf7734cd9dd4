//! The AWS names of a SecureQueue's resources: its queues' names, as the spec gives them or made
//! from its namespace and name, and its key's default alias. Resolution gives them to the plan,
//! and the guardrails hold them to their prefixes and to their namespace's names.

use crate::api::{SecureQueueSpec, limits};
use crate::validation::Problem;

/// The main and dead-letter queue names: `spec.queueName` or `<namespace>-<name>` (dots, which
/// SQS refuses, become dashes), the dead-letter queue `spec.deadLetterQueue.queueName` or the
/// main queue's name with `-dlq` before any `.fifo`.
pub fn queue_names(
    namespace: &str,
    name: &str,
    spec: &SecureQueueSpec,
) -> Result<(String, String), Problem> {
    let suffix = if spec.fifo { ".fifo" } else { "" };
    let base = match &spec.queue_name {
        Some(given) => given.strip_suffix(".fifo").unwrap_or(given).to_string(),
        None => format!("{namespace}-{name}").replace('.', "-"),
    };
    let main = format!("{base}{suffix}");
    let dead_letter = match &spec.dead_letter_queue.queue_name {
        Some(given) if *given == main => {
            return Err(Problem::new(
                "spec.deadLetterQueue.queueName",
                format!(
                    "{given} is the main queue's name too: a queue cannot be its own dead-letter queue (its failed messages would never leave it); choose another name",
                    given = crate::quote::quoted(given)
                ),
            ));
        }
        Some(given) => return Ok((main, given.clone())),
        None => format!("{base}-dlq{suffix}"),
    };
    if dead_letter.len() > limits::SQS_QUEUE_NAME_MAX {
        return Err(Problem::new(
            "spec.queueName",
            format!(
                "the dead-letter queue's name {dead_letter} would have {} characters, over SQS's {}; set a shorter spec.queueName",
                dead_letter.len(),
                limits::SQS_QUEUE_NAME_MAX,
                dead_letter = crate::quote::quoted(&dead_letter)
            ),
        ));
    }
    Ok((main, dead_letter))
}

/// `alias/securequeue/<namespace>/<name>`, dots replaced by dashes as KMS refuses them.
pub fn default_alias(namespace: &str, name: &str) -> String {
    format!("alias/securequeue/{namespace}/{name}").replace('.', "-")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A spec with one consumer and `yaml`'s fields, for this module's tests and resolve's.
    pub(crate) fn spec(yaml: &str) -> SecureQueueSpec {
        serde_saphyr::from_str(&format!(
            "consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{yaml}"
        ))
        .unwrap()
    }

    #[test]
    fn default_names_come_from_namespace_and_name_with_dots_as_dashes() {
        let names = queue_names("shop", "orders.v2", &spec("")).unwrap();
        assert_eq!(
            names,
            (
                "shop-orders-v2".to_string(),
                "shop-orders-v2-dlq".to_string()
            )
        );
        assert_eq!(
            default_alias("shop", "orders.v2"),
            "alias/securequeue/shop/orders-v2"
        );
    }

    #[test]
    fn a_queue_cannot_be_its_own_dead_letter_queue() {
        for (namespace, name, yaml) in [
            (
                "shop",
                "orders",
                "queueName: orders-main\ndeadLetterQueue: {queueName: orders-main}\n",
            ),
            (
                "shop",
                "orders",
                "deadLetterQueue: {queueName: shop-orders}\n",
            ),
            (
                "shop",
                "orders.v2",
                "deadLetterQueue: {queueName: shop-orders-v2}\n",
            ),
            (
                "shop",
                "orders",
                "fifo: true\nqueueName: l.fifo\ndeadLetterQueue: {queueName: l.fifo}\n",
            ),
        ] {
            let problem = queue_names(namespace, name, &spec(yaml)).unwrap_err();
            assert_eq!(problem.field, "spec.deadLetterQueue.queueName", "{yaml}");
            assert!(
                problem.reason.contains("its own dead-letter queue"),
                "{problem}"
            );
        }
        assert!(
            queue_names(
                "shop",
                "orders",
                &spec("deadLetterQueue: {queueName: shop-orders-dead}\n")
            )
            .is_ok()
        );
    }

    #[test]
    fn fifo_names_keep_the_suffix_last() {
        let names = queue_names(
            "shop",
            "orders",
            &spec("fifo: true\nqueueName: ledger.fifo\n"),
        )
        .unwrap();
        assert_eq!(
            names,
            ("ledger.fifo".to_string(), "ledger-dlq.fifo".to_string())
        );
        let defaulted = queue_names("shop", "orders", &spec("fifo: true\n")).unwrap();
        assert_eq!(
            defaulted,
            (
                "shop-orders.fifo".to_string(),
                "shop-orders-dlq.fifo".to_string()
            )
        );
    }

    #[test]
    fn the_longest_allowed_fifo_name_still_fits() {
        let name = format!("{}.fifo", "q".repeat(71));
        let (_, dead_letter) = queue_names(
            "ns",
            "n",
            &spec(&format!("fifo: true\nqueueName: {name}\n")),
        )
        .unwrap();
        assert_eq!(dead_letter.len(), 80);
    }
}
