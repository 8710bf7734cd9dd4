//! Values in messages: a value a user or a policy gave, shown so that a hostile one can neither
//! flood a message nor pass for another.

/// A value for a message: in backquotes, with control and invisible characters escaped (`\n`,
/// `\t`, `\r`, the rest as `<U+200B>`), and cut after 200 characters, so a hostile value can
/// neither flood a message nor pass for another.
pub fn quoted(value: &str) -> String {
    let characters = value.chars().count();
    let count = if characters > SHOWN {
        format!(" ({characters} characters)")
    } else {
        String::new()
    };
    format!("`{}`{count}", escaped(value))
}

/// The most characters of one value a message shows.
const SHOWN: usize = 200;

/// `value` with control and invisible characters escaped as [`quoted`] does, cut after 200
/// characters with `…`: for a name inside a label, where backquotes would be noise.
pub fn escaped(value: &str) -> String {
    let mut shown: String = value.chars().take(SHOWN).map(visible).collect();
    if value.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

/// `c` as a message shows it: itself, or an escape when it is a control character or one a
/// reader would not see (zero-width, bidirectional overrides, combining marks: those Rust's
/// `char::escape_debug` escapes).
fn visible(c: char) -> String {
    match c {
        '\n' => "\\n".to_string(),
        '\t' => "\\t".to_string(),
        '\r' => "\\r".to_string(),
        '\\' | '\'' | '"' => c.to_string(),
        c if c.escape_debug().nth(1).is_some() => format!("<U+{:04X}>", u32::from(c)),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_shows_what_a_reader_cannot_see_and_no_more_than_200_characters() {
        assert_eq!(quoted("role/a b"), "`role/a b`");
        assert_eq!(quoted("a\tb\nc"), "`a\\tb\\nc`");
        assert_eq!(
            quoted("c\u{200b}\u{202e}\u{0}"),
            "`c<U+200B><U+202E><U+0000>`"
        );
        assert_eq!(quoted(r#"it's "q" \"#), r#"`it's "q" \`"#);
        assert_eq!(quoted("é"), "`é`");
        let long = quoted(&"x".repeat(1_000_000));
        assert!(long.ends_with("…` (1000000 characters)"), "{long}");
        assert_eq!(long.matches('x').count(), 200);
    }
}
