//! Splitting a section's SQL into statements, per dialect: quoted strings and identifiers,
//! `--` and `/* */` comments, PostgreSQL dollar quotes, MySQL `DELIMITER`, SQLite trigger bodies.
//!
//! The rules follow each database's own command-line client, because that is how users test
//! their SQL: `psql` (nested block comments, `$tag$` quotes, `E''` strings, parentheses and
//! `BEGIN ATOMIC` bodies hold semicolons), the `mysql` client (`-- ` needs a blank after it, `#`
//! comments, backslash escapes, `DELIMITER`, `/*! */` executable comments are code) and
//! `sqlite3_complete` (`CREATE TRIGGER … BEGIN … END`). All syntax that matters is ASCII, so the
//! scanner walks bytes; multi-byte UTF-8 characters only ever appear inside words or quotes.

use crate::config::Dialect;
use crate::error::ScriptProblem;

/// One statement of a section, with its position for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The statement text, trimmed, without its terminator.
    pub sql: String,
    /// 1-based line in the section text where the statement starts.
    pub line: usize,
    /// 1-based column (in characters) of the statement's first character on that line.
    pub column: usize,
}

/// The SQL could not be split (e.g. an unterminated quote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitError {
    /// 1-based line in the section text where the offending construct starts.
    pub line: usize,
    pub problem: ScriptProblem,
}

/// Splits `sql` into statements for `dialect`. Statements that are empty or only comments are dropped.
pub(crate) fn split_statements(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    Splitter::new(sql, dialect).run()
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    dialect: Dialect,
    pos: usize,
    /// Byte offset where each line starts, to turn offsets into line numbers.
    line_starts: Vec<usize>,
    /// The statement terminator; only MySQL's `DELIMITER` changes it.
    delimiter: String,
    /// Start offset of the statement being read, once its first token was seen.
    pending: Option<usize>,
    block: BlockDepth,
    statements: Vec<Statement>,
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: Dialect) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Splitter {
            src,
            bytes: src.as_bytes(),
            dialect,
            pos: 0,
            line_starts,
            delimiter: ";".to_string(),
            pending: None,
            block: BlockDepth::default(),
            statements: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Vec<Statement>, SplitError> {
        while self.pos < self.bytes.len() {
            if self.dialect == Dialect::Mysql && self.at_delimiter_command() {
                self.finish_statement(self.pos);
                self.read_delimiter_command()?;
                continue;
            }
            if self.pending.is_none() {
                self.between_statements()?;
            } else {
                self.inside_statement()?;
            }
        }
        self.finish_statement(self.bytes.len());
        Ok(self.statements)
    }

    /// Skips blanks, comments and empty statements; starts a statement at its first token.
    fn between_statements(&mut self) -> Result<(), SplitError> {
        let b = self.bytes[self.pos];
        if b.is_ascii_whitespace() {
            self.pos += 1;
        } else if self.delimiter_here() {
            self.pos += self.delimiter.len();
        } else if !self.is_executable_comment() && self.skip_comment()? {
            // A leading comment stays out of the statement text.
        } else {
            self.pending = Some(self.pos);
            self.block = BlockDepth::default();
        }
        Ok(())
    }

    fn inside_statement(&mut self) -> Result<(), SplitError> {
        if self.delimiter_here() && self.block.is_closed() {
            self.finish_statement(self.pos);
            self.pos += self.delimiter.len();
            return Ok(());
        }
        if self.skip_comment()? {
            return Ok(());
        }
        let b = self.bytes[self.pos];
        match (b, self.dialect) {
            (b'\'', _) => self.skip_quoted(b'\'', self.dialect == Dialect::Mysql)?,
            (b'"', _) => self.skip_quoted(b'"', self.dialect == Dialect::Mysql)?,
            (b'`', Dialect::Mysql | Dialect::Sqlite) => self.skip_quoted(b'`', false)?,
            (b'[', Dialect::Sqlite) => self.skip_bracketed()?,
            (b'$', Dialect::Postgresql) => self.skip_dollar_quote_or_sign()?,
            (b'(', Dialect::Postgresql) => {
                self.block.parens += 1;
                self.pos += 1;
            }
            (b')', Dialect::Postgresql) => {
                self.block.parens = self.block.parens.saturating_sub(1);
                self.pos += 1;
            }
            _ if is_word_byte(b) => self.read_word()?,
            _ => self.pos += 1,
        }
        Ok(())
    }

    /// Ends the pending statement at `end` (exclusive), dropping it if nothing is left.
    fn finish_statement(&mut self, end: usize) {
        if let Some(start) = self.pending.take() {
            let sql = self.src[start..end].trim_end();
            if !sql.is_empty() {
                let line = self.line_of(start);
                let line_start = self.line_starts[line - 1];
                self.statements.push(Statement {
                    sql: sql.to_string(),
                    line,
                    column: self.src[line_start..start].chars().count() + 1,
                });
            }
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn error(&self, start: usize, problem: ScriptProblem) -> SplitError {
        SplitError {
            line: self.line_of(start),
            problem,
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    fn delimiter_here(&self) -> bool {
        self.rest().starts_with(self.delimiter.as_bytes())
    }

    /// MySQL keeps `/*! … */` (version-conditional code) and `/*+ … */` (optimizer hints): they
    /// are SQL, so one at the start of a statement begins the statement.
    fn is_executable_comment(&self) -> bool {
        self.dialect == Dialect::Mysql
            && (self.rest().starts_with(b"/*!") || self.rest().starts_with(b"/*+"))
    }

    /// Skips a comment starting here, if any; `Ok(false)` when there is none.
    fn skip_comment(&mut self) -> Result<bool, SplitError> {
        let rest = self.rest();
        let line_comment = match self.dialect {
            // MySQL: `--` starts a comment only when a blank or control character follows.
            Dialect::Mysql => {
                rest.starts_with(b"#")
                    || (rest.starts_with(b"--")
                        && !rest.get(2).is_some_and(|&c| c > b' ' && c != 0x7f))
            }
            Dialect::Postgresql | Dialect::Sqlite => rest.starts_with(b"--"),
        };
        if line_comment {
            self.pos = match memchr(b'\n', rest) {
                Some(i) => self.pos + i + 1,
                None => self.bytes.len(),
            };
            return Ok(true);
        }
        if !rest.starts_with(b"/*") {
            return Ok(false);
        }
        let start = self.pos;
        let nests = self.dialect == Dialect::Postgresql;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            let rest = self.rest();
            if rest.starts_with(b"/*") && (depth == 0 || nests) {
                depth += 1;
                self.pos += 2;
            } else if rest.starts_with(b"*/") {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    return Ok(true);
                }
            } else {
                self.pos += 1;
            }
        }
        Err(self.error(start, ScriptProblem::UnterminatedBlockComment))
    }

    /// Skips a quoted string or identifier opened by `quote` here; a doubled quote is an escaped
    /// quote, and with `backslash` so is `\` followed by any character.
    fn skip_quoted(&mut self, quote: u8, backslash: bool) -> Result<(), SplitError> {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if backslash && b == b'\\' {
                self.pos += 2;
            } else if b == quote {
                if self.bytes.get(self.pos + 1) == Some(&quote) {
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    return Ok(());
                }
            } else {
                self.pos += 1;
            }
        }
        let what = match quote {
            b'\'' => "string",
            b'"' if self.dialect == Dialect::Mysql => "string",
            _ => "quoted identifier",
        };
        let quote = quote as char;
        Err(self.error(start, ScriptProblem::UnterminatedQuote { what, quote }))
    }

    /// SQLite accepts `[name]` identifiers (for MS Access / SQL Server compatibility).
    fn skip_bracketed(&mut self) -> Result<(), SplitError> {
        match memchr(b']', self.rest()) {
            Some(i) => {
                self.pos += i + 1;
                Ok(())
            }
            None => Err(self.error(self.pos, ScriptProblem::UnterminatedBracket)),
        }
    }

    /// `$tag$ … $tag$` (tag empty or an identifier); `$1` parameters and a `$` inside a word are
    /// not quotes (a `$` directly after a word character is handled by `read_word`).
    fn skip_dollar_quote_or_sign(&mut self) -> Result<(), SplitError> {
        let rest = self.rest();
        let tag_len = rest[1..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80));
        let opener_len = match tag_len {
            Some(n) if rest[1 + n] == b'$' && !rest.get(1).is_some_and(u8::is_ascii_digit) => n + 2,
            _ => {
                self.pos += 1;
                return Ok(());
            }
        };
        let opener = &rest[..opener_len];
        let body = &rest[opener_len..];
        match find(body, opener) {
            Some(i) => {
                self.pos += opener_len + i + opener_len;
                Ok(())
            }
            None => {
                let tag = String::from_utf8_lossy(opener).into_owned();
                Err(self.error(self.pos, ScriptProblem::UnterminatedDollarQuote { tag }))
            }
        }
    }

    /// Reads a word (keyword, identifier or number) and tracks the blocks it opens or closes.
    fn read_word(&mut self) -> Result<(), SplitError> {
        let start = self.pos;
        // With a custom MySQL delimiter such as `$$`, `END$$` is a word and a delimiter.
        let custom_delimiter = self.delimiter != ";";
        while self.pos < self.bytes.len()
            && is_word_byte(self.bytes[self.pos])
            && !(custom_delimiter && self.delimiter_here())
        {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        // PostgreSQL `E'…'` strings take backslash escapes.
        if self.dialect == Dialect::Postgresql
            && word.eq_ignore_ascii_case("e")
            && self.bytes.get(self.pos) == Some(&b'\'')
        {
            return self.skip_quoted(b'\'', true);
        }
        self.block.word(word, self.dialect);
        Ok(())
    }

    /// A `DELIMITER x` line of the mysql client: only at the start of a line.
    fn at_delimiter_command(&self) -> bool {
        const KEYWORD: &[u8] = b"delimiter";
        let rest = self.rest();
        let line_start = self.line_starts[self.line_of(self.pos) - 1];
        rest.len() > KEYWORD.len()
            && rest[..KEYWORD.len()].eq_ignore_ascii_case(KEYWORD)
            && matches!(rest[KEYWORD.len()], b' ' | b'\t')
            && self.bytes[line_start..self.pos]
                .iter()
                .all(|&b| b == b' ' || b == b'\t')
    }

    /// Reads `DELIMITER x` up to the end of its line and makes `x` the terminator.
    fn read_delimiter_command(&mut self) -> Result<(), SplitError> {
        let start = self.pos;
        let line_end = memchr(b'\n', self.rest()).map_or(self.bytes.len(), |i| self.pos + i);
        let argument = self.src[start + "delimiter".len()..line_end].trim();
        let delimiter = argument.split_whitespace().next().unwrap_or_default();
        if delimiter.is_empty() || delimiter.contains('\\') {
            return Err(self.error(start, ScriptProblem::DelimiterWithoutString));
        }
        self.delimiter = delimiter.to_string();
        self.pos = line_end;
        Ok(())
    }
}

/// Nesting that makes a `;` part of the statement instead of its end: PostgreSQL parentheses
/// (rules hold `(…; …)`), SQLite trigger bodies, PostgreSQL `BEGIN ATOMIC` function bodies and
/// MySQL compound statements written without `DELIMITER`, with `CASE … END` inside them.
#[derive(Default)]
struct BlockDepth {
    /// Upper-cased first words of the statement (enough to recognise `CREATE … TRIGGER`).
    leading: Vec<String>,
    /// Whether `BEGIN` opens a body in this statement.
    has_body: bool,
    depth: usize,
    parens: usize,
    /// The previous word was an `END` that closed a block.
    after_end: bool,
}

/// How many leading words can decide whether a statement has a body: MySQL allows
/// `CREATE OR REPLACE DEFINER = user@host PROCEDURE`.
const LEADING_WORDS: usize = 8;

impl BlockDepth {
    fn is_closed(&self) -> bool {
        self.depth == 0 && self.parens == 0
    }

    fn word(&mut self, word: &str, dialect: Dialect) {
        let upper = word.to_ascii_uppercase();
        if self.leading.len() < LEADING_WORDS {
            self.leading.push(upper.clone());
            self.has_body = self.starts_body_statement(dialect);
        }
        if !self.has_body {
            return;
        }
        let after_end = std::mem::take(&mut self.after_end);
        match upper.as_str() {
            "BEGIN" => self.depth += 1,
            "CASE" if after_end => {}
            "CASE" if self.depth > 0 || dialect != Dialect::Postgresql => self.depth += 1,
            // MySQL's `END IF`, `END LOOP`, ... close statements this tracker does not count
            // (`IF` is also a function); undo the `END` just counted.
            "IF" | "LOOP" | "WHILE" | "REPEAT" if after_end => self.depth += 1,
            "END" if self.depth > 0 => {
                self.depth -= 1;
                self.after_end = true;
            }
            _ => {}
        }
    }

    /// SQLite: `CREATE [TEMP|TEMPORARY] TRIGGER`; PostgreSQL: `CREATE [OR REPLACE]
    /// FUNCTION|PROCEDURE` (as psql does; plpgsql bodies are strings, so only `BEGIN ATOMIC`
    /// bodies are seen here); MySQL: `CREATE … PROCEDURE|FUNCTION|TRIGGER|EVENT`, whose
    /// `BEGIN … END` body the mysql client would need a `DELIMITER` for.
    fn starts_body_statement(&self, dialect: Dialect) -> bool {
        let words: Vec<&str> = self.leading.iter().map(String::as_str).collect();
        match dialect {
            Dialect::Sqlite => matches!(
                words.as_slice(),
                ["CREATE", "TRIGGER", ..] | ["CREATE", "TEMP" | "TEMPORARY", "TRIGGER", ..]
            ),
            Dialect::Postgresql => matches!(
                words.as_slice(),
                ["CREATE", "FUNCTION" | "PROCEDURE", ..]
                    | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
            ),
            Dialect::Mysql => {
                words.first() == Some(&"CREATE")
                    && words
                        .iter()
                        .any(|w| matches!(*w, "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT"))
            }
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    fn sqls(sql: &str, dialect: Dialect) -> Vec<String> {
        split_statements(sql, dialect)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    #[test]
    fn splits_on_semicolons_and_drops_empty_and_comment_only_statements() {
        let sql = "-- lead\nCREATE TABLE a (x INT);\n;\n  /* only */ ;\nINSERT INTO a VALUES (1)\n-- tail\n";
        let got = split_statements(sql, Dialect::Sqlite).unwrap();
        assert_eq!(
            got,
            vec![
                Statement {
                    sql: "CREATE TABLE a (x INT)".into(),
                    line: 2,
                    column: 1
                },
                Statement {
                    sql: "INSERT INTO a VALUES (1)\n-- tail".into(),
                    line: 5,
                    column: 1
                },
            ]
        );
    }

    #[test]
    fn a_statement_knows_its_column_in_characters() {
        let got = split_statements("SELECT 1; /* é */ SELECT 2;", Dialect::Sqlite).unwrap();
        assert_eq!((got[1].line, got[1].column), (1, 19));
    }

    #[test]
    fn quotes_hide_semicolons_in_every_dialect() {
        for dialect in [Dialect::Sqlite, Dialect::Postgresql, Dialect::Mysql] {
            assert_eq!(
                sqls("SELECT 'a;''b', \"c;\"\"d\"; SELECT 2", dialect),
                vec!["SELECT 'a;''b', \"c;\"\"d\"", "SELECT 2"],
                "{dialect}"
            );
        }
    }

    #[test]
    fn backslash_escapes_only_where_the_dialect_has_them() {
        let cases = [
            (
                Dialect::Mysql,
                r"SELECT 'a\';b'; SELECT 2",
                r"SELECT 'a\';b'",
            ),
            (
                Dialect::Postgresql,
                r"SELECT 'a\'; SELECT 2",
                r"SELECT 'a\'",
            ),
            (
                Dialect::Postgresql,
                r"SELECT E'a\';b'; SELECT 2",
                r"SELECT E'a\';b'",
            ),
            // `e` at the end of an identifier is not a string prefix.
            (
                Dialect::Postgresql,
                r"SELECT name'a\'; SELECT 2",
                r"SELECT name'a\'",
            ),
        ];
        for (dialect, sql, first) in cases {
            assert_eq!(sqls(sql, dialect), vec![first, "SELECT 2"], "{sql}");
        }
    }

    #[test]
    fn mysql_comment_rules() {
        // `--` needs a blank after it; `5--1` is arithmetic.
        assert_eq!(
            sqls("SELECT 5--1;\n# note ;\nSELECT 1 -- x;\n;", Dialect::Mysql),
            vec!["SELECT 5--1", "SELECT 1 -- x;"]
        );
        assert_eq!(
            sqls(
                "/*!40101 SET NAMES utf8 */;\n/* plain */ SELECT 1",
                Dialect::Mysql
            ),
            vec!["/*!40101 SET NAMES utf8 */", "SELECT 1"]
        );
    }

    #[test]
    fn postgres_block_comments_nest_others_do_not() {
        assert_eq!(
            sqls(
                "/* a /* b; */ c; */ SELECT 1; SELECT 2",
                Dialect::Postgresql
            ),
            vec!["SELECT 1", "SELECT 2"]
        );
        assert_eq!(
            sqls("/* a /* b */ SELECT 1; SELECT 2", Dialect::Sqlite),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn mysql_delimiter_blocks() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\ndelimiter $$\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END$$\nDELIMITER ;\nSELECT 1;";
        let got = split_statements(sql, Dialect::Mysql).unwrap();
        let lines: Vec<(usize, &str)> = got.iter().map(|s| (s.line, s.sql.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (2, "CREATE PROCEDURE p() BEGIN SELECT 1; END"),
                (
                    4,
                    "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END"
                ),
                (6, "SELECT 1"),
            ]
        );
    }

    #[test]
    fn delimiter_line_ends_a_statement_missing_its_terminator() {
        assert_eq!(
            sqls("SELECT 1\nDELIMITER //\nSELECT 2 //", Dialect::Mysql),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn delimiter_is_only_a_command_in_mysql() {
        assert_eq!(
            sqls("DELIMITER //\nSELECT 1;", Dialect::Postgresql),
            vec!["DELIMITER //\nSELECT 1"]
        );
    }

    #[test]
    fn unterminated_constructs_name_their_starting_line() {
        let cases = [
            ("SELECT 1;\nSELECT 'abc;\n\n", Dialect::Sqlite, 2, "string"),
            ("SELECT 1;\n\n/* open", Dialect::Mysql, 3, "block comment"),
            ("SELECT\n$x$ body;", Dialect::Postgresql, 2, "`$x$`"),
            (
                "\n\nSELECT \"abc",
                Dialect::Postgresql,
                3,
                "quoted identifier",
            ),
            ("SELECT `abc", Dialect::Mysql, 1, "quoted identifier"),
            ("\nDELIMITER  \nSELECT 1", Dialect::Mysql, 2, "DELIMITER"),
        ];
        for (sql, dialect, line, needle) in cases {
            let err = split_statements(sql, dialect).unwrap_err();
            assert_eq!(err.line, line, "{sql:?}");
            let message = err.problem.to_string();
            assert!(message.contains(needle), "{sql:?}: {message}");
        }
    }

    #[test]
    fn line_numbers_skip_leading_comments_and_blank_lines() {
        let got = split_statements(
            "\n-- a\n/* b\n c */\n\n  SELECT 1;\n\nSELECT 2",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(got.iter().map(|s| s.line).collect::<Vec<_>>(), vec![6, 8]);
    }

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/split")
    }

    /// The readable golden form: each statement preceded by `-- statement N (line L)`.
    fn render_golden(result: &Result<Vec<Statement>, SplitError>) -> String {
        match result {
            Ok(statements) => statements
                .iter()
                .enumerate()
                .map(|(i, s)| format!("-- statement {} (line {})\n{}\n", i + 1, s.line, s.sql))
                .collect(),
            Err(e) => format!("-- error (line {}): {}\n", e.line, e.problem),
        }
    }

    /// Golden files `tests/fixtures/split/<name>.<dialect>.sql` → `.golden`. A mismatch fails;
    /// `UPDATE_GOLDEN=1` rewrites the golden files instead.
    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "tests read their own environment"
    )]
    fn golden_files() {
        let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 6, "golden inputs missing");
        let mut failures = Vec::new();
        for input in &inputs {
            let stem = input.file_stem().unwrap().to_str().unwrap();
            let dialect_name = stem.rsplit('.').next().unwrap();
            let dialect = Dialect::from_name(dialect_name)
                .unwrap_or_else(|| panic!("{}: unknown dialect", input.display()));
            let sql = std::fs::read_to_string(input).unwrap();
            let actual = render_golden(&split_statements(&sql, dialect));
            let golden = input.with_extension("golden");
            if update {
                std::fs::write(&golden, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&golden).unwrap_or_default();
            if expected != actual {
                failures.push(format!(
                    "{}:\n--- expected\n{expected}--- actual\n{actual}",
                    golden.display()
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "golden mismatch (rerun with UPDATE_GOLDEN=1 to accept):\n{}",
            failures.join("\n")
        );
    }

    fn sql_like() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "'",
            "''",
            "\"",
            "`",
            "[",
            "]",
            "$$",
            "$a$",
            "$1",
            "E'",
            "\\",
            "--",
            "-- ",
            "#",
            "/*",
            "*/",
            "/*!",
            ";",
            "\n",
            " ",
            "(",
            ")",
            "BEGIN",
            "END",
            "CASE",
            "ATOMIC",
            "CREATE ",
            "TRIGGER ",
            "FUNCTION ",
            "DELIMITER //\n",
            "DELIMITER $$\n",
            "DELIMITER ;\n",
            "//",
            "x",
            "é",
            "SELECT 1",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn random_input_never_panics(sql in sql_like(), raw in "\\PC{0,60}") {
            for dialect in [Dialect::Sqlite, Dialect::Postgresql, Dialect::Mysql] {
                for text in [&sql, &raw] {
                    if let Ok(statements) = split_statements(text, dialect) {
                        let lines = text.lines().count().max(1);
                        for s in statements {
                            prop_assert!(text.contains(&s.sql));
                            prop_assert!(!s.sql.is_empty());
                            prop_assert!(s.line >= 1 && s.line <= lines);
                        }
                    }
                }
            }
        }
    }
}
