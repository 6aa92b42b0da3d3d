//! The TOML header of a revision file: the leading run of `--` lines up to the first blank line
//! or `-- migrate:` marker. Errors name the file and the line.

use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value};

use super::{id, RevisionMeta};
use crate::config::timeouts::parse_duration;
use crate::config::{toml_error_message, TimeoutOverrides};
use crate::error::{Error, Result, ScriptProblem};

/// The header of a revision file: what the revision says about itself, and how it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub meta: RevisionMeta,
    pub transactional: bool,
    pub timeouts: TimeoutOverrides,
}

/// A problem and the 1-based file line it is on.
type Located = (usize, ScriptProblem);

/// Every header key, as written in files.
pub(crate) const HEADER_KEYS: &[&str] = &[
    "revision",
    "down_revision",
    "branch_labels",
    "depends_on",
    "message",
    "create_date",
    "transactional",
    "lock_timeout",
    "statement_timeout",
    "retries",
];

/// The header key a comment line seems to set (`-- down_revision = ...`), if any.
pub(crate) fn looks_like_header_key(line: &str) -> Option<&'static str> {
    let content = line.trim().strip_prefix("--")?.trim_start();
    let (key, _) = content.split_once('=')?;
    HEADER_KEYS.iter().copied().find(|k| *k == key.trim())
}

/// The header as TOML gives it. Values stay untyped (with their spans) so that a wrong type is
/// reported with our wording and the file line, rather than serde's "did not match any variant".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    revision: Option<Spanned<Value>>,
    down_revision: Option<Spanned<Value>>,
    branch_labels: Option<Spanned<Value>>,
    depends_on: Option<Spanned<Value>>,
    message: Option<Spanned<Value>>,
    create_date: Option<Spanned<Value>>,
    transactional: Option<Spanned<Value>>,
    lock_timeout: Option<Spanned<Value>>,
    statement_timeout: Option<Spanned<Value>>,
    retries: Option<Spanned<Value>>,
}

/// For a section marker line (`-- migrate:...`, which also ends the header), the text after
/// `migrate:` (e.g. `upgrade postgresql`).
pub(crate) fn marker_rest(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:")
}

/// Whether a comment's text (after `--`) is a `retort:` directive such as `retort:allow`.
pub(crate) fn is_directive(comment: &str) -> bool {
    comment.trim_start().starts_with("retort:")
}

/// The header text with the `--` prefixes removed, and where its lines sit in the file.
struct HeaderLines {
    toml: String,
    /// 1-based file line of each header line, in order.
    file_lines: Vec<usize>,
    /// 0-based index of the first line after the header.
    end: usize,
}

impl HeaderLines {
    fn collect(text: &str) -> HeaderLines {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().peekable();
        // Blank lines before the header (e.g. left by an editor) do not end it.
        while lines.next_if(|(_, l)| l.trim().is_empty()).is_some() {}
        let mut toml = String::new();
        let mut file_lines = Vec::new();
        let mut end = 0;
        for (index, raw) in lines {
            end = index;
            let line = raw.trim_start();
            let Some(content) = line.strip_prefix("--") else {
                break;
            };
            if marker_rest(line).is_some() {
                break;
            }
            end = index + 1;
            // `-- retort:allow ...` lines are directives for `retort lint`, not TOML.
            if is_directive(content) {
                continue;
            }
            toml.push_str(content.strip_prefix(' ').unwrap_or(content));
            toml.push('\n');
            file_lines.push(index + 1);
            end = index + 1;
        }
        HeaderLines {
            toml,
            file_lines,
            end,
        }
    }

    /// The 0-based header line holding byte `offset` of the TOML text.
    fn header_line(&self, offset: usize) -> usize {
        let bytes = self.toml.as_bytes();
        bytes[..offset.min(bytes.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    /// The 1-based file line holding byte `offset` of the TOML text.
    fn file_line(&self, offset: usize) -> usize {
        self.file_lines
            .get(self.header_line(offset))
            .or(self.file_lines.last())
            .copied()
            .unwrap_or(1)
    }

    /// The TOML text of the line holding byte `offset`, trimmed.
    fn source(&self, offset: usize) -> &str {
        self.toml
            .lines()
            .nth(self.header_line(offset))
            .unwrap_or("")
            .trim()
    }

    /// The 1-based file line of `value`'s start.
    fn line_of(&self, value: &Spanned<Value>) -> usize {
        self.file_line(value.span().start)
    }

    /// The header as TOML gives it: through [`parse_simple`] for the common header, else the
    /// TOML parser.
    fn raw(&self) -> Result<RawHeader, Located> {
        match parse_simple(&self.toml) {
            Some(raw) => Ok(raw),
            None => toml::from_str(&self.toml).map_err(|e| self.invalid_toml(&e)),
        }
    }

    /// The problem of a header TOML rejects. The toml crate reports its errors as text only,
    /// so this is the one place that reads it: an error about a key names the key (the line
    /// need not be quoted), and "expected `.`, `=`" is a line that is not `key = value`.
    fn invalid_toml(&self, error: &toml::de::Error) -> Located {
        let detail = toml_error_message(error);
        let line = error.span().map_or(1, |span| self.file_line(span.start));
        let names_a_key = detail.contains(" key `");
        let line_text = error.span().filter(|_| !names_a_key).map(|span| {
            crate::error::clip(self.source(span.start), crate::error::QUOTED_CHARS).into_owned()
        });
        let prose = detail.contains("expected `.`, `=`");
        let problem = ScriptProblem::InvalidHeader {
            detail,
            line_text,
            prose,
        };
        (line, problem)
    }
}

/// Parses the header; returns it and the 0-based index of the first line after it.
pub(crate) fn parse_header(path: &Path, text: &str) -> Result<(Header, usize)> {
    let lines = HeaderLines::collect(text);
    let header = lines
        .raw()
        .and_then(|raw| raw.into_header(&lines))
        .map_err(|(line, problem)| Error::Script {
            path: path.to_path_buf(),
            line,
            problem,
        })?;
    Ok((header, lines.end))
}

/// Where to write a new `down_revision` value into a revision file's `text`: the byte range of
/// the value as written (`"a"`, `["a", "b"]`), or, without the key, the empty range at the start
/// of the line after `revision = ...`, where a whole `-- down_revision = ...` line goes.
/// Everything outside the range is left as it is. `None` when the header cannot be read.
pub(crate) fn down_revision_slot(text: &str) -> Option<DownRevisionSlot> {
    let lines = HeaderLines::collect(text);
    let raw = lines.raw().ok()?;
    let bom = text.len() - text.strip_prefix('\u{feff}').unwrap_or(text).len();
    // Byte offset in `text` of each line's start (`lines()` splits at `\n` as this does).
    let mut starts = vec![bom];
    starts.extend(text[bom..].match_indices('\n').map(|(i, _)| bom + i + 1));
    // A TOML offset of the header as a byte offset in `text`.
    let file_offset = |offset: usize| -> Option<usize> {
        let line = lines.header_line(offset);
        let toml_line_start = lines.toml[..offset].rfind('\n').map_or(0, |i| i + 1);
        let file_line = *lines.file_lines.get(line)?;
        let start = *starts.get(file_line - 1)?;
        let raw_line = &text[start..];
        let indent = raw_line.len() - raw_line.trim_start().len();
        let after_dashes = &raw_line[indent + 2..];
        let space = usize::from(after_dashes.starts_with(' '));
        Some(start + indent + 2 + space + offset - toml_line_start)
    };
    match &raw.down_revision {
        Some(value) => {
            let span = value.span();
            Some(DownRevisionSlot::Value(
                file_offset(span.start)?..file_offset(span.end)?,
            ))
        }
        None => {
            let end = file_offset(raw.revision.as_ref()?.span().end)?;
            let next_line = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
            Some(DownRevisionSlot::NewLine(next_line))
        }
    }
}

/// See [`down_revision_slot`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DownRevisionSlot {
    /// The value's bytes.
    Value(std::ops::Range<usize>),
    /// Where a new header line goes.
    NewLine(usize),
}

impl RawHeader {
    /// Checks each key's type and rules, in the order of the keys in a new revision file.
    fn into_header(self, lines: &HeaderLines) -> Result<Header, Located> {
        let Some(revision) = read(lines, &self.revision, revision_id)? else {
            let line = lines.file_lines.first().copied().unwrap_or(1);
            return Err((line, ScriptProblem::MissingRevision));
        };
        let down_revisions = read(lines, &self.down_revision, |v| down_revisions(v, &revision))?;
        let branch_labels = read(lines, &self.branch_labels, branch_labels)?;
        let depends_on = read(lines, &self.depends_on, |value| {
            let ids = list(value, "depends_on")?;
            check_references(&ids, &revision, "depends_on")?;
            Ok(ids)
        })?;
        let message = read(lines, &self.message, |v| string(v, "message"))?;
        let create_date = read(lines, &self.create_date, create_date)?;
        let transactional = read(lines, &self.transactional, transactional)?;
        let timeouts = TimeoutOverrides {
            lock_timeout: read(lines, &self.lock_timeout, |v| duration(v, "lock_timeout"))?,
            statement_timeout: read(lines, &self.statement_timeout, |v| {
                duration(v, "statement_timeout")
            })?,
            retries: read(lines, &self.retries, retries)?,
        };
        Ok(Header {
            meta: RevisionMeta {
                revision,
                down_revisions: down_revisions.unwrap_or_default(),
                branch_labels: branch_labels.unwrap_or_default(),
                depends_on: depends_on.unwrap_or_default(),
                message,
                create_date,
            },
            transactional: transactional.unwrap_or(true),
            timeouts,
        })
    }
}

/// `value` (if the key is present) read by `parse`; a problem is located at the value's first
/// line.
fn read<T>(
    lines: &HeaderLines,
    value: &Option<Spanned<Value>>,
    parse: impl FnOnce(&Value) -> Result<T, ScriptProblem>,
) -> Result<Option<T>, Located> {
    value
        .as_ref()
        .map(|value| parse(value.get_ref()).map_err(|problem| (lines.line_of(value), problem)))
        .transpose()
}

fn revision_id(value: &Value) -> Result<String, ScriptProblem> {
    let revision = string(value, "revision")?;
    valid_id(&revision, "revision")?;
    Ok(revision)
}

fn down_revisions(value: &Value, revision: &str) -> Result<Vec<String>, ScriptProblem> {
    let ids = match value {
        // `""` is Alembic's `down_revision = None`: a base.
        Value::String(s) if s.is_empty() => Vec::new(),
        _ => string_or_array(value, "down_revision")?,
    };
    for parent in &ids {
        valid_id(parent, "down_revision")?;
    }
    check_references(&ids, revision, "down_revision")?;
    Ok(ids)
}

fn branch_labels(value: &Value) -> Result<Vec<String>, ScriptProblem> {
    let labels = list(value, "branch_labels")?;
    // Alembic restricts characters in revision ids only: a label may be `core-plugin`. Labels
    // no target can name still load (`check` reports them); control characters never do.
    match labels.iter().find(|l| l.chars().any(char::is_control)) {
        Some(bad) => Err(ScriptProblem::InvalidBranchLabel { label: bad.clone() }),
        None => Ok(labels),
    }
}

fn create_date(value: &Value) -> Result<String, ScriptProblem> {
    match value {
        // An unquoted TOML date-time is what the user meant too.
        Value::Datetime(dt) => Ok(dt.to_string()),
        _ => string(value, "create_date"),
    }
}

fn transactional(value: &Value) -> Result<bool, ScriptProblem> {
    match value {
        Value::Boolean(b) => Ok(*b),
        other => Err(wrong_type("transactional", "`true` or `false`", other)),
    }
}

fn duration(value: &Value, key: &'static str) -> Result<std::time::Duration, ScriptProblem> {
    let text = string(value, key)?;
    parse_duration(&text).map_err(|detail| ScriptProblem::InvalidDuration { key, detail })
}

fn retries(value: &Value) -> Result<u32, ScriptProblem> {
    match value {
        Value::Integer(n) => {
            u32::try_from(*n).map_err(|_| wrong_type("retries", "a whole number from 0 up", value))
        }
        other => Err(wrong_type("retries", "a whole number from 0 up", other)),
    }
}

fn valid_id(id: &str, key: &'static str) -> Result<(), ScriptProblem> {
    id::validate(id).map_err(|reason| ScriptProblem::InvalidId { key, reason })
}

/// A list key: a single string is a one-element list; no entry may be empty.
fn list(value: &Value, key: &'static str) -> Result<Vec<String>, ScriptProblem> {
    let items = string_or_array(value, key)?;
    if items.iter().any(String::is_empty) {
        return Err(ScriptProblem::EmptyEntry { key });
    }
    Ok(items)
}

fn string(value: &Value, key: &'static str) -> Result<String, ScriptProblem> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong_type(key, "a string", other)),
    }
}

fn string_or_array(value: &Value, key: &'static str) -> Result<Vec<String>, ScriptProblem> {
    let string = |item: &Value| match item {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong_type(key, "a string or an array of strings", other)),
    };
    match value {
        Value::Array(items) => items.iter().map(string).collect(),
        other => string(other).map(|s| vec![s]),
    }
}

/// A revision cannot name itself, and naming one revision twice is a typo.
fn check_references(
    ids: &[String],
    revision: &str,
    key: &'static str,
) -> Result<(), ScriptProblem> {
    if ids.iter().any(|id| id == revision) {
        return Err(ScriptProblem::SelfReference {
            key,
            revision: revision.into(),
        });
    }
    match ids
        .iter()
        .enumerate()
        .find(|(i, id)| ids[..*i].contains(id))
    {
        Some((_, id)) => Err(ScriptProblem::RepeatedReference {
            key,
            id: id.clone(),
        }),
        None => Ok(()),
    }
}

fn wrong_type(key: &'static str, expected: &'static str, found: &Value) -> ScriptProblem {
    let found = match found {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("date-time {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    };
    ScriptProblem::WrongType {
        key,
        expected,
        found,
    }
}

/// The common header, read without the TOML parser: every line `key = "text"`,
/// `key = ["a", "b"]`, `key = true|false`, a `#` comment or empty, with known keys once each and
/// strings without escapes. Anything else returns `None` and goes through `toml::from_str`,
/// which also produces every error message. Loading 10,000 revision files spends most of its
/// user time in the TOML parser otherwise.
fn parse_simple(toml: &str) -> Option<RawHeader> {
    fn plain_string(text: &str) -> Option<String> {
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        let plain = !inner.contains(['"', '\\']) && !inner.chars().any(char::is_control);
        plain.then(|| inner.to_string())
    }
    fn value(text: &str) -> Option<Value> {
        match text {
            "true" => return Some(Value::Boolean(true)),
            "false" => return Some(Value::Boolean(false)),
            _ => {}
        }
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            if inner.trim().is_empty() {
                return Some(Value::Array(Vec::new()));
            }
            let items = inner
                .split(',')
                .map(|item| plain_string(item.trim()).map(Value::String));
            return items.collect::<Option<Vec<_>>>().map(Value::Array);
        }
        plain_string(text).map(Value::String)
    }
    let mut raw = RawHeader {
        revision: None,
        down_revision: None,
        branch_labels: None,
        depends_on: None,
        message: None,
        create_date: None,
        transactional: None,
        lock_timeout: None,
        statement_timeout: None,
        retries: None,
    };
    let mut offset = 0;
    for line in toml.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let (key, rest) = content.split_once('=')?;
        let text = rest.trim();
        // Where the value starts in `toml`, for the line numbers of later messages.
        let value_start = start + line.find(text)?;
        let spanned = Spanned::new(value_start..value_start + text.len(), value(text)?);
        let slot = match key.trim() {
            "revision" => &mut raw.revision,
            "down_revision" => &mut raw.down_revision,
            "branch_labels" => &mut raw.branch_labels,
            "depends_on" => &mut raw.depends_on,
            "message" => &mut raw.message,
            "create_date" => &mut raw.create_date,
            "transactional" => &mut raw.transactional,
            "lock_timeout" => &mut raw.lock_timeout,
            "statement_timeout" => &mut raw.statement_timeout,
            // Integers go through the TOML parser.
            _ => return None,
        };
        if slot.replace(spanned).is_some() {
            return None;
        }
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<(Header, usize)> {
        parse_header(Path::new("v/abc.sql"), text)
    }

    fn failure(text: &str) -> (usize, String) {
        crate::script::tests::script_error(parse(text), "v/abc.sql")
    }

    #[test]
    fn lint_directives_in_the_header_are_not_toml() {
        let text = "-- revision = \"abc\"\n-- retort:allow RT101 reason=\"small table\"\n-- message = \"m\"\n\n";
        let (header, end) = parse(text).unwrap();
        assert_eq!(header.meta.message.as_deref(), Some("m"));
        assert_eq!(end, 3);
        // An error after a directive still names its own file line.
        let text = "-- revision = \"abc\"\n-- retort:allow RT101 reason=\"x\"\n-- message = 3\n\n";
        assert_eq!(failure(text).0, 3);
    }

    #[test]
    fn simple_headers_read_the_same_without_the_toml_parser() {
        let headers = [
            "revision = \"ab12cd34ef56\"\ndown_revision = [\"a1b2\", \"c3d4\"]\nbranch_labels = []\ndepends_on = [\"lbl\"]\nmessage = \"add: things = more\"\ntransactional = false\n",
            "# a comment\n\nrevision = \"x1\"\ndown_revision = \"\"\n",
        ];
        for text in headers {
            let fast = super::parse_simple(text).expect("simple header");
            let full: super::RawHeader = toml::from_str(text).unwrap();
            let view = |r: &super::RawHeader| {
                [
                    &r.revision,
                    &r.down_revision,
                    &r.branch_labels,
                    &r.depends_on,
                    &r.message,
                    &r.create_date,
                    &r.transactional,
                ]
                .map(|v| v.as_ref().map(|s| (s.span().start, s.get_ref().clone())))
            };
            assert_eq!(view(&fast), view(&full), "{text}");
        }
        // Escapes, dates, unknown or repeated keys go to the TOML parser.
        for text in [
            "message = \"a \\\"quoted\\\" word\"\n",
            "create_date = 2026-11-23T10:15:02Z\n",
            "colour = \"blue\"\n",
            "revision = \"a\"\nrevision = \"b\"\n",
            "message = 'single'\n",
        ] {
            assert!(super::parse_simple(text).is_none(), "{text}");
        }
    }

    #[test]
    fn down_revision_slot_is_the_value_as_written() {
        let slot = |text: &str| down_revision_slot(text).unwrap();
        let text =
            "\u{feff}-- revision = \"b\"\r\n--down_revision = [\"a\",\n--   \"c\"] # two\n\n";
        let DownRevisionSlot::Value(range) = slot(text) else {
            panic!("no value")
        };
        assert_eq!(&text[range], "[\"a\",\n--   \"c\"]");
        let text = "  -- revision = 'b'\n  -- down_revision = \"\"\n-- message = \"m\"\n";
        let DownRevisionSlot::Value(range) = slot(text) else {
            panic!("no value")
        };
        assert_eq!(&text[range], "\"\"");
        let text = "-- message = \"m\"\n-- revision = \"b\"\n-- migrate:upgrade\n";
        assert_eq!(slot(text), DownRevisionSlot::NewLine(35));
        assert_eq!(&text[35..], "-- migrate:upgrade\n");
        assert_eq!(down_revision_slot("-- revision = \n"), None);
    }

    #[test]
    fn full_header_is_read() {
        let text = "-- revision = \"4f2a9c1b7d3e\"\n\
                    -- down_revision = \"1975ea83b712\"\n\
                    -- branch_labels = [\"billing\"]\n\
                    -- depends_on = [\"55af2cb1c267\", \"core\"]\n\
                    -- message = \"add invoice table\"\n\
                    -- create_date = \"2026-11-23T10:15:02Z\"\n\
                    -- transactional = false\n\
                    \n\
                    -- migrate:upgrade\n";
        let (header, end) = parse(text).unwrap();
        assert_eq!(
            header,
            Header {
                meta: RevisionMeta {
                    revision: "4f2a9c1b7d3e".into(),
                    down_revisions: vec!["1975ea83b712".into()],
                    branch_labels: vec!["billing".into()],
                    depends_on: vec!["55af2cb1c267".into(), "core".into()],
                    message: Some("add invoice table".into()),
                    create_date: Some("2026-11-23T10:15:02Z".into()),
                },
                transactional: false,
                timeouts: TimeoutOverrides::default(),
            }
        );
        assert_eq!(end, 7);
    }

    #[test]
    fn timeouts_and_retries_are_read_and_bad_values_name_their_line() {
        let text = "-- revision = \"ab\"\n-- lock_timeout = \"5s\"\n\
                    -- statement_timeout = \"30min\"\n-- retries = 3\n\n-- migrate:upgrade\n";
        let (header, _) = parse(text).unwrap();
        assert_eq!(
            header.timeouts,
            TimeoutOverrides {
                lock_timeout: Some(std::time::Duration::from_secs(5)),
                statement_timeout: Some(std::time::Duration::from_secs(1800)),
                retries: Some(3),
            }
        );
        let (line, message) = failure("-- revision = \"ab\"\n-- lock_timeout = \"5 sec\"\n");
        assert_eq!(line, 2);
        assert!(
            message.contains("`lock_timeout`: unknown unit `sec`"),
            "{message}"
        );
        let (line, message) = failure("-- revision = \"ab\"\n-- retries = -1\n");
        assert_eq!(line, 2);
        assert!(
            message.contains("`retries` must be a whole number"),
            "{message}"
        );
    }

    #[test]
    fn minimal_header_has_defaults_and_ends_at_marker() {
        let (header, end) = parse("-- revision = \"ab\"\n-- migrate:upgrade\nSELECT 1;\n").unwrap();
        assert_eq!(header.meta.revision, "ab");
        assert!(header.meta.down_revisions.is_empty());
        assert!(header.meta.branch_labels.is_empty());
        assert!(header.meta.depends_on.is_empty());
        assert_eq!(header.meta.message, None);
        assert!(header.transactional);
        assert_eq!(end, 1);
    }

    #[test]
    fn down_revision_forms() {
        let merge = parse("-- revision = \"m\"\n-- down_revision = [\"a\", \"b\"]\n").unwrap();
        assert_eq!(merge.0.meta.down_revisions, ["a", "b"]);
        let base = parse("-- revision = \"m\"\n-- down_revision = \"\"\n").unwrap();
        assert!(base.0.meta.down_revisions.is_empty());
        let empty = parse("-- revision = \"m\"\n-- down_revision = []\n").unwrap();
        assert!(empty.0.meta.down_revisions.is_empty());
    }

    #[test]
    fn single_strings_are_accepted_for_lists() {
        let (header, _) =
            parse("-- revision = \"m\"\n-- branch_labels = \"x\"\n-- depends_on = \"y\"\n")
                .unwrap();
        assert_eq!(header.meta.branch_labels, ["x"]);
        assert_eq!(header.meta.depends_on, ["y"]);
    }

    #[test]
    fn unquoted_date_time_is_accepted() {
        let (header, _) =
            parse("-- revision = \"m\"\n-- create_date = 2026-11-23T10:15:02Z\n").unwrap();
        assert_eq!(
            header.meta.create_date.as_deref(),
            Some("2026-11-23T10:15:02Z")
        );
    }

    #[test]
    fn toml_comments_and_bare_dashes_are_allowed() {
        let text = "-- revision = \"m\" # the id\n--\n-- # a note\n-- message = \"x\"\n\nSELECT 1;";
        let (header, end) = parse(text).unwrap();
        assert_eq!(header.meta.message.as_deref(), Some("x"));
        assert_eq!(end, 4);
    }

    #[test]
    fn leading_blank_lines_and_bom_and_crlf_are_tolerated() {
        let (header, end) =
            parse("\u{feff}\r\n\r\n-- revision = \"ab\"\r\n-- message = \"m\"\r\n\r\n").unwrap();
        assert_eq!(header.meta.revision, "ab");
        assert_eq!(header.meta.message.as_deref(), Some("m"));
        assert_eq!(end, 4);
    }

    #[test]
    fn header_ends_at_first_non_comment_line() {
        let (_, end) = parse("-- revision = \"ab\"\nSELECT 1;\n-- message = 1\n").unwrap();
        assert_eq!(end, 1);
    }

    #[test]
    fn bad_toml_value_names_its_file_line() {
        let (line, message) =
            failure("-- revision = \"ab\"\n-- message = \"unterminated\n-- transactional = true\n");
        assert_eq!(line, 2);
        assert!(message.starts_with("invalid header: "), "{message}");
        assert_eq!(
            parse("-- revision = \"ab\"\n-- message = 'x\n")
                .unwrap_err()
                .to_string(),
            "v/abc.sql:2: invalid header: invalid literal string in `message = 'x`"
        );
    }

    #[test]
    fn bad_toml_after_leading_blank_lines_maps_to_the_file_line() {
        let (line, _) = failure("\n\n-- revision = \"ab\"\n-- message = nope\n");
        assert_eq!(line, 4);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, message) =
            failure("-- revision = \"ab\"\n-- message = \"m\"\n-- down_revisions = \"x\"\n");
        assert_eq!(line, 3);
        assert!(
            message.contains("unknown key `down_revisions`"),
            "{message}"
        );
        assert!(
            message.contains("`down_revision`"),
            "lists the valid keys: {message}"
        );
    }

    #[test]
    fn every_listed_key_is_accepted() {
        for key in HEADER_KEYS.iter().filter(|k| **k != "revision") {
            let value = match *key {
                "transactional" => "true",
                "lock_timeout" | "statement_timeout" => "\"1s\"",
                "retries" => "2",
                _ => "\"x\"",
            };
            parse(&format!("-- revision = \"ab\"\n-- {key} = {value}\n")).unwrap();
        }
    }

    #[test]
    fn prose_in_the_header_gets_a_hint() {
        let (line, message) = failure("-- revision = \"ab\"\n-- Adds the invoice table.\n");
        assert_eq!(line, 2);
        assert!(
            message.contains("put a blank line between the header"),
            "{message}"
        );
    }

    #[test]
    fn duplicate_key_is_reported() {
        let (line, message) = failure("-- revision = \"ab\"\n-- revision = \"cd\"\n");
        assert_eq!(line, 2);
        assert!(message.contains("duplicate key `revision`"), "{message}");
    }

    #[test]
    fn missing_revision_is_reported_at_the_header_start() {
        let (line, message) = failure("\n-- message = \"m\"\n\n-- migrate:upgrade\n");
        assert_eq!(line, 2);
        assert!(message.contains("no `revision` key"), "{message}");
        let (line, _) = failure("CREATE TABLE t (id INT);\n");
        assert_eq!(line, 1);
        let (line, _) = failure("");
        assert_eq!(line, 1);
    }

    #[test]
    fn wrong_types_are_reported_with_the_line() {
        let cases = [
            (
                "-- revision = 12\n",
                1,
                "`revision` must be a string, found integer 12",
            ),
            (
                "-- revision = \"a\"\n-- down_revision = 3\n",
                2,
                "`down_revision` must be a string or an array of strings, found integer 3",
            ),
            (
                "-- revision = \"a\"\n-- down_revision = [\"b\", 1]\n",
                2,
                "`down_revision` must be a string or an array of strings, found integer 1",
            ),
            (
                "-- revision = \"a\"\n-- message = \"m\"\n-- branch_labels = [true]\n",
                3,
                "`branch_labels` must be a string or an array of strings, found boolean true",
            ),
            (
                "-- revision = \"a\"\n-- depends_on = { x = 1 }\n",
                2,
                "`depends_on` must be a string or an array of strings, found a table",
            ),
            (
                "-- revision = \"a\"\n-- message = [\"m\"]\n",
                2,
                "`message` must be a string, found an array",
            ),
            (
                "-- revision = \"a\"\n-- create_date = 2026\n",
                2,
                "`create_date` must be a string, found integer 2026",
            ),
            (
                "-- revision = \"a\"\n-- transactional = \"no\"\n",
                2,
                "`transactional` must be `true` or `false`, found string \"no\"",
            ),
        ];
        for (text, want_line, want_message) in cases {
            let (line, message) = failure(text);
            assert_eq!(
                (line, message.as_str()),
                (want_line, want_message),
                "{text}"
            );
        }
    }

    #[test]
    fn multi_line_array_errors_point_at_the_value_start() {
        let (line, message) =
            failure("-- revision = \"a\"\n-- down_revision = [\n--   \"b\",\n--   2,\n-- ]\n");
        assert_eq!(line, 2);
        assert!(message.contains("found integer 2"), "{message}");
    }

    #[test]
    fn invalid_revision_ids_are_rejected() {
        let (line, message) = failure("-- message = \"m\"\n-- revision = \"ab-cd\"\n");
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "`revision`: Character(s) '-' not allowed in revision identifier 'ab-cd'"
        );
        let (_, message) = failure("-- revision = \"\"\n");
        assert!(message.contains("1 to 32 characters"), "{message}");
        let (line, message) = failure("-- revision = \"ab\"\n-- down_revision = \"x@y\"\n");
        assert_eq!(line, 2);
        assert!(
            message.starts_with("`down_revision`: Character(s) '@'"),
            "{message}"
        );
        let (_, message) = failure("-- revision = \"ab\"\n-- down_revision = [\"\"]\n");
        assert!(message.contains("1 to 32 characters"), "{message}");
    }

    #[test]
    fn self_references_are_rejected() {
        let (line, message) = failure("-- revision = \"ab\"\n-- down_revision = \"ab\"\n");
        assert_eq!(line, 2);
        assert!(
            message.contains("`down_revision` names the revision itself (`ab`)"),
            "{message}"
        );
        let (line, message) =
            failure("-- revision = \"ab\"\n-- message = \"m\"\n-- depends_on = [\"x\", \"ab\"]\n");
        assert_eq!(line, 3);
        assert!(
            message.contains("`depends_on` names the revision itself"),
            "{message}"
        );
    }

    #[test]
    fn repeated_references_and_empty_entries_are_rejected() {
        let (_, message) = failure("-- revision = \"m\"\n-- down_revision = [\"a\", \"a\"]\n");
        assert_eq!(message, "`down_revision` lists `a` twice");
        let (_, message) = failure("-- revision = \"m\"\n-- depends_on = [\"\"]\n");
        assert_eq!(message, "`depends_on` has an empty entry");
    }

    #[test]
    fn labels_load_as_alembic_loads_them() {
        for label in [
            "core-plugin",
            "a@b",
            "a:b",
            "a b",
            "x+1",
            "release-2",
            "v1.2",
        ] {
            let text = format!("-- revision = \"m\"\n-- branch_labels = [\"{label}\"]\n");
            assert_eq!(parse(&text).unwrap().0.meta.branch_labels, [label]);
        }
        let (line, message) = failure("-- revision = \"m\"\n-- branch_labels = [\"a\\tb\"]\n");
        assert_eq!(line, 2);
        assert!(message.contains("`a\tb`"), "{message}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_header_lines_never_panic(
            lines in proptest::collection::vec("(-- ?)?[ -~\\t\\u{feff}é]{0,40}", 0..8)
        ) {
            let text = lines.join("\n");
            if let Err(Error::Script { line, .. }) = parse(&text) {
                prop_assert!(line >= 1 && line <= lines.len().max(1));
            }
        }

        #[test]
        fn valid_ids_and_messages_round_trip(
            id in "[A-Za-z0-9_]{1,32}",
            message in "\\PC{0,30}",
        ) {
            let text = format!(
                "-- revision = \"{id}\"\n-- message = {}\n",
                toml::Value::String(message.clone())
            );
            let (header, _) = parse(&text).unwrap();
            prop_assert_eq!(header.meta.revision, id);
            prop_assert_eq!(header.meta.message, Some(message));
        }
    }
}
