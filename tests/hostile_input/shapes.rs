//! Item 7: a list, a scalar or a mapping where the CRD wants another shape is refused as the
//! API server refuses it, never read field by field in order.

use super::*;

#[test]
fn a_value_of_the_wrong_shape_is_refused_naming_the_field_and_the_shape() {
    for (spec, field, expected) in [
        (
            "queue: [600, 345600, 5, 20, 2048]",
            "spec.queue",
            "is a list; expected a mapping",
        ),
        (
            "producers: []",
            "spec.producers",
            "is a list; expected a mapping",
        ),
        ("tags: [a]", "spec.tags", "is a list; expected a mapping"),
        ("key: x", "spec.key", "expected a mapping"),
        ("fifo: maybe", "spec.fifo", "expected `true` or `false`"),
        (
            "queue: {delaySeconds: soon}",
            "spec.queue.delaySeconds",
            "expected a whole number",
        ),
    ] {
        refused_everywhere(&document("shop", "orders", spec), &[field, expected]);
    }
}
