//! IAM wildcards: `*` matches any run of characters, `?` any one character.

/// Whether `value` matches `pattern`, optionally ignoring ASCII case.
pub fn matches(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, v) = (norm(pattern), norm(value));
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut resume) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            resume = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            resume += 1;
            vi = resume;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("sqs:*", "sqs:SendMessage", false));
        assert!(matches("*", "", false));
        assert!(matches("sqs:Send?essage", "sqs:SendMessage", false));
        assert!(!matches("sqs:Send?essage", "sqs:SendMMessage", false));
        assert!(matches("a*b*c", "axxbyyc", false));
        assert!(!matches("a*b*c", "axxbyy", false));
    }

    #[test]
    fn case_is_ignored_only_when_asked() {
        assert!(matches("SQS:sendmessage", "sqs:SendMessage", true));
        assert!(!matches("SQS:sendmessage", "sqs:SendMessage", false));
    }
}
