//! Reading SecureQueue manifests: one or many YAML documents, each checked for its apiVersion,
//! kind and fields, every problem named by document and field path.

use serde_json::Value;

use crate::api::{GROUP, KIND, SecureQueue, VERSION};
use crate::validation::Problem;

/// One document of a manifest.
#[derive(Debug)]
pub struct Document {
    /// 1-based position in the input.
    pub index: usize,
    /// `<namespace>/<name>` as far as the document says.
    pub label: String,
    /// The SecureQueue, or why the document is not one.
    pub parsed: Result<SecureQueue, Vec<Problem>>,
}

/// Top-level fields a SecureQueue may have.
const TOP_LEVEL_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// Splits YAML text into its documents and reads each as a SecureQueue. Empty documents (a
/// trailing `---`) are skipped. A YAML syntax error fails the whole input.
pub fn parse(text: &str) -> Result<Vec<Document>, String> {
    let values: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            index: i + 1,
            label: label(&value),
            parsed: read(value),
        })
        .collect())
}

fn label(value: &Value) -> String {
    let field = |name: &str| {
        value
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
    };
    format!(
        "{}/{}",
        field("namespace").unwrap_or("default"),
        field("name").unwrap_or("<unnamed>")
    )
}

fn read(value: Value) -> Result<SecureQueue, Vec<Problem>> {
    let Some(object) = value.as_object() else {
        return Err(vec![Problem::new("<document>", "is not a YAML mapping")]);
    };
    let mut problems = Vec::new();
    let expected_api_version = format!("{GROUP}/{VERSION}");
    match object.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v == expected_api_version => {}
        other => problems.push(Problem::new(
            "apiVersion",
            format!("is {other:?}; expected \"{expected_api_version}\""),
        )),
    }
    match object.get("kind").and_then(Value::as_str) {
        Some(KIND) => {}
        other => problems.push(Problem::new(
            "kind",
            format!("is {other:?}; expected \"{KIND}\""),
        )),
    }
    for key in object
        .keys()
        .filter(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
    {
        problems.push(Problem::new(key.clone(), "unknown field"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "<document>".to_string()
        } else {
            path
        };
        vec![Problem::new(field, e.inner().to_string())]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: a, namespace: ns}\nspec:\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n";

    #[test]
    fn reads_several_documents_and_skips_empty_ones() {
        let docs = parse(&format!("{VALID}---\n{VALID}---\n")).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].index, 2);
        assert_eq!(docs[0].label, "ns/a");
        assert!(docs.iter().all(|d| d.parsed.is_ok()));
    }

    #[test]
    fn unknown_spec_fields_are_named_with_their_path() {
        let docs = parse(&format!("{VALID}  queue: {{visibilityTimeout: 30}}\n")).unwrap();
        let problems = docs[0].parsed.as_ref().unwrap_err();
        assert_eq!(problems[0].field, "spec.queue.visibilityTimeout");
        assert!(
            problems[0]
                .reason
                .contains("unknown field `visibilityTimeout`"),
            "{problems:?}"
        );
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let docs = parse(&format!("{VALID}  queue: {{delaySeconds: -1}}\n")).unwrap();
        let problems = docs[0].parsed.as_ref().unwrap_err();
        assert_eq!(problems[0].field, "spec.queue.delaySeconds");
    }

    #[test]
    fn other_kinds_are_refused() {
        let docs =
            parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {}\n").unwrap();
        let fields: Vec<_> = docs[0]
            .parsed
            .as_ref()
            .unwrap_err()
            .iter()
            .map(|p| p.field.clone())
            .collect();
        assert_eq!(fields, ["apiVersion", "kind", "data"]);
    }

    #[test]
    fn yaml_syntax_errors_fail_the_input() {
        assert!(parse("a: [1, 2\n").is_err());
    }
}
