//! SQL for the version table and the audit table, per dialect (shared by live and offline runs).
//!
//! The version-table texts are Alembic's, character for character (docs/alembic-compatibility.md):
//! values are inlined literals, never bind parameters, so an offline script shows exactly what
//! a live run executes. The one deliberate difference: no `RETURNING` suffix on the INSERT.
//! SQLAlchemy 2 adds it as an implicit-returning artefact (SQLAlchemy 1.4 does not for SQLite);
//! it returns nothing anyone reads, SQLite before 3.35 rejects it, and the `sqlite3` shell would
//! print the returned row when a DBA runs the script.

use crate::config::Dialect;
pub(crate) use crate::db::audit_details::AuditDetails;
use crate::db::{Connection, DbError, Value};
use crate::error::{Error, Result};
use crate::report::{Outcome, StepKind};

/// Where the version table lives: its name, PostgreSQL schema and the dialect that spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    pub dialect: Dialect,
    pub schema: Option<String>,
    pub name: String,
    /// The audit table beside it, in the same schema; `None` when the audit trail is off.
    audit: Option<String>,
}

/// Words that must be quoted as identifiers in every supported dialect (the common core of the
/// SQL standard's reserved words that a table name plausibly collides with).
const RESERVED: &[&str] = &[
    "all",
    "alter",
    "and",
    "as",
    "by",
    "check",
    "column",
    "constraint",
    "create",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "from",
    "group",
    "having",
    "in",
    "index",
    "insert",
    "into",
    "is",
    "join",
    "key",
    "like",
    "limit",
    "not",
    "null",
    "on",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "set",
    "table",
    "to",
    "union",
    "unique",
    "update",
    "user",
    "values",
    "where",
    "with",
];

/// Quotes an identifier when it needs it, as SQLAlchemy does: upper-case letters, characters
/// outside `[a-z0-9_]`, a leading digit, or a reserved word.
pub(crate) fn quote_ident(dialect: Dialect, name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.is_empty()
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        quoted_ident(dialect, name)
    }
}

/// An identifier, always quoted (`"x"`, or `` `x` `` on MySQL).
pub(crate) fn quoted_ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        Dialect::Sqlite | Dialect::Postgresql => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A string literal. MySQL treats backslash as an escape inside strings by default, so it is
/// doubled there too.
pub(crate) fn quote_literal(dialect: Dialect, value: &str) -> String {
    let escaped = value.replace('\'', "''");
    match dialect {
        Dialect::Mysql => format!("'{}'", escaped.replace('\\', "\\\\")),
        Dialect::Sqlite | Dialect::Postgresql => format!("'{escaped}'"),
    }
}

impl VersionTable {
    pub fn new(dialect: Dialect, schema: Option<String>, name: impl Into<String>) -> Self {
        // Only PostgreSQL has schemas in Alembic's sense; elsewhere the option is ignored.
        let schema = schema.filter(|_| dialect == Dialect::Postgresql);
        let name = name.into();
        VersionTable {
            dialect,
            schema,
            audit: Some(format!("{name}_log")),
            name,
        }
    }

    /// Fails when the engine would not keep a name whole: PostgreSQL silently cuts identifiers
    /// to 63 bytes (so a 63-byte version table and its cut audit table `<name>_log` would be
    /// the same table, "already exists"), MySQL refuses names over 64 characters; SQLite has
    /// no limit.
    pub(crate) fn check_name_lengths(&self) -> crate::error::Result<()> {
        let (engine, limit, unit, length): (_, _, _, fn(&str) -> usize) = match self.dialect {
            Dialect::Sqlite => return Ok(()),
            Dialect::Postgresql => ("PostgreSQL", 63, "bytes", str::len),
            Dialect::Mysql => ("MySQL", 64, "characters", |name| name.chars().count()),
        };
        let audit = self.audit();
        let names = [
            self.schema.as_ref(),
            Some(&self.name),
            audit.as_ref().map(|a| &a.name),
        ];
        let too_long = names
            .into_iter()
            .flatten()
            .map(|name| (name, length(name)))
            .find(|(_, n)| *n > limit);
        match too_long {
            None => Ok(()),
            Some((name, name_length)) => Err(crate::error::Error::IdentifierTooLong {
                name: name.clone(),
                length: name_length,
                engine,
                limit,
                unit,
            }),
        }
    }

    /// Names the audit table (`None`: no audit trail) instead of `<version_table>_log`.
    pub fn with_audit_table(self, audit: Option<String>) -> Self {
        VersionTable { audit, ..self }
    }

    /// The audit table beside this version table, `<version_table>_log` unless configured;
    /// `None` when the audit trail is off.
    pub fn audit(&self) -> Option<VersionTable> {
        let name = self.audit.clone()?;
        Some(VersionTable {
            name,
            audit: None,
            ..self.clone()
        })
    }

    fn ident(&self, name: &str) -> String {
        quote_ident(self.dialect, name)
    }

    fn literal(&self, value: &str) -> String {
        quote_literal(self.dialect, value)
    }

    /// `schema.table`, quoted where needed.
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", self.ident(schema), self.ident(&self.name)),
            None => self.ident(&self.name),
        }
    }

    /// The `CREATE TABLE` of docs/alembic-compatibility.md#the-version-table (mind `NOT NULL, `).
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
            self.qualified(),
            self.ident(&format!("{}_pkc", self.name))
        )
    }

    pub fn select_sql(&self) -> String {
        format!("SELECT version_num FROM {}", self.qualified())
    }

    pub fn insert_sql(&self, revision: &str) -> String {
        format!(
            "INSERT INTO {} (version_num) VALUES ({})",
            self.qualified(),
            self.literal(revision)
        )
    }

    /// WHERE clauses name the column as Alembic does: `alembic_version.version_num`. The table
    /// is quoted once per statement: an offline script of a long history holds thousands.
    pub fn update_sql(&self, from: &str, to: &str) -> String {
        let table = self.qualified();
        format!(
            "UPDATE {table} SET version_num={} WHERE {table}.version_num = {}",
            self.literal(to),
            self.literal(from)
        )
    }

    pub fn delete_sql(&self, revision: &str) -> String {
        let table = self.qualified();
        format!(
            "DELETE FROM {table} WHERE {table}.version_num = {}",
            self.literal(revision)
        )
    }

    /// `stamp --purge`.
    pub fn delete_all_sql(&self) -> String {
        format!("DELETE FROM {}", self.qualified())
    }

    /// The audit table's DDL (call on the audit table, see [`VersionTable::audit`]).
    pub fn create_audit_sql(&self) -> String {
        let id = match self.dialect {
            // Not AUTOINCREMENT: audit rows are never deleted, so ids are never reused anyway,
            // and AUTOINCREMENT costs a `sqlite_sequence` write on every step.
            Dialect::Sqlite => "id INTEGER PRIMARY KEY",
            Dialect::Postgresql => "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            Dialect::Mysql => "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
        };
        format!(
            "CREATE TABLE {} (\n    {id}, \n    revision VARCHAR(255) NOT NULL, \n    direction VARCHAR(16) NOT NULL, \n    heads_before TEXT NOT NULL, \n    heads_after TEXT NOT NULL, \n    checksum VARCHAR(80), \n    started_at VARCHAR(40) NOT NULL, \n    duration_ms BIGINT NOT NULL, \n    outcome VARCHAR(16) NOT NULL, \n    error TEXT, \n    applied_by VARCHAR(255), \n    details TEXT\n)",
            self.qualified()
        )
    }

    /// One audit row (call on the audit table). The `details` column is named only when there
    /// are details, so a row without any also goes into an audit table of before the column.
    pub fn insert_audit_sql(&self, entry: &AuditEntry) -> String {
        let opt = |v: &Option<String>| match v {
            Some(v) => self.literal(v),
            None => "NULL".to_string(),
        };
        let (details_column, details) = match entry.details.to_json() {
            Some(json) => (", details", format!(", {}", self.literal(&json))),
            None => ("", String::new()),
        };
        format!(
            "INSERT INTO {} (revision, direction, heads_before, heads_after, checksum, started_at, duration_ms, outcome, error, applied_by{details_column}) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}{details})",
            self.qualified(),
            self.literal(&entry.revision),
            self.literal(entry.direction.name()),
            self.literal(&heads_text(&entry.heads_before)),
            self.literal(&heads_text(&entry.heads_after)),
            opt(&entry.checksum),
            self.literal(&entry.started_at),
            entry.duration_ms,
            self.literal(entry.outcome.name()),
            opt(&entry.error),
            opt(&entry.applied_by),
        )
    }

    /// Completes a `started` row (written first where the revision cannot be rolled back).
    /// Details are set only when there are some: closing a row keeps what it recorded.
    pub fn finish_audit_sql(&self, entry: &AuditEntry) -> String {
        let error = match &entry.error {
            Some(e) => self.literal(e),
            None => "NULL".to_string(),
        };
        let details = match entry.details.to_json() {
            Some(json) => format!(", details = {}", self.literal(&json)),
            None => String::new(),
        };
        format!(
            "UPDATE {} SET outcome = {}, duration_ms = {}, heads_after = {}, error = {}{details} WHERE revision = {} AND started_at = {} AND outcome = 'started'",
            self.qualified(),
            self.literal(entry.outcome.name()),
            entry.duration_ms,
            self.literal(&heads_text(&entry.heads_after)),
            error,
            self.literal(&entry.revision),
            self.literal(&entry.started_at),
        )
    }

    /// A query whose one value is above 0 when the audit table has its `details` column
    /// (audit tables of before it lack it; see [`ensure_audit_details`]).
    fn details_column_sql(&self) -> String {
        match self.dialect {
            // language=SQLite
            Dialect::Sqlite => format!(
                "SELECT count(*) FROM pragma_table_info({}) WHERE name = 'details'",
                self.literal(&self.name)
            ),
            // language=PostgreSQL
            // `to_regclass` follows the search path as the unqualified statements do.
            Dialect::Postgresql => format!(
                "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass({}) \
                 AND attname = 'details' AND NOT attisdropped",
                self.literal(&self.quoted_qualified())
            ),
            // language=MySQL
            Dialect::Mysql => format!(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                 AND table_name = {} AND column_name = 'details'",
                self.literal(&self.name)
            ),
        }
    }

    /// Adds the `details` column to an audit table of before it.
    fn add_details_column_sql(&self) -> String {
        format!("ALTER TABLE {} ADD COLUMN details TEXT", self.qualified())
    }

    /// `schema.table` with both parts always quoted (for `to_regclass`).
    fn quoted_qualified(&self) -> String {
        let name = quoted_ident(self.dialect, &self.name);
        match &self.schema {
            Some(schema) => format!("{}.{name}", quoted_ident(self.dialect, schema)),
            None => name,
        }
    }

    /// The audit rows that meet `condition` (SQL over the audit columns), oldest first; an
    /// audit table without the `details` column (`has_details` false) reads NULL details.
    fn select_audit_sql_where(&self, condition: &str, has_details: bool) -> String {
        let details = if has_details { "details" } else { "NULL" };
        format!(
            "SELECT id, revision, direction, heads_before, heads_after, checksum, started_at, \
             duration_ms, outcome, error, applied_by, {details} FROM {} WHERE {condition} \
             ORDER BY id",
            self.qualified()
        )
    }

    /// The name of the migration lock that runs on this version table take.
    pub(crate) fn lock_key(&self) -> String {
        format!("retort:{}", self.display_name())
    }

    /// A label for messages: `table` or `schema.table`, unquoted.
    pub fn display_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Version rows in the audit table: a JSON array, so ids with any allowed characters survive.
fn heads_text(heads: &[String]) -> String {
    serde_json::to_string(heads).unwrap_or_else(|_| "[]".to_string())
}

/// What an audit row records: a step of a run, or the acceptance of an applied revision's
/// changed file (`retort accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upgrade,
    Downgrade,
    Stamp,
    /// The row's checksum is the file's new one, to be taken as the applied one from then on;
    /// its `error` column holds the previous checksum and the reason.
    Accept,
}

impl Direction {
    /// The stored and serialised name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp",
            Direction::Accept => "accept",
        }
    }

    /// The direction a stored name stands for.
    pub fn from_name(name: &str) -> Option<Direction> {
        [
            Direction::Upgrade,
            Direction::Downgrade,
            Direction::Stamp,
            Direction::Accept,
        ]
        .into_iter()
        .find(|direction| direction.name() == name)
    }
}

impl From<StepKind> for Direction {
    fn from(kind: StepKind) -> Direction {
        match kind {
            StepKind::Upgrade => Direction::Upgrade,
            StepKind::Downgrade => Direction::Downgrade,
            StepKind::Stamp => Direction::Stamp,
        }
    }
}

/// One row of the audit table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Database id of the row (0 until read back).
    pub id: i64,
    /// The revision that ran; for a stamp the revisions stamped, comma-separated (`base` if none).
    pub revision: String,
    pub direction: Direction,
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    /// `sha256:<hex>` of the SQL that ran (see `exec::checksum`); none for a stamp.
    pub checksum: Option<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: i64,
    /// `started` stays when a run died before it could record an outcome.
    pub outcome: Outcome,
    /// Why a step failed; for an `accept`, the previous checksum and the reason.
    pub error: Option<String>,
    pub applied_by: Option<String>,
    /// The `details` column (see [`AuditDetails`]); empty when it is NULL.
    #[serde(skip_serializing_if = "AuditDetails::is_empty")]
    pub details: AuditDetails,
}

/// The version rows, in table order. A missing table means base (empty); nothing is created.
/// A row that is NULL or not text means the table was edited by hand and is reported as such.
pub fn read_heads(conn: &mut dyn Connection, table: &VersionTable) -> Result<Vec<String>> {
    Ok(read_heads_if_table(conn, table)?.unwrap_or_default())
}

/// [`read_heads`], `None` when there is no version table.
pub(crate) fn read_heads_if_table(
    conn: &mut dyn Connection,
    table: &VersionTable,
) -> Result<Option<Vec<String>>> {
    let exists = conn
        .table_exists(table.schema.as_deref(), &table.name)
        .map_err(|cause| unreadable(table, cause))?;
    if !exists {
        return Ok(None);
    }
    read_existing_heads(conn, table).map(Some)
}

/// [`read_heads`] for a table known to exist (saves the existence check on every step).
pub(crate) fn read_existing_heads(
    conn: &mut dyn Connection,
    table: &VersionTable,
) -> Result<Vec<String>> {
    let rows = conn
        .query_text(&table.select_sql())
        .map_err(|cause| unreadable(table, cause))?;
    rows.into_iter()
        .map(|row| match row.first() {
            Some(Value::Text(id)) if !id.trim().is_empty() => Ok(id.clone()),
            other => Err(Error::UnknownVersionRow {
                row: format!("{:?}", other.unwrap_or(&Value::Null)),
                table: table.display_name(),
            }),
        })
        .collect()
}

fn unreadable(table: &VersionTable, cause: DbError) -> Error {
    Error::VersionTableUnreadable {
        table: table.display_name(),
        cause,
    }
}

/// Every audit row, oldest first; a missing audit table means no rows.
pub fn read_audit(conn: &mut dyn Connection, audit: &VersionTable) -> Result<Vec<AuditEntry>> {
    read_audit_where(conn, audit, "1 = 1")
}

/// Whether the existing audit table has its `details` column.
fn has_details_column(conn: &mut dyn Connection, audit: &VersionTable) -> Result<bool, DbError> {
    let rows = conn.query(&audit.details_column_sql())?;
    Ok(match rows.first().and_then(|row| row.first()) {
        Some(Value::Int(n)) => *n > 0,
        Some(other) => other.as_text().and_then(|t| t.parse::<i64>().ok()) > Some(0),
        None => false,
    })
}

/// Adds the `details` column to the existing audit table `audit` when it was created before
/// the column existed. Call it under the migration lock, before the first write, so two
/// runners never both add it. Returns the `ALTER TABLE` it ran, if any (on MySQL it commits
/// the open transaction).
pub(crate) fn ensure_audit_details(
    conn: &mut dyn Connection,
    audit: &VersionTable,
) -> Result<Option<String>, DbError> {
    if has_details_column(conn, audit)? {
        return Ok(None);
    }
    let alter = audit.add_details_column_sql();
    conn.execute(&alter)?;
    Ok(Some(alter))
}

/// The audit rows still `started`, oldest first: steps of runs that died before recording an
/// outcome. Reads those rows only, however long the audit trail.
pub(crate) fn read_started_audit(
    conn: &mut dyn Connection,
    audit: &VersionTable,
) -> Result<Vec<AuditEntry>> {
    let condition = format!("outcome = {}", audit.literal(Outcome::Started.name()));
    read_audit_where(conn, audit, &condition)
}

/// The audit rows that meet `condition`; a missing audit table means no rows.
fn read_audit_where(
    conn: &mut dyn Connection,
    audit: &VersionTable,
    condition: &str,
) -> Result<Vec<AuditEntry>> {
    let audit_unreadable = |cause| Error::AuditTableUnreadable {
        table: audit.display_name(),
        cause,
    };
    let exists = conn
        .table_exists(audit.schema.as_deref(), &audit.name)
        .map_err(audit_unreadable)?;
    if !exists {
        return Ok(Vec::new());
    }
    let has_details = has_details_column(conn, audit).map_err(audit_unreadable)?;
    let sql = audit.select_audit_sql_where(condition, has_details);
    let rows = conn.query(&sql).map_err(audit_unreadable)?;
    let text = |row: &[Value], i: usize| row.get(i).and_then(Value::as_text);
    let int = |row: &[Value], i: usize| match row.get(i) {
        Some(Value::Int(n)) => *n,
        Some(other) => other.as_text().and_then(|t| t.parse().ok()).unwrap_or(0),
        None => 0,
    };
    let heads = |row: &[Value], i: usize| -> Vec<String> {
        text(row, i)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    // A value retort never writes means the table was edited by hand: say so, not guess.
    let unknown = |row: &[Value], i: usize, column: &'static str| Error::UnknownAuditValue {
        table: audit.display_name(),
        row: int(row, 0),
        column,
        value: text(row, i).unwrap_or_default(),
    };
    rows.iter()
        .map(|row| {
            let direction = text(row, 2).as_deref().and_then(Direction::from_name);
            let outcome = text(row, 8).as_deref().and_then(Outcome::from_name);
            let details = match text(row, 11) {
                None => AuditDetails::default(),
                Some(json) => {
                    AuditDetails::from_json(&json).ok_or_else(|| unknown(row, 11, "details"))?
                }
            };
            Ok(AuditEntry {
                id: int(row, 0),
                revision: text(row, 1).unwrap_or_default(),
                direction: direction.ok_or_else(|| unknown(row, 2, "direction"))?,
                heads_before: heads(row, 3),
                heads_after: heads(row, 4),
                checksum: text(row, 5),
                started_at: text(row, 6).unwrap_or_default(),
                duration_ms: int(row, 7),
                outcome: outcome.ok_or_else(|| unknown(row, 8, "outcome"))?,
                error: text(row, 9),
                applied_by: text(row, 10),
                details,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alembic(dialect: Dialect) -> VersionTable {
        VersionTable::new(dialect, None, "alembic_version")
    }

    #[test]
    fn ddl_matches_alembic_byte_for_byte() {
        assert_eq!(
            alembic(Dialect::Sqlite).create_sql(),
            "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)"
        );
    }

    #[test]
    fn dml_matches_alembic_byte_for_byte() {
        let t = alembic(Dialect::Postgresql);
        assert_eq!(
            t.insert_sql("ae1027a6acf"),
            "INSERT INTO alembic_version (version_num) VALUES ('ae1027a6acf')"
        );
        assert_eq!(
            t.update_sql("1975ea83b712", "ae1027a6acf"),
            "UPDATE alembic_version SET version_num='ae1027a6acf' WHERE alembic_version.version_num = '1975ea83b712'"
        );
        assert_eq!(
            t.delete_sql("d1"),
            "DELETE FROM alembic_version WHERE alembic_version.version_num = 'd1'"
        );
    }

    #[test]
    fn postgresql_schema_qualifies_every_reference() {
        let t = VersionTable::new(
            Dialect::Postgresql,
            Some("myschema".into()),
            "alembic_version",
        );
        assert!(t
            .create_sql()
            .starts_with("CREATE TABLE myschema.alembic_version ("));
        assert_eq!(
            t.delete_sql("a"),
            "DELETE FROM myschema.alembic_version WHERE myschema.alembic_version.version_num = 'a'"
        );
        // Other dialects have no schema in this sense.
        let s = VersionTable::new(Dialect::Sqlite, Some("myschema".into()), "v");
        assert_eq!(s.qualified(), "v");
    }

    #[test]
    fn names_are_checked_against_each_engines_identifier_limit() {
        let fits = |dialect, schema: Option<&str>, name: &str| {
            VersionTable::new(dialect, schema.map(String::from), name)
                .check_name_lengths()
                .map_err(|e| e.to_string())
        };
        // PostgreSQL counts bytes, and the audit table's `_log` must fit too.
        assert!(fits(Dialect::Postgresql, None, &"v".repeat(59)).is_ok());
        assert_eq!(
            fits(Dialect::Postgresql, None, &"v".repeat(60)).unwrap_err(),
            format!(
                "the table name `{}_log` is 64 bytes long, over PostgreSQL's limit of 63 bytes \
                 for identifiers",
                "v".repeat(60)
            )
        );
        assert!(fits(Dialect::Postgresql, None, &"é".repeat(30)).is_err());
        assert!(fits(Dialect::Postgresql, Some(&"s".repeat(64)), "v").is_err());
        // MySQL counts characters; SQLite has no limit.
        assert!(fits(Dialect::Mysql, None, &"é".repeat(60)).is_ok());
        assert!(fits(Dialect::Mysql, None, &"é".repeat(61)).is_err());
        assert!(fits(Dialect::Sqlite, None, &"v".repeat(1000)).is_ok());
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(
            quote_ident(Dialect::Sqlite, "retort_version"),
            "retort_version"
        );
        assert_eq!(quote_ident(Dialect::Sqlite, "Version"), "\"Version\"");
        assert_eq!(quote_ident(Dialect::Postgresql, "my-table"), "\"my-table\"");
        assert_eq!(quote_ident(Dialect::Mysql, "order"), "`order`");
        assert_eq!(quote_ident(Dialect::Sqlite, "1x"), "\"1x\"");
    }

    #[test]
    fn literals_escape_quotes_and_mysql_backslashes() {
        assert_eq!(quote_literal(Dialect::Sqlite, "it's"), "'it''s'");
        assert_eq!(quote_literal(Dialect::Mysql, "a\\b'"), "'a\\\\b'''");
    }

    #[test]
    fn audit_table_is_named_after_the_version_table() {
        let t = VersionTable::new(Dialect::Sqlite, None, "retort_version")
            .audit()
            .unwrap();
        assert_eq!(t.name, "retort_version_log");
        assert!(t.create_audit_sql().contains("id INTEGER PRIMARY KEY, "));
        assert!(t.create_audit_sql().ends_with("details TEXT\n)"));
    }

    #[test]
    fn the_details_column_is_written_only_when_there_are_details() {
        let audit = alembic(Dialect::Mysql).audit().unwrap();
        let mut entry = AuditEntry {
            id: 0,
            revision: "a".into(),
            direction: Direction::Upgrade,
            heads_before: vec![],
            heads_after: vec!["a".into()],
            checksum: None,
            started_at: "t".into(),
            duration_ms: 0,
            outcome: Outcome::Success,
            error: None,
            applied_by: None,
            details: AuditDetails::default(),
        };
        // A row without details also goes into an audit table of before the column.
        assert!(!audit.insert_audit_sql(&entry).contains("details"));
        assert!(!audit.finish_audit_sql(&entry).contains("details"));
        entry.details.statements = AuditDetails::of_statements([("SELECT 'x'", 3)]);
        let insert = audit.insert_audit_sql(&entry);
        assert!(insert.contains("applied_by, details) VALUES"), "{insert}");
        assert!(
            insert.contains(r#"'{"statements":[{"index":1,"line":3,"#),
            "{insert}"
        );
        assert!(audit
            .finish_audit_sql(&entry)
            .contains(", details = '{\"statements\""));
        assert_eq!(
            audit.add_details_column_sql(),
            "ALTER TABLE alembic_version_log ADD COLUMN details TEXT"
        );
    }
}
