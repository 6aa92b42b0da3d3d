//! The rules: stable codes, what each says and how to fix it (docs/lint.md has an example of
//! each), and the decisions, made from an action and what retort knows about the revision
//! (transactional or not, the dialect, the server version, what earlier revisions created).

use std::collections::{HashMap, HashSet};

use super::parse::{Action, DefaultKind};
use super::version::{Engine, ServerVersion};
use crate::config::Dialect;

macro_rules! codes {
    ($($variant:ident = $id:literal, $name:literal, $summary:literal, $help:literal;)*) => {
        /// A rule. Codes and names are stable: suppressions and CI configurations name them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum Code { $($variant,)* }

        impl Code {
            pub(crate) const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `RT101`.
            pub(crate) fn id(self) -> &'static str {
                match self { $(Code::$variant => $id,)* }
            }

            /// `index-not-concurrent`.
            pub(crate) fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line: what the rule catches.
            pub(crate) fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// How to fix a finding.
            pub(crate) fn help(self) -> &'static str {
                match self { $(Code::$variant => $help,)* }
            }
        }
    };
}

codes! {
    AllowWithoutReason = "RT001", "allow-without-reason",
        "a `retort:allow` suppression without a reason",
        "write why the finding is safe here: `-- retort:allow <code> reason=\"...\"`";
    AllowUnknownRule = "RT002", "allow-unknown-code",
        "a `retort:allow` suppression names no rule",
        "name a rule by code or name (`retort lint --help` and docs/lint.md list them)";
    NotParsed = "RT000", "not-parsed",
        "a statement the SQL parser rejected, checked by token rules only",
        "nothing to do unless a finding seems missed; token rules read the statement's keywords";
    IndexNotConcurrent = "RT101", "index-not-concurrent",
        "CREATE INDEX without CONCURRENTLY on an existing table blocks its writes while it builds",
        "use CREATE INDEX CONCURRENTLY in a revision with `transactional = false` in its header";
    ConcurrentlyInTransaction = "RT102", "concurrently-in-transaction",
        "CONCURRENTLY in a revision that runs in a transaction: PostgreSQL refuses it",
        "set `transactional = false` in the revision's header (one concurrent statement per revision keeps a failure easy to retry)";
    ForeignKeyValidates = "RT111", "foreign-key-validates",
        "adding a foreign key without NOT VALID scans the table under a lock that blocks writes to both tables",
        "add it `NOT VALID`, then `ALTER TABLE ... VALIDATE CONSTRAINT` in a later revision";
    CheckValidates = "RT112", "check-validates",
        "adding a CHECK constraint without NOT VALID scans the table under an ACCESS EXCLUSIVE lock",
        "add it `NOT VALID`, then `ALTER TABLE ... VALIDATE CONSTRAINT` in a later revision";
    SetNotNullScans = "RT113", "set-not-null-scans",
        "SET NOT NULL without a validated CHECK (col IS NOT NULL) scans the table under an ACCESS EXCLUSIVE lock",
        "first add `CHECK (col IS NOT NULL) NOT VALID` and validate it (PostgreSQL 12+ then skips the scan), then drop the check";
    TypeChangeRewrites = "RT121", "type-change-rewrites",
        "changing a column's type rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
        "add a new column, backfill it in batches, switch the code over, then drop the old column";
    VolatileDefault = "RT131", "volatile-default",
        "adding a column whose default is evaluated per row rewrites the table",
        "add the column without a default (or with a constant one), backfill in batches, then set the default";
    DefaultBeforePg11 = "RT132", "default-rewrites-before-pg11",
        "before PostgreSQL 11, adding a column with any non-null default rewrites the table",
        "add the column without a default, set the default for new rows, then backfill in batches";
    UniqueBuildsIndex = "RT141", "unique-builds-index",
        "adding a UNIQUE or PRIMARY KEY constraint builds its index under an ACCESS EXCLUSIVE lock",
        "build the index with CREATE UNIQUE INDEX CONCURRENTLY first, then `ADD CONSTRAINT ... UNIQUE USING INDEX idx`";
    RenameTable = "RT151", "rename-table",
        "renaming a table breaks the running application that still uses the old name",
        "create the new table (or a view with the old name), move the code over, then drop the old one";
    RenameColumn = "RT152", "rename-column",
        "renaming a column breaks the running application that still uses the old name",
        "add the new column, write both, backfill, move the reads over, then drop the old column";
    DropTable = "RT153", "drop-table",
        "dropping a table breaks the running application that still uses it, and loses its data",
        "deploy code that no longer uses the table first, then drop it in a later revision";
    DropColumn = "RT154", "drop-column",
        "dropping a column breaks the running application that still reads or writes it",
        "deploy code that no longer uses the column first (ignore it in the ORM), then drop it";
    NoLockTimeout = "RT161", "no-lock-timeout",
        "a schema change with no lock timeout waits behind long transactions and queues every query of the table behind it",
        "start the revision with `SET lock_timeout = '2s'` (MySQL: `SET SESSION lock_wait_timeout = 2`), or set a statement_timeout";
    DdlWithBulkDml = "RT171", "ddl-with-bulk-dml",
        "an UPDATE or DELETE of a whole table in the same transaction as a schema change holds the change's lock for the whole rewrite",
        "move the data change to its own revision (batched, with `transactional = false` if it is long)";
    MysqlAlterCopies = "RT181", "mysql-alter-copies",
        "this ALTER runs with ALGORITHM=COPY on this server: the table is copied and writes are blocked meanwhile",
        "ask for `ALGORITHM=INPLACE, LOCK=NONE` (the server then refuses instead of copying), or use an online schema change tool";
    MysqlAlterRebuilds = "RT182", "mysql-alter-rebuilds",
        "this ALTER is not INSTANT on this server version: the table is rebuilt in place, which takes time and lags replicas",
        "on MySQL 8.0.29+ / MariaDB 10.4+ it is instant; otherwise run it off-peak, or with an online schema change tool";
}

impl Code {
    /// The rule a suppression names, by code (`RT101`, any case) or name.
    pub(crate) fn from_name(word: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(word) || c.name() == word)
    }

    /// `RT000` informs; every other code is a finding that fails the lint.
    pub(crate) fn is_finding(self) -> bool {
        self != Code::NotParsed
    }

    /// Suppressions are findings about suppressions: they cannot be suppressed themselves.
    pub(crate) fn can_be_allowed(self) -> bool {
        !matches!(
            self,
            Code::AllowWithoutReason | Code::AllowUnknownRule | Code::NotParsed
        )
    }
}

/// What earlier revisions (in upgrade order) told about the schema.
#[derive(Debug, Default)]
pub(crate) struct Knowledge {
    /// (table, column) -> type, as `parse::normalize_type` writes it.
    pub column_types: HashMap<(String, String), String>,
    /// (table, column) proven not null by a validated CHECK.
    pub proven_not_null: HashSet<(String, String)>,
    /// Constraint name -> (table, column) of a `CHECK (col IS NOT NULL) NOT VALID` not yet
    /// validated.
    pub unvalidated_checks: HashMap<String, (String, String)>,
}

/// What the rules know about the revision being linted.
pub(crate) struct Context<'a> {
    pub dialect: Dialect,
    pub server: &'a ServerVersion,
    pub transactional: bool,
    /// Tables this revision created: nothing else uses them yet.
    pub created: &'a HashSet<String>,
    pub knowledge: &'a Knowledge,
    /// `SET foreign_key_checks = 0` ran earlier in the revision (MySQL).
    pub foreign_key_checks_off: bool,
}

impl Context<'_> {
    fn existing(&self, table: &str) -> bool {
        !self.created.contains(table)
    }

    fn postgres(&self) -> bool {
        self.dialect == Dialect::Postgresql
    }
}

/// The findings of one action (`statement` holds every action of its statement, for MySQL's
/// `ALGORITHM=` clause), as (code, message).
pub(crate) fn check_action(
    ctx: &Context<'_>,
    action: &Action,
    statement: &[Action],
) -> Vec<(Code, String)> {
    let mut found = Vec::new();
    let mut push = |code: Code, message: String| found.push((code, message));
    match action {
        Action::CreateIndex {
            table,
            concurrently,
        } if ctx.postgres() => {
            if !concurrently && ctx.existing(table) {
                push(
                    Code::IndexNotConcurrent,
                    format!("CREATE INDEX on `{table}` without CONCURRENTLY blocks writes to it while the index builds"),
                );
            }
            concurrently_in_transaction(ctx, *concurrently, "CREATE INDEX", &mut push);
        }
        Action::DropIndex { concurrently } if ctx.postgres() => {
            concurrently_in_transaction(ctx, *concurrently, "DROP INDEX", &mut push);
        }
        Action::Reindex { concurrently } if ctx.postgres() => {
            concurrently_in_transaction(ctx, *concurrently, "REINDEX", &mut push);
        }
        Action::AddForeignKey { table, not_valid }
            if ctx.postgres() && !not_valid && ctx.existing(table) =>
        {
            push(
                Code::ForeignKeyValidates,
                format!("adding a foreign key to `{table}` without NOT VALID checks every row while writes to both tables wait"),
            );
        }
        Action::AddColumn {
            table,
            references: true,
            ..
        } if ctx.postgres() && ctx.existing(table) => {
            push(
                Code::ForeignKeyValidates,
                format!("adding a column with REFERENCES to `{table}` takes a lock on the referenced table too; add the foreign key separately, NOT VALID"),
            );
        }
        Action::AddCheck {
            table, not_valid, ..
        } if ctx.postgres() && !not_valid && ctx.existing(table) => {
            push(
                Code::CheckValidates,
                format!("adding a CHECK constraint to `{table}` without NOT VALID checks every row under an ACCESS EXCLUSIVE lock"),
            );
        }
        Action::SetNotNull { table, column } if ctx.postgres() && ctx.existing(table) => {
            let key = (table.clone(), column.clone());
            let proven = ctx.knowledge.proven_not_null.contains(&key);
            if !proven {
                push(
                    Code::SetNotNullScans,
                    format!("SET NOT NULL on `{table}.{column}` scans the whole table under an ACCESS EXCLUSIVE lock: no validated CHECK ({column} IS NOT NULL) comes before it"),
                );
            } else if !ctx.server.at_least(12, 0, 0) {
                push(
                    Code::SetNotNullScans,
                    format!("SET NOT NULL on `{table}.{column}` scans the whole table on {}: only PostgreSQL 12+ uses the validated CHECK to skip the scan", ctx.server),
                );
            }
        }
        Action::ChangeType {
            table,
            column,
            new_type,
            using,
        } if ctx.existing(table) => {
            let old = ctx
                .knowledge
                .column_types
                .get(&(table.clone(), column.clone()));
            if ctx.postgres() && (*using || !pg_type_change_is_free(old, new_type)) {
                let from = old.map_or("its current type".to_string(), |t| format!("`{t}`"));
                push(
                    Code::TypeChangeRewrites,
                    format!("changing `{table}.{column}` from {from} to `{new_type}` rewrites the table under an ACCESS EXCLUSIVE lock"),
                );
            }
            if ctx.dialect == Dialect::Mysql && !mysql_algorithm_given(statement) {
                if let Some(old) = old.filter(|old| mysql_type_change_copies(old, new_type)) {
                    push(
                        Code::MysqlAlterCopies,
                        format!("changing `{table}.{column}` from `{old}` to `{new_type}` copies the table (ALGORITHM=COPY) on {}", ctx.server),
                    );
                } else if old.is_none() {
                    push(
                        Code::MysqlAlterCopies,
                        format!("`{table}.{column}` gets a new definition (`{new_type}`); unless only its nullability or default changes, {} copies the table (ALGORITHM=COPY)", ctx.server),
                    );
                }
            }
        }
        Action::AddColumn {
            table,
            default,
            positioned,
            ..
        } if ctx.existing(table) => match ctx.dialect {
            Dialect::Postgresql => match default {
                DefaultKind::Volatile(what) => push(
                    Code::VolatileDefault,
                    format!("adding a column to `{table}` with {what} as its default writes every row (the table is rewritten under an ACCESS EXCLUSIVE lock)"),
                ),
                DefaultKind::Constant if !ctx.server.at_least(11, 0, 0) => push(
                    Code::DefaultBeforePg11,
                    format!("adding a column with a default to `{table}` rewrites the table on {}", ctx.server),
                ),
                _ => {}
            },
            Dialect::Mysql
                if !mysql_algorithm_given(statement)
                    && !mysql_add_column_is_instant(ctx.server, *positioned) =>
            {
                push(
                    Code::MysqlAlterRebuilds,
                    format!("adding a column to `{table}` rebuilds it on {}", ctx.server),
                );
            }
            _ => {}
        },
        Action::AddUnique {
            table,
            primary,
            using_index,
        } if ctx.postgres() && !using_index && ctx.existing(table) => {
            let what = if *primary { "PRIMARY KEY" } else { "UNIQUE" };
            push(
                Code::UniqueBuildsIndex,
                format!("adding a {what} constraint to `{table}` builds its index while reads and writes wait"),
            );
        }
        Action::RenameTable { table } if ctx.existing(table) => push(
            Code::RenameTable,
            format!("renaming `{table}` breaks the running application that still uses that name"),
        ),
        Action::RenameColumn { table, column } if ctx.existing(table) => push(
            Code::RenameColumn,
            format!("renaming `{table}.{column}` breaks the running application that still uses that name"),
        ),
        Action::DropTable { table } if ctx.existing(table) => push(
            Code::DropTable,
            format!("dropping `{table}` breaks the running application that still uses it"),
        ),
        Action::DropColumn { table, column } if ctx.existing(table) => {
            push(
                Code::DropColumn,
                format!("dropping `{table}.{column}` breaks the running application that still reads or writes it"),
            );
            if ctx.dialect == Dialect::Mysql
                && !mysql_algorithm_given(statement)
                && !mysql_drop_column_is_instant(ctx.server)
            {
                push(
                    Code::MysqlAlterRebuilds,
                    format!("dropping a column of `{table}` rebuilds it on {}", ctx.server),
                );
            }
        }
        Action::DropPrimaryKey { table }
            if ctx.dialect == Dialect::Mysql
                && ctx.existing(table)
                && !statement
                    .iter()
                    .any(|a| matches!(a, Action::AddUnique { primary: true, .. })) =>
        {
            push(
                Code::MysqlAlterCopies,
                format!("dropping the primary key of `{table}` without adding one in the same ALTER copies the table (ALGORITHM=COPY)"),
            );
        }
        Action::AddForeignKey { table, .. }
            if ctx.dialect == Dialect::Mysql && ctx.existing(table) && !ctx.foreign_key_checks_off =>
        {
            push(
                Code::MysqlAlterCopies,
                format!("adding a foreign key to `{table}` with foreign_key_checks on copies the table (ALGORITHM=COPY)"),
            );
        }
        Action::ConvertCharset { table } if ctx.dialect == Dialect::Mysql && ctx.existing(table) => {
            push(
                Code::MysqlAlterCopies,
                format!("converting `{table}` to another character set copies the table (ALGORITHM=COPY)"),
            );
        }
        Action::Algorithm(algorithm) if ctx.dialect == Dialect::Mysql && algorithm == "COPY" => {
            push(
                Code::MysqlAlterCopies,
                "ALGORITHM=COPY copies the table and blocks its writes meanwhile".into(),
            );
        }
        Action::Lock(lock)
            if ctx.dialect == Dialect::Mysql && (lock == "SHARED" || lock == "EXCLUSIVE") =>
        {
            push(
                Code::MysqlAlterCopies,
                format!("LOCK={lock} blocks writes to the table for the whole ALTER"),
            );
        }
        _ => {}
    }
    found
}

fn concurrently_in_transaction(
    ctx: &Context<'_>,
    concurrently: bool,
    what: &str,
    push: &mut impl FnMut(Code, String),
) {
    if concurrently && ctx.transactional {
        push(
            Code::ConcurrentlyInTransaction,
            format!("{what} CONCURRENTLY cannot run inside a transaction block, and this revision runs in one (no `transactional = false` in its header)"),
        );
    }
}

/// Whether the revision bounds its lock waits: a timeout configured for every run, or set by the
/// revision itself before its first schema change. The one place that decides it, so the
/// configured timeouts are read here and nowhere else.
pub(crate) fn bounds_lock_waits(configured: bool, set_before: &HashSet<String>) -> bool {
    configured
        || ["lock_timeout", "statement_timeout", "lock_wait_timeout"]
            .iter()
            .any(|name| set_before.contains(*name))
}

/// Whether an action takes a table lock that queues other sessions (the timeout rule's
/// concern): any change to an existing table.
pub(crate) fn takes_table_lock(action: &Action, created: &HashSet<String>) -> bool {
    let table = match action {
        Action::CreateIndex { table, .. }
        | Action::AddColumn { table, .. }
        | Action::AddForeignKey { table, .. }
        | Action::AddCheck { table, .. }
        | Action::AddUnique { table, .. }
        | Action::ValidateConstraint { table, .. }
        | Action::SetNotNull { table, .. }
        | Action::ChangeType { table, .. }
        | Action::RenameTable { table }
        | Action::RenameColumn { table, .. }
        | Action::DropTable { table }
        | Action::DropColumn { table, .. }
        | Action::DropPrimaryKey { table }
        | Action::ConvertCharset { table }
        | Action::OtherAlter { table } => table,
        Action::DropIndex { .. } | Action::Reindex { .. } => return true,
        _ => return false,
    };
    !created.contains(table)
}

/// `ALGORITHM=INSTANT` or `INPLACE` given: the server refuses what it cannot do that way, so
/// nothing is copied by surprise.
fn mysql_algorithm_given(statement: &[Action]) -> bool {
    statement
        .iter()
        .any(|a| matches!(a, Action::Algorithm(alg) if alg == "INSTANT" || alg == "INPLACE"))
}

/// ADD COLUMN is instant from MySQL 8.0.12 (last position) / 8.0.29 (any), MariaDB 10.3
/// (last) / 10.4 (any).
fn mysql_add_column_is_instant(server: &ServerVersion, positioned: bool) -> bool {
    match (server.engine, positioned) {
        (Engine::Mysql, false) => server.at_least(8, 0, 12),
        (Engine::Mysql, true) => server.at_least(8, 0, 29),
        (Engine::Mariadb, false) => server.at_least(10, 3, 0),
        (Engine::Mariadb, true) => server.at_least(10, 4, 0),
        _ => true,
    }
}

/// DROP COLUMN is instant from MySQL 8.0.29 and MariaDB 10.4.
fn mysql_drop_column_is_instant(server: &ServerVersion) -> bool {
    match server.engine {
        Engine::Mysql => server.at_least(8, 0, 29),
        Engine::Mariadb => server.at_least(10, 4, 0),
        _ => true,
    }
}

/// `VARCHAR(n)` / `CHARACTER VARYING(n)` -> Some(Some(n)); unbounded VARCHAR/TEXT -> Some(None).
fn varchar_length(t: &str) -> Option<Option<u64>> {
    if t == "TEXT" || t == "VARCHAR" || t == "CHARACTER VARYING" {
        return Some(None);
    }
    let inner = t
        .strip_prefix("VARCHAR(")
        .or_else(|| t.strip_prefix("CHARACTER VARYING("))?
        .strip_suffix(')')?;
    inner.trim().parse().ok().map(Some)
}

/// PostgreSQL changes a type without a rewrite only when the new type accepts every old value
/// with the same storage: the same type, or a varchar that got longer or lost its limit.
fn pg_type_change_is_free(old: Option<&String>, new: &str) -> bool {
    let Some(old) = old else {
        return false;
    };
    if old == new {
        return true;
    }
    match (varchar_length(old), varchar_length(new)) {
        (Some(_), Some(None)) => true,
        (Some(Some(a)), Some(Some(b))) => b >= a,
        _ => false,
    }
}

/// MySQL changes a column in place only when its type stays (nullability, default, name) or a
/// VARCHAR grows within the same length-byte size (under 64 characters of utf8mb4, or over).
fn mysql_type_change_copies(old: &str, new: &str) -> bool {
    if old == new {
        return false;
    }
    match (varchar_length(old), varchar_length(new)) {
        (Some(Some(a)), Some(Some(b))) => !(b >= a && (a < 64) == (b < 64)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::version::VersionSource;

    #[test]
    fn codes_are_unique_and_found_by_id_or_name() {
        let ids: HashSet<_> = Code::ALL.iter().map(|c| c.id()).collect();
        let names: HashSet<_> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(ids.len(), Code::ALL.len());
        assert_eq!(names.len(), Code::ALL.len());
        assert_eq!(Code::from_name("rt154"), Some(Code::DropColumn));
        assert_eq!(Code::from_name("drop-column"), Some(Code::DropColumn));
        assert_eq!(Code::from_name("Drop-Column"), None);
    }

    #[test]
    fn type_changes_that_postgresql_makes_without_a_rewrite() {
        let t = |s: &str| Some(s.to_string());
        assert!(pg_type_change_is_free(
            t("VARCHAR(20)").as_ref(),
            "VARCHAR(40)"
        ));
        assert!(pg_type_change_is_free(t("VARCHAR(20)").as_ref(), "TEXT"));
        assert!(!pg_type_change_is_free(
            t("VARCHAR(40)").as_ref(),
            "VARCHAR(20)"
        ));
        assert!(!pg_type_change_is_free(t("INT").as_ref(), "BIGINT"));
        assert!(!pg_type_change_is_free(None, "TEXT"));
        assert!(!mysql_type_change_copies("VARCHAR(20)", "VARCHAR(40)"));
        assert!(mysql_type_change_copies("VARCHAR(20)", "VARCHAR(100)"));
        assert!(mysql_type_change_copies("INT", "BIGINT"));
    }

    #[test]
    fn instant_add_and_drop_column_by_version() {
        let v = |dialect, text| ServerVersion::parse(dialect, text, VersionSource::Flag).unwrap();
        let my = Dialect::Mysql;
        assert!(!mysql_add_column_is_instant(&v(my, "8.0.11"), false));
        assert!(mysql_add_column_is_instant(&v(my, "8.0.12"), false));
        assert!(!mysql_add_column_is_instant(&v(my, "8.0.28"), true));
        assert!(mysql_add_column_is_instant(&v(my, "10.3.1"), false));
        assert!(!mysql_add_column_is_instant(&v(my, "10.3.1"), true));
        assert!(mysql_drop_column_is_instant(&v(my, "10.11")));
        assert!(!mysql_drop_column_is_instant(&v(my, "5.7")));
    }
}
