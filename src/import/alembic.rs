//! Alembic: a `versions/` folder of Python modules whose module-level assignments
//! (`revision = "…"`, `down_revision: Union[str, None] = "…"`, `branch_labels`, `depends_on`)
//! and docstring make a revision graph. Read statically: a small tokenizer finds the
//! assignments at column 0 outside strings and brackets, and only literal values are accepted
//! (`None`, a string, or a tuple/list of strings), so no Python runs.

use std::path::{Path, PathBuf};

use super::{bad_source, read_text};
use crate::error::{Error, Result};

/// One Alembic revision module.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlembicRevision {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    /// The docstring's first line.
    pub message: String,
    pub path: PathBuf,
}

/// Every revision module of `dir` (as Alembic loads them: `*.py` but `__init__.py` and
/// editor lock files `.#…`), in file name order; refuses duplicate ids.
pub(crate) fn read_versions(dir: &Path) -> Result<Vec<AlembicRevision>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let skipped = name.starts_with("__init__") || name.starts_with(".#");
        if path.is_file() && name.ends_with(".py") && !skipped {
            paths.push(path);
        }
    }
    paths.sort();
    let mut revisions: Vec<AlembicRevision> = Vec::new();
    for path in paths {
        let r = read_module(&path, &read_text(&path)?)?;
        if let Some(first) = revisions.iter().find(|o| o.revision == r.revision) {
            return Err(Error::ImportDuplicateVersion {
                version: r.revision,
                first: first.path.clone(),
                second: path,
            });
        }
        revisions.push(r);
    }
    Ok(revisions)
}

/// A Python token that matters here.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    /// Any other punctuation, one character (`=` of `==` and friends is `Other`).
    Punct(char),
    Other,
}

/// One logical line at module level: its tokens and line number; `indented` lines belong
/// to a block (a function body) and are not module-level assignments.
struct Line {
    number: usize,
    indented: bool,
    toks: Vec<Tok>,
}

/// Splits `text` into logical lines as Python does: brackets and `\` continue a line, strings
/// (all four quote styles, with prefixes) and comments are read whole.
fn logical_lines(text: &str) -> std::result::Result<Vec<Line>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let (mut i, mut number, mut depth) = (0, 1, 0usize);
    let mut current: Option<Line> = None;
    while i < chars.len() {
        let c = chars[i];
        if current.is_none() {
            // Start of a physical line outside brackets: note indentation.
            let mut j = i;
            while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
                j += 1;
            }
            match chars.get(j) {
                None => {}
                // A blank or comment-only line: no logical line.
                Some('\n' | '\r' | '#') => {
                    while j < chars.len() && chars[j] != '\n' {
                        j += 1;
                    }
                    if j < chars.len() {
                        number += 1;
                        j += 1;
                    }
                }
                Some(_) => {
                    current = Some(Line {
                        number,
                        indented: j > i,
                        toks: Vec::new(),
                    })
                }
            }
            i = j;
            continue;
        }
        let line = current.as_mut().expect("set above");
        match c {
            '\n' => {
                number += 1;
                i += 1;
                if depth == 0 {
                    lines.extend(current.take());
                }
            }
            ' ' | '\t' | '\r' | '\x0c' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                number += 1;
                i += 2;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if matches!(chars.get(i), Some('\'' | '"')) && is_string_prefix(&word) {
                    let (value, end, lines_in) = read_string(&chars, i, &word, number)?;
                    let formatted = word.to_ascii_lowercase().contains('f');
                    line.toks.push(if formatted {
                        Tok::Other
                    } else {
                        Tok::Str(value)
                    });
                    number += lines_in;
                    i = end;
                } else {
                    line.toks.push(Tok::Name(word));
                }
            }
            '\'' | '"' => {
                let (value, end, lines_in) = read_string(&chars, i, "", number)?;
                line.toks.push(Tok::Str(value));
                number += lines_in;
                i = end;
            }
            '(' | '[' | '{' => {
                depth += 1;
                line.toks.push(Tok::Punct(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                line.toks.push(Tok::Punct(c));
                i += 1;
            }
            '=' | '<' | '>' | '!' | '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | ':'
                if chars.get(i + 1) == Some(&'=') =>
            {
                line.toks.push(Tok::Other);
                i += 2;
            }
            ',' | ':' | '=' | ';' | '.' => {
                line.toks.push(Tok::Punct(c));
                i += 1;
            }
            _ => {
                line.toks.push(Tok::Other);
                i += 1;
            }
        }
    }
    lines.extend(current);
    if depth != 0 {
        return Err("a bracket is never closed".into());
    }
    Ok(lines)
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf"
    )
}

/// The string literal starting at `chars[start]` (a quote): its value, the index after it and
/// how many newlines it spans.
fn read_string(
    chars: &[char],
    start: usize,
    prefix: &str,
    line: usize,
) -> std::result::Result<(String, usize, usize), String> {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let raw = prefix.to_ascii_lowercase().contains('r');
    let mut i = start + if triple { 3 } else { 1 };
    let (mut value, mut newlines) = (String::new(), 0);
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(format!("line {line}: a string is never closed"));
        };
        if c == quote
            && (!triple || (chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote)))
        {
            return Ok((value, i + if triple { 3 } else { 1 }, newlines));
        }
        if c == '\n' {
            if !triple {
                return Err(format!("line {line}: a string is never closed"));
            }
            newlines += 1;
        }
        if c == '\\' {
            let next = chars.get(i + 1).copied().unwrap_or('\\');
            if next == '\n' {
                newlines += 1;
            }
            match (raw, next) {
                (true, _) => {
                    value.push('\\');
                    value.push(next);
                }
                (false, '\n') => {}
                (false, 'n') => value.push('\n'),
                (false, 't') => value.push('\t'),
                (false, other) if "\\'\"".contains(other) => value.push(other),
                (false, other) => {
                    value.push('\\');
                    value.push(other);
                }
            }
            i += 2;
            continue;
        }
        value.push(c);
        i += 1;
    }
}

/// The revision declared by the module at `path` with source `text`.
pub(crate) fn read_module(path: &Path, text: &str) -> Result<AlembicRevision> {
    let lines = logical_lines(text).map_err(|e| bad_source(path, e))?;
    let message = match lines.first().map(|l| l.toks.as_slice()) {
        Some([Tok::Str(doc)]) => doc
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    let mut values: [Option<Vec<String>>; 4] = Default::default();
    const KEYS: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];
    for line in lines.iter().filter(|l| !l.indented) {
        let Some(Tok::Name(name)) = line.toks.first() else {
            continue;
        };
        let Some(key) = KEYS.iter().position(|k| k == name) else {
            continue;
        };
        let at =
            |detail: &str| bad_source(path, format!("line {}: `{name}` {detail}", line.number));
        // `name = value` or `name: annotation = value`: the `=` outside brackets.
        let mut depth = 0i32;
        let mut eq = None;
        for (n, tok) in line.toks.iter().enumerate().skip(1) {
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct('=') if depth == 0 => {
                    eq = Some(n);
                    break;
                }
                _ => {}
            }
        }
        let starts_right = matches!(line.toks.get(1), Some(Tok::Punct('=' | ':')));
        let Some(eq) = eq.filter(|_| starts_right) else {
            return Err(at("is not a plain assignment"));
        };
        if values[key].is_some() {
            return Err(at("is assigned twice"));
        }
        let value = literal(&line.toks[eq + 1..]).ok_or_else(|| {
            at("is not None, a string, or a tuple or list of strings (retort does not run Python)")
        })?;
        values[key] = Some(value);
    }
    let [revision, down, labels, depends] = values;
    let revision = match revision.as_deref() {
        Some([one]) if !one.is_empty() => one.clone(),
        Some(_) => return Err(bad_source(path, "`revision` must be one non-empty string")),
        None => return Err(bad_source(path, "it has no `revision = \"…\"` assignment")),
    };
    Ok(AlembicRevision {
        revision,
        down_revisions: down.unwrap_or_default(),
        branch_labels: labels.unwrap_or_default(),
        depends_on: depends.unwrap_or_default(),
        message,
        path: path.to_path_buf(),
    })
}

/// `None` (empty), a string (adjacent literals concatenate, parentheses allowed), or a tuple
/// or list of strings; `None` for anything else.
fn literal(toks: &[Tok]) -> Option<Vec<String>> {
    let toks = match toks.last() {
        Some(Tok::Punct(';')) => &toks[..toks.len() - 1],
        _ => toks,
    };
    if let [Tok::Name(none)] = toks {
        return (none == "None").then(Vec::new);
    }
    let open = match toks {
        [Tok::Punct('('), .., Tok::Punct(')')] => '(',
        [Tok::Punct('['), .., Tok::Punct(']')] => '[',
        _ => return Some(vec![concatenated(toks)?]),
    };
    let inner = &toks[1..toks.len() - 1];
    let parts: Vec<&[Tok]> = inner.split(|t| *t == Tok::Punct(',')).collect();
    // `("a")` is a string; `("a",)`, `()` and `["a"]` are sequences.
    if open == '(' && parts.len() == 1 && !inner.is_empty() {
        return Some(vec![concatenated(inner)?]);
    }
    let mut items = Vec::new();
    for (n, part) in parts.iter().enumerate() {
        match part.is_empty() {
            // Only a trailing comma (or an empty sequence) leaves an empty part.
            true if n + 1 == parts.len() => {}
            true => return None,
            false => items.push(concatenated(part)?),
        }
    }
    Some(items)
}

/// Adjacent string literals as one string.
fn concatenated(toks: &[Tok]) -> Option<String> {
    let mut out = String::new();
    for tok in toks {
        match tok {
            Tok::Str(s) => out.push_str(s),
            _ => return None,
        }
    }
    (!toks.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<AlembicRevision> {
        read_module(Path::new("v.py"), text)
    }

    #[test]
    fn reads_the_default_template() {
        let r = read(
            "\"\"\"add account table\n\nRevision ID: ae1027a6acf\nRevises: 1975ea83b712\n\"\"\"\n\
             from typing import Sequence, Union\n\nfrom alembic import op\n\n\
             # revision identifiers, used by Alembic.\n\
             revision: str = 'ae1027a6acf'\n\
             down_revision: Union[str, Sequence[str], None] = \"1975ea83b712\"\n\
             branch_labels: Union[str, Sequence[str], None] = None\n\
             depends_on: Union[str, Sequence[str], None] = None\n\n\
             def upgrade() -> None:\n    revision = 'not this'\n    op.execute(\"\"\"\nrevision = 'nor this'\n\"\"\")\n",
        )
        .unwrap();
        assert_eq!(r.revision, "ae1027a6acf");
        assert_eq!(r.down_revisions, ["1975ea83b712"]);
        assert!(r.branch_labels.is_empty() && r.depends_on.is_empty());
        assert_eq!(r.message, "add account table");
    }

    #[test]
    fn reads_tuples_lists_and_parentheses_over_lines() {
        let r = read(
            "'''merge'''\nrevision = 'm'\ndown_revision = (\n    'a',  # first\n    \"b\",\n)\n\
             branch_labels = ('billing',)\ndepends_on = ['x', 'y']\n",
        )
        .unwrap();
        assert_eq!(r.down_revisions, ["a", "b"]);
        assert_eq!(r.branch_labels, ["billing"]);
        assert_eq!(r.depends_on, ["x", "y"]);
        let r = read("revision = ('a'\n 'b')\nbranch_labels = 'x'\n").unwrap();
        assert_eq!(r.revision, "ab");
        assert_eq!(r.branch_labels, ["x"]);
    }

    #[test]
    fn refuses_what_is_not_a_literal() {
        let err = |t: &str| read(t).unwrap_err().to_string();
        assert!(err("down_revision = 'a'\n").contains("no `revision"));
        assert!(err("revision = 'a'\ndown_revision = base\n").contains("line 2"));
        assert!(err("revision = 'a'\nrevision = 'b'\n").contains("twice"));
        assert!(err("revision = f'a'\n").contains("not None"));
        assert!(err("revision = None\n").contains("one non-empty string"));
        assert!(err("revision = ('a', 'b')\n").contains("one non-empty string"));
        assert!(err("revision = 'a\n").contains("never closed"));
        assert!(err("revision = 'a'\ndown_revision = ('a',,)\n").contains("line 2"));
        assert!(err("revision == 'a'\n").contains("plain assignment"));
    }
}
