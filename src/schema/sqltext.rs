//! What SQLite keeps only in the text of its `CREATE` statements: CHECK constraints, a
//! column's collation and generation expression, a foreign key's deferrability, and an index's
//! expressions and `WHERE`. A small tokenizer that knows SQLite's quotes and comments
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

/// What a `CREATE TABLE` says of one column beyond the pragmas.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ColumnText {
    pub name: String,
    /// `COLLATE NOCASE`, upper-cased (SQLite's collation names ignore case).
    pub collation: Option<String>,
    /// The expression of `GENERATED ALWAYS AS (…)`, as written.
    pub generated: Option<String>,
}

/// A foreign key of a `CREATE TABLE`: its columns, and whether it is deferred (SQLite defers
/// only `DEFERRABLE INITIALLY DEFERRED`; every other clause is immediate).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForeignKeyText {
    pub columns: Vec<String>,
    pub deferred: bool,
}

/// The columns and the foreign keys of a `CREATE TABLE`, from its top-level definitions.
pub(crate) fn table_parts(create_table: &str) -> (Vec<ColumnText>, Vec<ForeignKeyText>) {
    let tokens = tokens(create_table);
    let (mut columns, mut keys) = (Vec::new(), Vec::new());
    let Some(open) = tokens.iter().position(|t| t.text == "(") else {
        return (columns, keys);
    };
    let Some(close) = closing(&tokens, open) else {
        return (columns, keys);
    };
    for item in top_level(&tokens[open + 1..close]) {
        // The tokens outside parentheses, each with its place in `item`.
        let mut depth = 0usize;
        let mut outer = Vec::new();
        for (i, token) in item.iter().enumerate() {
            match token.text {
                "(" => {
                    if depth == 0 {
                        outer.push(i);
                    }
                    depth += 1;
                }
                ")" => depth = depth.saturating_sub(1),
                _ if depth == 0 => outer.push(i),
                _ => {}
            }
        }
        let word = |k: usize| outer.get(k).map(|&i| &item[i]);
        let is = |k: usize, text: &str| word(k).is_some_and(|t| t.is(text));
        let first = if is(0, "CONSTRAINT") { 2 } else { 0 };
        let deferred = (0..outer.len()).any(|k| {
            is(k, "DEFERRABLE")
                && is(k + 1, "INITIALLY")
                && is(k + 2, "DEFERRED")
                && !(k > 0 && is(k - 1, "NOT"))
        });
        if is(first, "FOREIGN") {
            let names = match (word(first + 2), outer.get(first + 2)) {
                (Some(t), Some(&at)) if t.text == "(" => closing(item, at)
                    .map(|end| {
                        item[at + 1..end]
                            .iter()
                            .filter(|t| t.text != ",")
                            .map(|t| unquote(t.text))
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            keys.push(ForeignKeyText {
                columns: names,
                deferred,
            });
            continue;
        }
        if ["PRIMARY", "UNIQUE", "CHECK"].iter().any(|k| is(first, k)) || item.is_empty() {
            continue;
        }
        let mut column = ColumnText {
            name: unquote(item[0].text),
            ..ColumnText::default()
        };
        for k in 1..outer.len() {
            if is(k, "COLLATE") {
                column.collation = word(k + 1).map(|t| unquote(t.text).to_ascii_uppercase());
            } else if is(k, "AS") && word(k + 1).is_some_and(|t| t.text == "(") {
                let at = outer[k + 1];
                column.generated = closing(item, at).map(|end| {
                    create_table[item[at].end..item[end].start]
                        .trim()
                        .to_string()
                });
            } else if is(k, "REFERENCES") {
                keys.push(ForeignKeyText {
                    columns: vec![column.name.clone()],
                    deferred,
                });
            }
        }
        columns.push(column);
    }
    (columns, keys)
}

/// The comma-separated items of a list of tokens, commas inside parentheses not counting.
fn top_level<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token.text {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                items.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tokens[start..]);
    items
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
    fn columns_and_foreign_keys_say_what_the_pragmas_do_not() {
        let sql = "CREATE TABLE \"t\" (id INTEGER PRIMARY KEY, \
                   name TEXT COLLATE nocase CHECK (name COLLATE BINARY <> 'AS (x)'), \
                   full TEXT GENERATED ALWAYS AS (name || ' ' || cast(id AS text)) STORED, \
                   short AS (substr(name, 1, 2)), \
                   owner INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED, \
                   [other] INTEGER REFERENCES users(id) NOT DEFERRABLE INITIALLY DEFERRED, \
                   CONSTRAINT fk FOREIGN KEY (owner, \"other\") REFERENCES pairs (a, b) \
                   ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, UNIQUE (name))";
        let (columns, keys) = table_parts(sql);
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "full", "short", "owner", "other"]);
        assert_eq!(columns[1].collation.as_deref(), Some("NOCASE"));
        assert_eq!(columns[1].generated, None);
        assert_eq!(
            columns[2].generated.as_deref(),
            Some("name || ' ' || cast(id AS text)")
        );
        assert_eq!(columns[2].collation, None);
        assert_eq!(columns[3].generated.as_deref(), Some("substr(name, 1, 2)"));
        let deferred = |columns: &[&str]| ForeignKeyText {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            deferred: true,
        };
        assert_eq!(
            keys,
            [
                deferred(&["owner"]),
                ForeignKeyText {
                    deferred: false,
                    ..deferred(&["other"])
                },
                deferred(&["owner", "other"]),
            ]
        );
    }

    #[test]
    fn unquote_undoes_each_quote_style() {
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[x y]"), "x y");
        assert_eq!(unquote("`m`"), "m");
        assert_eq!(unquote("plain"), "plain");
    }
}
