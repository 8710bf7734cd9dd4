//! Reading SecureQueue (and SecureQueueAccount) manifests: one or many YAML documents, each
//! checked for its apiVersion, kind and fields, every problem named by document and field path.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ACCOUNT_KIND, GROUP, KIND, SecureQueue, SecureQueueAccount, VERSION};
use crate::validation::Problem;

/// One document of a manifest.
#[derive(Debug)]
pub struct Document<T = SecureQueue> {
    /// 1-based position in the input.
    pub index: usize,
    /// `<namespace>/<name>` as far as the document says.
    pub label: String,
    /// The resource, or why the document is not one.
    pub parsed: Result<T, Vec<Problem>>,
}

/// Top-level fields a SecureQueue or SecureQueueAccount may have.
const TOP_LEVEL_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// Splits YAML text into its documents and reads each as a SecureQueue. Empty documents (a
/// trailing `---`) are skipped. A YAML syntax error fails the whole input.
pub fn parse(text: &str) -> Result<Vec<Document>, String> {
    parse_kind(text, KIND)
}

/// [`parse`] for SecureQueueAccount documents, the account bindings `--accounts` reads.
pub fn parse_accounts(text: &str) -> Result<Vec<Document<SecureQueueAccount>>, String> {
    parse_kind(text, ACCOUNT_KIND)
}

fn parse_kind<T: DeserializeOwned>(text: &str, kind: &str) -> Result<Vec<Document<T>>, String> {
    let values: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| syntax_error(&e))?;
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            index: i + 1,
            label: label(&value),
            parsed: read(value, kind),
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
        crate::quote::escaped(field("namespace").unwrap_or("default")),
        crate::quote::escaped(field("name").unwrap_or("<unnamed>"))
    )
}

/// Why the input cannot be read, on one line, for people: a YAML syntax error with where it is
/// and what is wrong (no source snippet, none of the parser's hints for programmers), or a limit
/// the parser keeps against hostile input, named with its value.
fn syntax_error(error: &serde_saphyr::Error) -> String {
    let mut unwrapped = error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = unwrapped
    {
        unwrapped = error;
    }
    if let serde_saphyr::Error::Budget { breach, .. } = unwrapped {
        return limit_breached(breach);
    }
    let mut options = serde_saphyr::RenderOptions::new(&serde_saphyr::UserMessageFormatter);
    options.snippets = serde_saphyr::SnippetMode::Off;
    let message = error.without_snippet().render_with_options(options);
    // The plain rendering ends with the location; the location leads here instead.
    let message = message
        .split_once(" at line ")
        .map_or(message.as_str(), |(message, _)| message)
        .trim();
    let message = plain_characters(message);
    match error.location() {
        Some(at) => format!(
            "not valid YAML: line {}, column {}: {message}",
            at.line(),
            at.column()
        ),
        None => format!("not valid YAML: {message}"),
    }
}

/// Which of the parser's limits an input broke, with the limit, in words.
fn limit_breached(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as Breach;
    let limits = serde_saphyr::Budget::default();
    let what = match breach {
        Breach::Documents { .. } => format!("more than {} documents", limits.max_documents),
        Breach::Depth { .. } => format!(
            "mappings and lists nested more than {} deep",
            limits.max_depth
        ),
        Breach::Nodes { .. } => format!("more than {} values", limits.max_nodes),
        Breach::ScalarBytes { .. } => format!(
            "more than {} MiB of text in its values",
            limits.max_total_scalar_bytes >> 20
        ),
        Breach::Aliases { .. } | Breach::AliasAnchorRatio { .. } => {
            "too many aliases (`*name`), as in a billion-laughs expansion".to_string()
        }
        Breach::Anchors { .. } => format!("more than {} anchors (`&name`)", limits.max_anchors),
        Breach::MergeKeys { .. } => {
            format!("more than {} merge keys (`<<`)", limits.max_merge_keys)
        }
        _ => "more YAML than securequeue reads in one input".to_string(),
    };
    format!(
        "the input has {what}, over the limit securequeue keeps against hostile input: split or simplify it"
    )
}

/// A parser message with the characters it quotes shown as people write them: `U+0000`, not
/// Rust's `\u{0}`, inside matching quotes.
fn plain_characters(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unexpected character: `") else {
        return message.to_string();
    };
    let quoted = rest.strip_suffix('\'').unwrap_or(rest);
    let shown = match quoted
        .strip_prefix("\\u{")
        .and_then(|hex| hex.strip_suffix('}'))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
    {
        Some(code) => format!("U+{code:04X}, a control character"),
        None => format!("`{quoted}`"),
    };
    format!("a character YAML does not allow here: {shown}")
}

/// A top-level field that must hold one exact string.
fn exact(object: &serde_json::Map<String, Value>, field: &str, expected: &str) -> Option<Problem> {
    let reason = match object.get(field) {
        Some(Value::String(given)) if given == expected => return None,
        None | Some(Value::Null) => format!("is missing; expected `{expected}`"),
        Some(Value::String(given)) => format!("is `{given}`; expected `{expected}`"),
        Some(other) => format!("is {}; expected `{expected}`", unexpected_value(other)),
    };
    Some(Problem::new(field, reason))
}

/// A JSON value as a sentence names it.
fn unexpected_value(value: &Value) -> String {
    match value {
        Value::Null => "empty".to_string(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("`{s}`"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

fn read<T: DeserializeOwned>(value: Value, kind: &str) -> Result<T, Vec<Problem>> {
    let Some(object) = value.as_object() else {
        return Err(vec![Problem::new(
            "<document>",
            format!(
                "is {}; expected a mapping with apiVersion, kind, metadata and spec",
                unexpected_value(&value)
            ),
        )]);
    };
    let mut problems = Vec::new();
    problems.extend(exact(object, "apiVersion", &format!("{GROUP}/{VERSION}")));
    problems.extend(exact(object, "kind", kind));
    for key in object
        .keys()
        .filter(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
    {
        problems.push(Problem::new(
            key.clone(),
            format!("unknown field; a {kind} has only apiVersion, kind, metadata, spec and status"),
        ));
    }
    shapes(&value, schema_of(kind), "", &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![field_problem(&path, &e.inner().to_string())]
    })
}

/// The OpenAPI schema of `kind`'s CRD, as the API server checks documents against it.
fn schema_of(kind: &str) -> &'static Value {
    use std::sync::OnceLock;

    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::CustomResourceExt;
    fn schema(crd: CustomResourceDefinition) -> Value {
        let version = crd.spec.versions.into_iter().next();
        let schema = version.and_then(|v| v.schema?.open_api_v3_schema);
        serde_json::to_value(schema).expect("a CRD schema serializes")
    }
    static QUEUE: OnceLock<Value> = OnceLock::new();
    static ACCOUNT: OnceLock<Value> = OnceLock::new();
    if kind == ACCOUNT_KIND {
        ACCOUNT.get_or_init(|| schema(SecureQueueAccount::crd()))
    } else {
        QUEUE.get_or_init(|| schema(SecureQueue::crd()))
    }
}

/// A list where the schema wants a mapping, found as the API server finds it: serde's derive
/// would take `queue: [600, 345600, 5, 20, 2048]` as five settings in field order, and an empty
/// list as an empty mapping.
fn shapes(value: &Value, schema: &Value, path: &str, problems: &mut Vec<Problem>) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (schema["type"].as_str(), value) {
        (Some("object"), Value::Array(_)) => problems.push(Problem::new(
            if path.is_empty() { "<document>" } else { path },
            "is a list; expected a mapping",
        )),
        (Some("object"), Value::Object(fields)) => {
            for (key, field) in fields {
                let known = &schema["properties"][key];
                let field_schema = if known.is_object() {
                    known
                } else {
                    &schema["additionalProperties"]
                };
                shapes(field, field_schema, &at(key), problems);
            }
        }
        (Some("array"), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                shapes(item, &schema["items"], &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// The problem serde found at `path`, in words for the person who wrote the manifest: serde's
/// messages name Rust types (`expected u32`, `expected struct QueueSettings`).
fn field_problem(path: &str, message: &str) -> Problem {
    let field = |path: &str| {
        if path == "." || path.is_empty() {
            "<document>".to_string()
        } else {
            path.to_string()
        }
    };
    // serde's own wording (`serde::de::Error`'s provided methods); anything else, such as a
    // timestamp's parse error, is already about the value.
    if let Some(name) = backticked(message, "missing field `") {
        let parent = field(path);
        let path = if parent == "<document>" {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        return Problem::new(path, "is required");
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed = allowed
            .trim_start_matches(", expected ")
            .trim_start_matches("one of ");
        let reason = if allowed.is_empty() || allowed.starts_with("there are no") {
            format!("unknown field `{name}`; nothing may be set here")
        } else {
            format!("unknown field `{name}`; the fields here are {allowed}")
        };
        return Problem::new(field(path), reason);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed = allowed
            .trim_start_matches(", expected ")
            .trim_start_matches("one of ");
        return Problem::new(field(path), format!("is `{name}`; expected {allowed}"));
    }
    if let Some(name) = backticked(message, "duplicate field `") {
        return Problem::new(field(path), format!("`{name}` is given twice"));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((given, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once(", expected "))
        {
            let (given, expected) = (given_words(given), expected_words(expected));
            let quote = if expected == "a string" && given.starts_with("the number ") {
                ": quote it, as YAML reads unquoted digits as a number (an account id then loses its leading zeros)"
            } else {
                ""
            };
            return Problem::new(
                field(path),
                format!("is {given}; expected {expected}{quote}"),
            );
        }
    }
    if let Some((length, expected)) = message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        return Problem::new(
            field(path),
            format!("has {length} items; expected {}", expected_words(expected)),
        );
    }
    Problem::new(field(path), ranges_in_words(message))
}

/// Rust's range syntax in another library's message (jiff's "is not in the required range of
/// 1..=12") as words: "is not from 1 to 12".
fn ranges_in_words(message: &str) -> String {
    use std::sync::OnceLock;
    static RANGE: OnceLock<regex::Regex> = OnceLock::new();
    let range = RANGE.get_or_init(|| {
        regex::Regex::new(r"(?:not in (?:the required range of )?)?(-?\d+)\.\.=(-?\d+)")
            .expect("a valid pattern")
    });
    range
        .replace_all(message, |found: &regex::Captures<'_>| {
            let negated = if found[0].starts_with("not in") {
                "not "
            } else {
                ""
            };
            format!("{negated}from {} to {}", &found[1], &found[2])
        })
        .into_owned()
}

/// The name in `` prefix`name` ``.
fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message
        .strip_prefix(prefix)?
        .split_once('`')
        .map(|(name, _)| name)
}

/// serde's `Unexpected` (`integer `5``, `string "a"`, `null`, `map`) as a sentence names it.
fn given_words(given: &str) -> String {
    let quoted = |s: &str| s.trim_matches('`').trim_matches('"').to_string();
    if let Some(n) = ["integer ", "floating point "]
        .iter()
        .find_map(|p| given.strip_prefix(p))
    {
        return format!("the number {}", quoted(n));
    }
    if let Some(s) = given.strip_prefix("string ") {
        return format!("`{}`", quoted(s));
    }
    if let Some(b) = given.strip_prefix("boolean ") {
        return format!("`{}`", quoted(b));
    }
    match given {
        "null" | "unit value" => "empty".to_string(),
        "sequence" => "a list".to_string(),
        "map" => "a mapping".to_string(),
        other => other.to_string(),
    }
}

/// serde's `Expected` (`u32`, `a sequence`, `struct QueueSettings`, `ObjectMeta`) as a sentence
/// names it.
fn expected_words(expected: &str) -> String {
    let whole = |max: u64| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => whole(u8::MAX.into()),
        "u16" => whole(u16::MAX.into()),
        "u32" => whole(u32::MAX.into()),
        "u64" | "usize" => whole(u64::MAX),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a boolean" => "`true` or `false`".to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "a mapping".to_string(),
        "a string" | "a borrowed string" | "a character" => "a string".to_string(),
        other if other.starts_with("struct ") || other.starts_with("tuple struct ") => {
            "a mapping".to_string()
        }
        other if other.starts_with("enum ") => "one of the values listed for it".to_string(),
        // A hand-written visitor's type name, such as k8s-openapi's `ObjectMeta`.
        other if !other.is_empty() && other.chars().all(|c| c.is_ascii_alphanumeric()) => {
            "a mapping".to_string()
        }
        other => other.to_string(),
    }
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
    fn a_list_where_a_mapping_belongs_is_refused_as_the_api_server_would() {
        for (spec, field) in [
            ("  queue: [600, 345600, 5, 20, 2048]\n", "spec.queue"),
            ("  producers: []\n", "spec.producers"),
            (
                "  deadLetterQueue: [{queueName: a}]\n",
                "spec.deadLetterQueue",
            ),
        ] {
            let docs = parse(&format!("{VALID}{spec}")).unwrap();
            let problems = docs[0].parsed.as_ref().unwrap_err();
            assert_eq!(problems[0].field, field, "{spec}");
            assert_eq!(problems[0].reason, "is a list; expected a mapping");
        }
        let docs = parse("apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: [a]\n")
            .unwrap();
        assert_eq!(docs[0].parsed.as_ref().unwrap_err()[0].field, "metadata");
        assert!(
            parse(&format!("{VALID}  producers: {{snsTopicArns: []}}\n")).unwrap()[0]
                .parsed
                .is_ok()
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

    /// The problems of the one document of `yaml`, as printed.
    fn problems(yaml: &str) -> Vec<String> {
        let docs = parse(yaml).unwrap();
        docs[0]
            .parsed
            .as_ref()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// No Rust in a message: no `Some(..)`, `None`, `Option<..>`, Rust type names or serde's
    /// hints for programmers.
    fn assert_reads_as_a_sentence(message: &str) {
        for rust in [
            "Some(",
            "None",
            "Option<",
            "u32",
            "u16",
            "struct ",
            "ObjectMeta",
            "serde",
            "DuplicateKeyPolicy",
            "\n",
            " { ",
            "\\u{",
            "Budget",
        ] {
            assert!(!message.contains(rust), "`{rust}` in: {message}");
        }
    }

    #[test]
    fn a_wrong_api_version_is_quoted_not_debug_printed() {
        let problems = problems(&VALID.replace("securequeue.io/v1alpha1", "v1"));
        assert_eq!(
            problems,
            ["apiVersion: is `v1`; expected `securequeue.io/v1alpha1`"]
        );
    }

    #[test]
    fn a_missing_kind_says_it_is_missing() {
        let problems = problems(&VALID.replace("kind: SecureQueue\n", ""));
        assert_eq!(problems, ["kind: is missing; expected `SecureQueue`"]);
        let problems = problems_of_kind("5");
        assert_eq!(problems, ["kind: is the number 5; expected `SecureQueue`"]);
    }

    fn problems_of_kind(kind: &str) -> Vec<String> {
        problems(&VALID.replace("kind: SecureQueue", &format!("kind: {kind}")))
    }

    #[test]
    fn wrong_types_name_what_is_expected_in_words() {
        for (spec, expected) in [
            (
                "  queue: {delaySeconds: soon}\n",
                "spec.queue.delaySeconds: is `soon`; expected a whole number from 0 to 4294967295",
            ),
            (
                "  queue: {delaySeconds: -1}\n",
                "spec.queue.delaySeconds: is the number -1; expected a whole number from 0 to 4294967295",
            ),
            (
                "  queue: {delaySeconds: 1.5}\n",
                "spec.queue.delaySeconds: is the number 1.5; expected a whole number from 0 to 4294967295",
            ),
            (
                "  queue: 5\n",
                "spec.queue: is the number 5; expected a mapping",
            ),
            (
                "  key: {deletionWindowDays: null}\n",
                "spec.key.deletionWindowDays: is empty; expected a whole number from 0 to 4294967295",
            ),
            (
                "  deletionPolicy: Maybe\n",
                "spec.deletionPolicy: is `Maybe`; expected `Retain` or `Delete`",
            ),
            (
                "  fifo: maybe\n",
                "spec.fifo: is `maybe`; expected `true` or `false`",
            ),
        ] {
            let problems = problems(&format!("{VALID}{spec}"));
            assert_eq!(problems, [expected]);
            assert_reads_as_a_sentence(&problems[0]);
        }
        let list = VALID.replace("[arn:aws:iam::111122223333:role/c]", "[null]");
        assert_eq!(
            problems(&list),
            ["spec.consumerRoleArns[0]: is empty; expected a string"]
        );
        let scalar = VALID.replace("[arn:aws:iam::111122223333:role/c]", "arn");
        assert_eq!(
            problems(&scalar),
            ["spec.consumerRoleArns: is `arn`; expected a list"]
        );
    }

    #[test]
    fn missing_and_null_sections_read_as_sentences() {
        let head = "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\n";
        assert_eq!(
            problems(&format!("{head}metadata: {{name: a}}\n")),
            ["spec: is required"]
        );
        assert_eq!(
            problems(&format!("{head}metadata: {{name: a}}\nspec: {{}}\n")),
            ["spec.consumerRoleArns: is required"]
        );
        assert_eq!(
            problems(&format!("{head}metadata: {{name: a}}\nspec: null\n")),
            ["spec: is empty; expected a mapping"]
        );
        let metadata = problems(&format!(
            "{head}metadata: null\nspec: {{consumerRoleArns: [a]}}\n"
        ));
        assert_eq!(metadata, ["metadata: is empty; expected a mapping"]);
        assert_eq!(
            problems("- a\n- b\n"),
            ["<document>: is a list; expected a mapping with apiVersion, kind, metadata and spec"]
        );
    }

    #[test]
    fn unknown_fields_name_the_fields_there_are() {
        let problems = problems(&format!("{VALID}  queue: {{visibilityTimeout: 30}}\n"));
        assert_eq!(
            problems,
            [
                "spec.queue.visibilityTimeout: unknown field `visibilityTimeout`; the fields here \
                 are `visibilityTimeoutSeconds`, `messageRetentionSeconds`, `delaySeconds`, \
                 `receiveWaitTimeSeconds`, `maximumMessageSizeBytes`"
            ]
        );
        let top = parse(&format!("{VALID}data: {{}}\n")).unwrap();
        let top = top[0].parsed.as_ref().unwrap_err()[0].to_string();
        assert_eq!(
            top,
            "data: unknown field; a SecureQueue has only apiVersion, kind, metadata, spec and status"
        );
    }

    #[test]
    fn the_parsers_limits_are_named_with_their_values_and_not_called_invalid_yaml() {
        let billion_laughs = (1..10).fold("a: &a [x,x,x,x,x,x,x,x,x]\n".to_string(), |yaml, i| {
            let (name, previous) = ((b'a' + i) as char, (b'a' + i - 1) as char);
            let list = vec![format!("*{previous}"); 9].join(",");
            format!("{yaml}{name}: &{name} [{list}]\n")
        });
        for (yaml, expected) in [
            ("a: 1\n---\n".repeat(1100), "more than 1024 documents"),
            (
                format!("a: {}{}\n", "[".repeat(70), "]".repeat(70)),
                "nested more than 64 deep",
            ),
            (
                format!("a: [{}]\n", vec!["1"; 260_000].join(",")),
                "more than 250000 values",
            ),
            (billion_laughs, "more than 250000 values"),
        ] {
            let error = parse(&yaml).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("not valid YAML"), "{error}");
            assert_reads_as_a_sentence(&error);
        }
    }

    #[test]
    fn a_control_character_is_named_by_its_code_point() {
        let error = parse("a: \"\u{0}\"\n").unwrap_err();
        assert!(error.ends_with("U+0000, a control character"), "{error}");
        assert_reads_as_a_sentence(&error);
    }

    #[test]
    fn ranges_in_another_librarys_message_are_put_in_words() {
        assert_eq!(
            ranges_in_words(
                "parameter 'month' with value 13 is not in the required range of 1..=12"
            ),
            "parameter 'month' with value 13 is not from 1 to 12"
        );
        assert_eq!(
            ranges_in_words("5 is not in 10..=86400"),
            "5 is not from 10 to 86400"
        );
        let problems = problems(&format!(
            "{VALID}status:\n  conditions:\n  - {{type: Ready, status: 'True', reason: R, message: m, lastTransitionTime: '2026-13-01T00:00:00Z'}}\n"
        ));
        assert!(!problems[0].contains("..="), "{problems:?}");
    }

    #[test]
    fn an_unquoted_account_id_is_told_to_be_quoted() {
        let problems = problems(&format!("{VALID}  accountId: 012345678901\n"));
        assert!(problems[0].contains("quote it"), "{problems:?}");
        assert_reads_as_a_sentence(&problems[0]);
    }

    #[test]
    fn yaml_syntax_errors_are_one_line_with_where_they_are() {
        let error = parse("apiVersion: securequeue.io/v1alpha1\nmetadata: {name: a\nspec: [\n")
            .unwrap_err();
        assert!(
            error.starts_with("not valid YAML: line 3, column 5: "),
            "{error}"
        );
        assert_reads_as_a_sentence(&error);
        let duplicate = parse(&format!("{VALID}  consumerRoleArns: null\n")).unwrap_err();
        assert!(
            duplicate.starts_with("not valid YAML: line 6, column 3: "),
            "{duplicate}"
        );
        assert!(duplicate.contains("consumerRoleArns"), "{duplicate}");
        assert_reads_as_a_sentence(&duplicate);
    }
}
