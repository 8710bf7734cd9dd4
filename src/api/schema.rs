//! What the generated OpenAPI schema must say for Kubernetes rather than for JSON Schema.
//!
//! schemars names Rust's unsigned integers by their own formats (`uint32`, `uint64`), which the
//! Kubernetes API server does not know: every CRD install printed `Warning: unrecognized format`
//! for each. Kubernetes knows `int32` and `int64` (its OpenAPI value validation); unsigned values
//! keep their `minimum: 0` and their bounds, and take the signed format that holds them all.

use schemars::Schema;
use schemars::transform::{RecursiveTransform, Transform};

/// Rewrites every unsigned integer format of `schema` and its subschemas to the Kubernetes one.
pub fn kubernetes_integer_formats(schema: &mut Schema) {
    RecursiveTransform(rewrite_format).transform(schema);
}

fn rewrite_format(schema: &mut Schema) {
    let known = match schema.get("format").and_then(|f| f.as_str()) {
        Some("uint8" | "uint16") => "int32",
        Some("uint" | "uint32" | "uint64") => "int64",
        _ => return,
    };
    schema.insert("format".to_string(), known.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemars::json_schema;

    #[test]
    fn unsigned_formats_become_signed_ones_that_hold_them_at_any_depth() {
        let mut schema = json_schema!({
            "type": "object",
            "properties": {
                "small": {"type": "integer", "format": "uint16", "minimum": 0},
                "count": {"type": "integer", "format": "uint32", "minimum": 0},
                "nested": {
                    "type": "object",
                    "properties": {"big": {"type": "integer", "format": "uint64"}}
                },
                "list": {"type": "array", "items": {"type": "integer", "format": "uint32"}},
                "signed": {"type": "integer", "format": "int32"},
                "when": {"type": "string", "format": "date-time"}
            }
        });
        kubernetes_integer_formats(&mut schema);
        let format = |pointer: &str| schema.pointer(pointer).and_then(|f| f.as_str()).unwrap();
        assert_eq!(format("/properties/small/format"), "int32");
        assert_eq!(format("/properties/count/format"), "int64");
        assert_eq!(format("/properties/nested/properties/big/format"), "int64");
        assert_eq!(format("/properties/list/items/format"), "int64");
        assert_eq!(format("/properties/signed/format"), "int32");
        assert_eq!(format("/properties/when/format"), "date-time");
        assert_eq!(schema.pointer("/properties/count/minimum"), Some(&0.into()));
    }
}
