//! Condition operators of the IAM policy language, as AWS documents them: the String, Arn,
//! Bool, Null and Numeric families, their negations, `...IfExists`, and the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers. Values of one key are ORed; keys and operators are ANDed by
//! the caller. A negated operator matches when its key is absent. Unknown operators are errors.

use super::wildcard;

/// The values a request's context holds for one key, if any.
pub type ContextValues<'a> = Option<&'a [String]>;

/// Whether `operator` holds for the request's values of a key against the policy's values.
pub fn holds(
    operator: &str,
    policy: &[String],
    request: ContextValues<'_>,
) -> Result<bool, String> {
    let (set, rest) = match operator.split_once(':') {
        Some((qualifier @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(qualifier), rest),
        Some(_) => return Err(format!("unknown condition operator `{operator}`")),
        None => (None, operator),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base == "Null" {
        if set.is_some() || if_exists {
            return Err(format!("unknown condition operator `{operator}`"));
        }
        let wants_absent = policy.iter().any(|v| v.eq_ignore_ascii_case("true"));
        return Ok(request.is_none() == wants_absent);
    }
    let (compare, negated) =
        comparison(base).ok_or_else(|| format!("unknown condition operator `{operator}`"))?;
    let Some(values) = request else {
        // Absent key: IfExists and negated operators match; ForAllValues matches vacuously.
        return Ok(if_exists || negated || set == Some("ForAllValues"));
    };
    let matches_one = |value: &str| -> Result<bool, String> {
        let mut any = false;
        for expected in policy {
            if compare(expected, value)? {
                any = true;
                break;
            }
        }
        Ok(any)
    };
    let positive = match set {
        Some("ForAllValues") => {
            let mut all = true;
            for value in values {
                all &= matches_one(value)?;
            }
            all
        }
        _ => {
            let mut any = false;
            for value in values {
                any |= matches_one(value)?;
            }
            any
        }
    };
    Ok(positive != negated)
}

type Compare = fn(&str, &str) -> Result<bool, String>;

/// The comparison of an operator family and whether the operator negates it.
fn comparison(base: &str) -> Option<(Compare, bool)> {
    let found: (Compare, bool) = match base {
        "StringEquals" => (|p, v| Ok(p == v), false),
        "StringNotEquals" => (|p, v| Ok(p == v), true),
        "StringEqualsIgnoreCase" => (|p, v| Ok(p.eq_ignore_ascii_case(v)), false),
        "StringNotEqualsIgnoreCase" => (|p, v| Ok(p.eq_ignore_ascii_case(v)), true),
        "StringLike" => (|p, v| Ok(wildcard::matches(p, v, false)), false),
        "StringNotLike" => (|p, v| Ok(wildcard::matches(p, v, false)), true),
        "ArnEquals" | "ArnLike" => (|p, v| Ok(arn_like(p, v)), false),
        "ArnNotEquals" | "ArnNotLike" => (|p, v| Ok(arn_like(p, v)), true),
        "Bool" => (|p, v| Ok(p.eq_ignore_ascii_case(v)), false),
        "NumericEquals" => (|p, v| numeric(p, v, |a, b| a == b), false),
        "NumericNotEquals" => (|p, v| numeric(p, v, |a, b| a == b), true),
        "NumericLessThan" => (|p, v| numeric(p, v, |a, b| b < a), false),
        "NumericLessThanEquals" => (|p, v| numeric(p, v, |a, b| b <= a), false),
        "NumericGreaterThan" => (|p, v| numeric(p, v, |a, b| b > a), false),
        "NumericGreaterThanEquals" => (|p, v| numeric(p, v, |a, b| b >= a), false),
        _ => return None,
    };
    Some(found)
}

/// Arn operators compare the six colon-separated parts, each with `*` and `?` wildcards.
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6
        && v.len() == 6
        && p.iter()
            .zip(&v)
            .all(|(p, v)| wildcard::matches(p, v, false))
}

fn numeric(policy: &str, value: &str, compare: fn(f64, f64) -> bool) -> Result<bool, String> {
    let p: f64 = policy
        .parse()
        .map_err(|_| format!("`{policy}` is not a number"))?;
    Ok(value.parse::<f64>().is_ok_and(|v| compare(p, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_of_one_key_are_ored() {
        let policy = v(&["a", "b"]);
        assert!(holds("StringEquals", &policy, Some(&v(&["b"]))).unwrap());
        assert!(!holds("StringEquals", &policy, Some(&v(&["c"]))).unwrap());
    }

    #[test]
    fn negated_operators_match_an_absent_key_and_positive_ones_do_not() {
        let policy = v(&["arn:aws:sns:us-east-1:111122223333:t"]);
        assert!(holds("ArnNotLike", &policy, None).unwrap());
        assert!(!holds("ArnLike", &policy, None).unwrap());
        assert!(holds("ArnLikeIfExists", &policy, None).unwrap());
        assert!(holds("StringNotEquals", &v(&["o-1"]), None).unwrap());
    }

    #[test]
    fn arn_operators_compare_part_by_part_with_wildcards() {
        let policy = v(&["arn:aws:sns:*:111122223333:orders-*"]);
        assert!(
            holds(
                "ArnLike",
                &policy,
                Some(&v(&["arn:aws:sns:eu-west-1:111122223333:orders-v2"]))
            )
            .unwrap()
        );
        assert!(
            !holds(
                "ArnLike",
                &policy,
                Some(&v(&["arn:aws:sns:eu-west-1:444455556666:orders-v2"]))
            )
            .unwrap()
        );
        assert!(!holds("ArnEquals", &policy, Some(&v(&["not-an-arn"]))).unwrap());
    }

    #[test]
    fn bool_null_and_numeric_operators() {
        assert!(holds("Bool", &v(&["false"]), Some(&v(&["false"]))).unwrap());
        assert!(!holds("Bool", &v(&["false"]), Some(&v(&["true"]))).unwrap());
        assert!(holds("Null", &v(&["true"]), None).unwrap());
        assert!(!holds("Null", &v(&["false"]), None).unwrap());
        assert!(holds("NumericLessThan", &v(&["10"]), Some(&v(&["9"]))).unwrap());
        assert!(!holds("NumericLessThan", &v(&["10"]), Some(&v(&["10"]))).unwrap());
        assert!(holds("NumericGreaterThanEquals", &v(&["10"]), Some(&v(&["10"]))).unwrap());
    }

    #[test]
    fn set_qualifiers() {
        let policy = v(&["a", "b"]);
        assert!(holds("ForAllValues:StringEquals", &policy, Some(&v(&["a", "b"]))).unwrap());
        assert!(!holds("ForAllValues:StringEquals", &policy, Some(&v(&["a", "c"]))).unwrap());
        assert!(holds("ForAnyValue:StringEquals", &policy, Some(&v(&["c", "a"]))).unwrap());
        assert!(holds("ForAllValues:StringEquals", &policy, None).unwrap());
        assert!(!holds("ForAnyValue:StringEquals", &policy, None).unwrap());
    }

    #[test]
    fn unknown_operators_are_errors() {
        assert!(holds("StringAlmostEquals", &v(&["a"]), None).is_err());
        assert!(holds("Sometimes:StringEquals", &v(&["a"]), None).is_err());
    }
}
