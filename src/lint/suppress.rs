//! `-- retort:allow <code>[,<code>…] reason="…"` (read with the file, see
//! `script::directive`): in the header it covers the whole file; in a section, the statement
//! right below its comment block.

use super::rules::Code;
use crate::script::directive::Allow;

/// The rules a directive names, and the words that name none.
pub(crate) fn codes(allow: &Allow) -> (Vec<Code>, Vec<&str>) {
    let mut codes = Vec::new();
    let mut unknown = Vec::new();
    for word in &allow.codes {
        match Code::from_name(word) {
            Some(code) => codes.push(code),
            None => unknown.push(word.as_str()),
        }
    }
    (codes, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_id_or_name() {
        let allow = Allow {
            line: 1,
            codes: vec!["RT101".into(), "drop-column".into(), "RT999".into()],
            reason: None,
            above_line: None,
        };
        assert_eq!(
            codes(&allow),
            (
                vec![Code::IndexNotConcurrent, Code::DropColumn],
                vec!["RT999"]
            )
        );
    }
}
