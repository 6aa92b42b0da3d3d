//! What SQLite keeps only in the text of its `CREATE` statements: CHECK constraints, and an
//! index's expressions and `WHERE`. A small tokenizer that knows SQLite's quotes and comments
//! finds them; nothing here tries to understand more SQL than that.

/// One token and where it starts and ends in the text.
#[derive(Debug, Clone, PartialEq)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Token<'_> {
    fn is(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }
}

/// Words, quoted names and strings (whole, quotes included), and single punctuation
/// characters; whitespace and comments are skipped.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
                continue;
            }
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => break,
                        // A doubled quote is one quote character inside the token.
                        Some(&b)
                            if b == close && close != b']' && bytes.get(i + 1) == Some(&close) =>
                        {
                            i += 2
                        }
                        Some(&b) if b == close => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
            }
            _ => {
                i += 1;
                // Keep a multi-byte character whole.
                while i < bytes.len() && !sql.is_char_boundary(i) {
                    i += 1;
                }
            }
        }
        out.push(Token {
            text: &sql[start..i],
            start,
            end: i,
        });
    }
    out
}

/// The index of the `)` closing the `(` at `open`.
fn closing(tokens: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.text {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// An identifier without its quotes.
pub(crate) fn unquote(name: &str) -> String {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(b'"'), Some(b'"')) | (Some(b'`'), Some(b'`')) | (Some(b'\''), Some(b'\''))
            if name.len() >= 2 =>
        {
            let quote = &name[..1];
            name[1..name.len() - 1].replace(&quote.repeat(2), quote)
        }
        (Some(b'['), Some(b']')) => name[1..name.len() - 1].to_string(),
        _ => name.to_string(),
    }
}

/// The CHECK constraints of a `CREATE TABLE`: each with its `CONSTRAINT` name if it has one,
/// and its expression as written.
pub(crate) fn checks(create_table: &str) -> Vec<(Option<String>, String)> {
    let tokens = tokens(create_table);
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if !token.is("CHECK") || tokens.get(i + 1).map(|t| t.text) != Some("(") {
            continue;
        }
        let Some(close) = closing(&tokens, i + 1) else {
            continue;
        };
        let expression = &create_table[tokens[i + 1].end..tokens[close].start];
        let name = match i.checked_sub(2).map(|j| &tokens[j]) {
            Some(keyword) if keyword.is("CONSTRAINT") => Some(unquote(tokens[i - 1].text)),
            _ => None,
        };
        out.push((name, expression.trim().to_string()));
    }
    out
}

/// The key expressions and the `WHERE` predicate of a `CREATE INDEX`, as written.
pub(crate) fn index_parts(create_index: &str) -> (Vec<String>, Option<String>) {
    let tokens = tokens(create_index);
    let Some(on) = tokens.iter().position(|t| t.is("ON")) else {
        return (Vec::new(), None);
    };
    let Some(open) = tokens
        .iter()
        .skip(on)
        .position(|t| t.text == "(")
        .map(|p| p + on)
    else {
        return (Vec::new(), None);
    };
    let Some(close) = closing(&tokens, open) else {
        return (Vec::new(), None);
    };
    let mut columns = Vec::new();
    let mut depth = 0usize;
    let mut part_start = tokens[open].end;
    for token in &tokens[open + 1..close] {
        match token.text {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                columns.push(create_index[part_start..token.start].trim().to_string());
                part_start = token.end;
            }
            _ => {}
        }
    }
    columns.push(
        create_index[part_start..tokens[close].start]
            .trim()
            .to_string(),
    );
    let predicate = tokens[close + 1..].iter().find(|t| t.is("WHERE")).map(|t| {
        create_index[t.end..]
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_string()
    });
    (columns, predicate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_found_with_their_names_outside_strings_and_comments() {
        let sql = "CREATE TABLE t (a INT CHECK (a > 0), b TEXT DEFAULT 'CHECK (x)', \
                   -- CHECK (no)\n CONSTRAINT \"b len\" CHECK (length(b) < 10), \
                   check(a <> (1 + 2)))";
        assert_eq!(
            checks(sql),
            vec![
                (None, "a > 0".to_string()),
                (Some("b len".to_string()), "length(b) < 10".to_string()),
                (None, "a <> (1 + 2)".to_string()),
            ]
        );
        assert!(checks("CREATE TABLE checked (a INT)").is_empty());
    }

    #[test]
    fn index_expressions_and_predicates_are_split_at_the_top_level() {
        let (columns, predicate) = index_parts(
            "CREATE UNIQUE INDEX ix ON t (lower(name, 'a,b'), \"b\" DESC) WHERE deleted_at IS NULL",
        );
        assert_eq!(columns, vec!["lower(name, 'a,b')", "\"b\" DESC"]);
        assert_eq!(predicate.as_deref(), Some("deleted_at IS NULL"));
        let (columns, predicate) = index_parts("CREATE INDEX \"on\" ON \"where\"(x)");
        assert_eq!(columns, vec!["x"]);
        assert_eq!(predicate, None);
    }

    #[test]
    fn unquote_undoes_each_quote_style() {
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[x y]"), "x y");
        assert_eq!(unquote("`m`"), "m");
        assert_eq!(unquote("plain"), "plain");
    }
}
