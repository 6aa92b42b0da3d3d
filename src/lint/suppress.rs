//! `-- retort:allow <code>[,<code>…] reason="…"`: a finding accepted on purpose. In the header
//! it covers the whole file; in a section, the statement that follows its comment block.

use super::rules::Code;

/// One `retort:allow` line of a revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allow {
    /// 1-based file line of the directive.
    pub line: usize,
    pub codes: Vec<Code>,
    /// Codes that name no rule, as written.
    pub unknown: Vec<String>,
    /// `None` when the directive has no `reason="…"` or an empty one.
    pub reason: Option<String>,
}

/// Every `retort:allow` directive of `text`, a revision file.
pub(crate) fn directives(text: &str) -> Vec<Allow> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let comment = line.trim_start().strip_prefix("--")?.trim_start();
            let rest = comment.strip_prefix("retort:allow")?;
            Some(parse(index + 1, rest))
        })
        .collect()
}

fn parse(line: usize, rest: &str) -> Allow {
    let (codes_text, reason) = match rest.find("reason=") {
        Some(at) => (&rest[..at], reason_value(&rest[at + "reason=".len()..])),
        None => (rest, None),
    };
    let mut codes = Vec::new();
    let mut unknown = Vec::new();
    for word in codes_text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        match Code::from_name(word) {
            Some(code) => codes.push(code),
            None => unknown.push(word.to_string()),
        }
    }
    Allow {
        line,
        codes,
        unknown,
        reason,
    }
}

/// The text of `"…"` (a backslash escapes a quote), or `None` when unquoted or blank.
fn reason_value(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value).filter(|v| !v.trim().is_empty()),
            '\\' => value.extend(chars.next()),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_id_or_name_and_a_quoted_reason() {
        let found = directives(
            "-- retort:allow RT101,drop-column reason=\"backfilled \\\"offline\\\"\"\nSELECT 1;\n  -- retort:allow RT151\n-- retort:allow RT999 reason=\"\"\n",
        );
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[0].codes,
            vec![Code::IndexNotConcurrent, Code::DropColumn]
        );
        assert_eq!(found[0].reason.as_deref(), Some("backfilled \"offline\""));
        assert_eq!((found[1].line, found[1].reason.as_deref()), (3, None));
        assert_eq!(found[2].unknown, vec!["RT999".to_string()]);
        assert_eq!(found[2].reason, None);
    }
}
