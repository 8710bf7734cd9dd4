//! Semantic comparison of the JSON documents AWS stores: IAM policies and redrive documents.
//!
//! AWS and emulators hand documents back reformatted: keys reordered, statements reordered, a
//! one-element array turned into a plain string, `"*"` for `{"AWS": "*"}`, numbers as strings.
//! Comparing raw strings would see drift on every pass and rewrite the policy forever (the most
//! reported bug of ACK and Crossplane), so both sides are put in one canonical form first. The
//! canonical form changes only spelling, never meaning: account ids stay strings, conditions and
//! actions keep their case.

use serde_json::{Map, Value};

/// Whether two IAM policy documents mean the same. A document that is not JSON equals nothing.
pub fn same_policy(a: &str, b: &str) -> bool {
    match (canonical_policy(a), canonical_policy(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether two redrive documents (`RedrivePolicy` or `RedriveAllowPolicy`) mean the same.
pub fn same_redrive(a: &str, b: &str) -> bool {
    match (canonical_redrive(a), canonical_redrive(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The canonical form of an IAM policy document.
pub fn canonical_policy(text: &str) -> Option<Value> {
    let Value::Object(mut document) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let statements = match document.remove("Statement") {
        Some(Value::Array(list)) => list,
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return None,
        None => Vec::new(),
    };
    let mut statements: Vec<Value> = statements
        .into_iter()
        .map(canonical_statement)
        .collect::<Option<_>>()?;
    statements.sort_by_cached_key(Value::to_string);
    document.insert("Statement".into(), Value::Array(statements));
    Some(Value::Object(document))
}

fn canonical_statement(statement: Value) -> Option<Value> {
    let Value::Object(fields) = statement else {
        return None;
    };
    let mut out = Map::new();
    for (name, value) in fields {
        let value = match name.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(value)?,
            "Principal" | "NotPrincipal" => canonical_principal(value)?,
            "Condition" => canonical_condition(value)?,
            _ => value,
        };
        out.insert(name, value);
    }
    Some(Value::Object(out))
}

/// `"*"` is `{"AWS": "*"}`; every principal list becomes a sorted array.
fn canonical_principal(value: Value) -> Option<Value> {
    match value {
        Value::String(s) if s == "*" => {
            let mut map = Map::new();
            map.insert("AWS".into(), string_set(Value::String(s))?);
            Some(Value::Object(map))
        }
        Value::Object(kinds) => kinds
            .into_iter()
            .map(|(kind, ids)| Some((kind, string_set(ids)?)))
            .collect::<Option<Map<_, _>>>()
            .map(Value::Object),
        _ => None,
    }
}

/// `{operator: {key: value or values}}`, every value list a sorted array of strings.
fn canonical_condition(value: Value) -> Option<Value> {
    let Value::Object(operators) = value else {
        return None;
    };
    operators
        .into_iter()
        .map(|(operator, keys)| {
            let Value::Object(keys) = keys else {
                return None;
            };
            let keys = keys
                .into_iter()
                .map(|(key, values)| Some((key, string_set(values)?)))
                .collect::<Option<Map<_, _>>>()?;
            Some((operator, Value::Object(keys)))
        })
        .collect::<Option<Map<_, _>>>()
        .map(Value::Object)
}

/// A string, a number, a boolean or an array of them, as a sorted array of distinct strings.
/// IAM reads `true` and `"true"`, `5` and `"5"` alike in conditions.
fn string_set(value: Value) -> Option<Value> {
    let scalar = |v: Value| match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut items: Vec<String> = match value {
        Value::Array(list) => list.into_iter().map(scalar).collect::<Option<_>>()?,
        other => vec![scalar(other)?],
    };
    items.sort();
    items.dedup();
    Some(Value::Array(items.into_iter().map(Value::String).collect()))
}

/// The canonical form of a redrive document: `maxReceiveCount` a number, `sourceQueueArns` a
/// sorted array.
pub fn canonical_redrive(text: &str) -> Option<Value> {
    let Value::Object(fields) = serde_json::from_str(text).ok()? else {
        return None;
    };
    fields
        .into_iter()
        .map(|(name, value)| {
            let value = match (name.as_str(), value) {
                ("maxReceiveCount", Value::String(s)) => Value::from(s.trim().parse::<u64>().ok()?),
                ("sourceQueueArns", v) => string_set(v)?,
                (_, v) => v,
            };
            Some((name, value))
        })
        .collect::<Option<Map<_, _>>>()
        .map(Value::Object)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/b","arn:aws:iam::111122223333:role/a"]},"Action":["sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:us-east-1:111122223333:q","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}},{"Sid":"B","Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111122223333:q","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

    #[test]
    fn reformatting_by_aws_is_not_drift() {
        let theirs = r#"{
          "Statement": [
            {"Effect": "Deny", "Sid": "B", "Principal": {"AWS": "*"}, "Action": ["sqs:*"],
             "Resource": ["arn:aws:sqs:us-east-1:111122223333:q"],
             "Condition": {"Bool": {"aws:SecureTransport": false}}},
            {"Resource": "arn:aws:sqs:us-east-1:111122223333:q", "Action": "sqs:ReceiveMessage",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"]},
             "Effect": "Allow", "Sid": "A",
             "Condition": {"StringEquals": {"aws:SourceAccount": ["111122223333"]}}}
          ],
          "Version": "2012-10-17"
        }"#;
        assert!(same_policy(OURS, theirs));
    }

    #[test]
    fn a_single_statement_object_equals_a_one_element_list() {
        let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
        let object = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}}"#;
        assert!(same_policy(list, object));
    }

    #[test]
    fn real_changes_are_drift() {
        let changes = [
            OURS.replace("role/a", "role/x"),
            OURS.replace("\"Deny\"", "\"Allow\""),
            OURS.replace("sqs:ReceiveMessage", "sqs:*"),
            OURS.replace("aws:SecureTransport", "aws:SourceIp"),
            OURS.replace("\"111122223333\"}", "\"011122223333\"}"),
            OURS.replace(
                ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}",
                "",
            ),
            OURS.replace("\"Sid\":\"A\"", "\"Sid\":\"C\""),
        ];
        for changed in &changes {
            assert_ne!(changed, OURS, "the test's replacement must apply");
            assert!(!same_policy(OURS, changed), "{changed}");
        }
    }

    #[test]
    fn a_removed_statement_is_drift() {
        let one = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
        let two = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"kms:*","Resource":"*"},{"Sid":"B","Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
        assert!(!same_policy(one, two));
    }

    #[test]
    fn broken_documents_equal_nothing() {
        assert!(!same_policy("not json", "not json"));
        assert!(!same_policy(OURS, "{}\n{"));
        assert!(!same_redrive("", ""));
    }

    #[test]
    fn redrive_numbers_compare_as_numbers() {
        assert!(same_redrive(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:d","maxReceiveCount":5}"#,
            r#"{"maxReceiveCount": "5", "deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:d"}"#,
        ));
        assert!(!same_redrive(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:d","maxReceiveCount":5}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:d","maxReceiveCount":"6"}"#,
        ));
    }

    #[test]
    fn redrive_allow_source_lists_compare_as_sets() {
        assert!(same_redrive(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:1:q"]}"#,
            r#"{"sourceQueueArns":"arn:aws:sqs:us-east-1:1:q","redrivePermission":"byQueue"}"#,
        ));
        assert!(!same_redrive(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:1:q"]}"#,
            r#"{"redrivePermission":"allowAll"}"#,
        ));
    }
}
