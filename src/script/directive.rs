//! `-- retort:allow <code>[,<code>…] reason="…"` lines of a revision file: findings of
//! `retort lint` accepted on purpose. Read with the file, so the linter sees them and a run
//! records their reasons in its audit row.

use serde::{Deserialize, Serialize};

/// One `retort:allow` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allow {
    /// 1-based file line of the directive.
    pub line: usize,
    /// The codes or rule names, as written.
    pub codes: Vec<String>,
    /// `None` when the directive has no `reason="…"` or an empty one.
    pub reason: Option<String>,
    /// The 1-based file line of the first line after the directive's comment block (the
    /// statement it stands above), `None` when a blank line or the end of the file follows.
    pub above_line: Option<usize>,
}

/// Every `retort:allow` directive of `text`, a revision file.
pub(crate) fn allows(text: &str) -> Vec<Allow> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let comment = line.trim_start().strip_prefix("--")?.trim_start();
            let rest = comment.strip_prefix("retort:allow")?;
            let after = lines[index + 1..]
                .iter()
                .position(|l| !l.trim_start().starts_with("--"))
                .map(|k| index + 1 + k);
            let above_line = after
                .filter(|&i| !lines[i].trim().is_empty())
                .map(|i| i + 1);
            Some(parse(index + 1, rest, above_line))
        })
        .collect()
}

fn parse(line: usize, rest: &str, above_line: Option<usize>) -> Allow {
    let (codes_text, reason) = match rest.find("reason=") {
        Some(at) => (&rest[..at], reason_value(&rest[at + "reason=".len()..])),
        None => (rest, None),
    };
    Allow {
        line,
        codes: codes_text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect(),
        reason,
        above_line,
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
    fn codes_a_quoted_reason_and_the_line_below_the_comment_block() {
        let found = allows(
            "-- retort:allow RT101,drop-column reason=\"backfilled \\\"offline\\\"\"\n-- more\nSELECT 1;\n  -- retort:allow RT151\n\n-- retort:allow RT999 reason=\"\"",
        );
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].codes, vec!["RT101", "drop-column"]);
        assert_eq!(found[0].reason.as_deref(), Some("backfilled \"offline\""));
        assert_eq!(found[0].above_line, Some(3));
        assert_eq!((found[1].line, found[1].reason.as_deref()), (4, None));
        assert_eq!(found[1].above_line, None);
        assert_eq!(
            (found[2].reason.as_deref(), found[2].above_line),
            (None, None)
        );
    }
}
