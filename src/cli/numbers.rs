//! Whole-number flags with bounds, refused in words ("must be a whole number from 1 to 300")
//! rather than in Rust's range syntax, which clap's own range parser prints (`0 is not in
//! 1..=300`).

use std::fmt::Display;
use std::str::FromStr;

/// A parser for a whole number from `min` to `max`, for `#[arg(value_parser = ...)]`.
pub(super) fn between<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |given: &str| match given.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_out_of_bounds_or_not_a_number_is_refused_in_words() {
        let parse = between(1u64, 300);
        assert_eq!(parse("1"), Ok(1));
        assert_eq!(parse("300"), Ok(300));
        for bad in ["0", "301", "-1", "ten", "", "1.5"] {
            assert_eq!(
                parse(bad),
                Err("must be a whole number from 1 to 300".to_string()),
                "{bad}"
            );
        }
    }
}
