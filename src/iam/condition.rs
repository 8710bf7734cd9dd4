//! Condition operators of the IAM policy language, as AWS documents them: the String, Arn,
//! Bool, Null, Numeric, Date and IP address families, their negations, `...IfExists`, and the
//! `ForAnyValue:` / `ForAllValues:` set qualifiers. Values of one key are ORed; keys and
//! operators are ANDed by the caller. A negated operator matches when its key is absent ("If the
//! policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
//! and the right key is not present, the condition is true", IAM User Guide, "IAM JSON policy
//! elements: Condition operators",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>;
//! the set qualifiers: "Single-valued vs. multivalued context keys",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>).
//! Unknown operators are errors.

use super::error::StatementError;
use super::wildcard;

/// The values a request's context holds for one key, if any.
pub type ContextValues<'a> = Option<&'a [String]>;

/// Whether `operator` holds for the request's values of a key against the policy's values.
pub fn holds(
    operator: &str,
    policy: &[String],
    request: ContextValues<'_>,
) -> Result<bool, StatementError> {
    let (set, rest) = match operator.split_once(':') {
        Some((qualifier @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(qualifier), rest),
        Some(_) => {
            return Err(StatementError::ConditionOperator(operator.to_string()));
        }
        None => (None, operator),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base == "Null" {
        if set.is_some() || if_exists {
            return Err(StatementError::ConditionOperator(operator.to_string()));
        }
        let wants_absent = policy.iter().any(|v| v.eq_ignore_ascii_case("true"));
        return Ok(request.is_none() == wants_absent);
    }
    let (compare, negated) =
        comparison(base).ok_or_else(|| StatementError::ConditionOperator(operator.to_string()))?;
    let Some(values) = request else {
        // Absent key: IfExists and negated operators match; ForAllValues matches vacuously.
        return Ok(if_exists || negated || set == Some("ForAllValues"));
    };
    let matches_one = |value: &str| -> Result<bool, StatementError> {
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

type Compare = fn(&str, &str) -> Result<bool, StatementError>;

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
        "DateEquals" => (|p, v| date(p, v, |a, b| a == b), false),
        "DateNotEquals" => (|p, v| date(p, v, |a, b| a == b), true),
        "DateLessThan" => (|p, v| date(p, v, |a, b| b < a), false),
        "DateLessThanEquals" => (|p, v| date(p, v, |a, b| b <= a), false),
        "DateGreaterThan" => (|p, v| date(p, v, |a, b| b > a), false),
        "DateGreaterThanEquals" => (|p, v| date(p, v, |a, b| b >= a), false),
        "IpAddress" => (|p, v| ip_in(p, v), false),
        "NotIpAddress" => (|p, v| ip_in(p, v), true),
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

/// Dates as RFC 3339 timestamps (minutes without seconds allowed) or epoch seconds.
fn date(policy: &str, value: &str, compare: fn(i64, i64) -> bool) -> Result<bool, StatementError> {
    let seconds = |text: &str| -> Option<i64> {
        if let Ok(epoch) = text.parse::<i64>() {
            return Some(epoch);
        }
        let padded = match text.strip_suffix('Z') {
            Some(body) if body.len() == 16 => format!("{body}:00Z"),
            _ => text.to_string(),
        };
        padded
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_second())
    };
    let p = seconds(policy).ok_or_else(|| StatementError::Date(policy.to_string()))?;
    Ok(seconds(value).is_some_and(|v| compare(p, v)))
}

/// Whether an IP address lies in a CIDR block (or equals an address).
fn ip_in(policy: &str, value: &str) -> Result<bool, StatementError> {
    let (network, bits) = policy.split_once('/').unwrap_or((policy, ""));
    let network: std::net::IpAddr = network
        .parse()
        .map_err(|_| StatementError::IpAddress(policy.to_string()))?;
    let Ok(address) = value.parse::<std::net::IpAddr>() else {
        return Ok(false);
    };
    let (net, addr, width) = match (network, address) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
            (u128::from(u32::from(n)), u128::from(u32::from(a)), 32)
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
        _ => return Ok(false),
    };
    let bits: u32 = if bits.is_empty() {
        width
    } else {
        bits.parse()
            .map_err(|_| StatementError::PrefixLength(policy.to_string()))?
    };
    if bits > width {
        return Err(StatementError::PrefixLength(policy.to_string()));
    }
    let shift = width - bits;
    Ok(bits == 0 || (net >> shift) == (addr >> shift))
}

fn numeric(
    policy: &str,
    value: &str,
    compare: fn(f64, f64) -> bool,
) -> Result<bool, StatementError> {
    let p: f64 = policy
        .parse()
        .map_err(|_| StatementError::Number(policy.to_string()))?;
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
    fn date_and_ip_operators() {
        let cutoff = v(&["2009-06-30T12:00Z"]);
        assert!(holds("DateLessThan", &cutoff, Some(&v(&["2009-06-01T00:00:00Z"]))).unwrap());
        assert!(!holds("DateLessThan", &cutoff, Some(&v(&["2010-01-01T00:00:00Z"]))).unwrap());
        let range = v(&["203.0.113.0/24"]);
        assert!(holds("IpAddress", &range, Some(&v(&["203.0.113.7"]))).unwrap());
        assert!(!holds("IpAddress", &range, Some(&v(&["203.0.114.7"]))).unwrap());
        assert!(holds("NotIpAddress", &range, Some(&v(&["198.51.100.1"]))).unwrap());
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
