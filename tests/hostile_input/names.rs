//! Item 2: `metadata.name` and `metadata.namespace` reach queue names, aliases, tags and
//! policies; on the pipeline paths no API server checks them, so securequeue does.

use super::*;

#[test]
fn names_kubernetes_would_refuse_are_refused_before_anything_is_generated() {
    let long = "a".repeat(300);
    for name in [
        "*",
        "shop-*",
        "a b",
        "a/b",
        "a?b",
        "café",
        "Orders",
        "-a",
        long.as_str(),
    ] {
        refused_everywhere(&document("shop", name, ""), &["metadata.name"]);
    }
}

#[test]
fn namespaces_kubernetes_would_refuse_are_refused_too() {
    for namespace in ["Shop", "a.b", "a_b", "*", "ünï"] {
        refused_everywhere(&document(namespace, "orders", ""), &["metadata.namespace"]);
    }
}

#[test]
fn an_invisible_character_in_a_name_is_shown_not_hidden() {
    let out = run(
        &pipelines()[0],
        Some(&document("shop", "orders\u{200b}", "")),
    );
    out.refused(1, &["metadata.name", "orders<U+200B>"], "plan");
}

#[test]
fn a_name_of_a_wildcard_never_reaches_a_policy() {
    let out = run(&pipelines()[0], Some(&document("shop", "*", "")));
    assert!(!out.stdout.contains("shop-*"), "{}", out.stdout);
    assert!(!out.stderr.contains("shop-*"), "{}", out.stderr);
}
