//! MySQL and MariaDB: the current database's schema from `information_schema`, one query per
//! kind, and each view, trigger and routine as its `SHOW CREATE` statement (the only text
//! with a view's options and a routine's characteristics), normalized so that a database and
//! its scratch copy (another name, maybe another user) read the same. Unique keys are unique
//! indexes here (MySQL has no other kind).

use super::model::{
    Column, ConstraintKind, Index, PrimaryKey, Routine, Schema, Table, Trigger, View,
};
use super::{flag, int, opt_text, query, split_list, text, Introspect};
use crate::config::Dialect;
use crate::db::version_table::quoted_ident;
use crate::db::Connection;
use crate::error::Result;

pub(super) struct Mysql;

fn ident(name: &str) -> String {
    quoted_ident(Dialect::Mysql, name)
}

impl Introspect for Mysql {
    fn read(&self, conn: &mut dyn Connection) -> Result<Schema> {
        let mut schema = Schema::default();
        let about = query(conn, "the database", "SELECT DATABASE(), VERSION()")?;
        let database = about.first().map(|row| text(&row[0])).unwrap_or_default();
        let mariadb = about
            .first()
            .is_some_and(|row| text(&row[1]).contains("MariaDB"));
        let tables = query(
            conn,
            "tables",
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        )?;
        for row in tables {
            let name = text(&row[0]);
            match text(&row[1]).as_str() {
                "BASE TABLE" | "SYSTEM VERSIONED" => {
                    schema.tables.insert(name, Table::default());
                }
                "VIEW" => {}
                "SEQUENCE" => schema.not_compared.push(format!("sequence {name}")),
                other => schema
                    .not_compared
                    .push(format!("{} {name}", other.to_lowercase())),
            }
        }
        read_columns(conn, &mut schema)?;
        read_indexes(conn, &mut schema, mariadb)?;
        read_foreign_keys(conn, &mut schema)?;
        read_checks(conn, &mut schema, mariadb)?;
        read_views(conn, &mut schema, &database)?;
        read_triggers(conn, &mut schema, &database)?;
        read_routines(conn, &mut schema, &database)?;
        for row in query(
            conn,
            "events",
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
        )? {
            schema.not_compared.push(format!("event {}", text(&row[0])));
        }
        for (name, table) in schema.tables.iter_mut() {
            table.ddl = table_ddl(name, table);
        }
        Ok(schema)
    }
}

fn read_columns(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    // A collation is the column's only where it is not the table's default.
    let rows = query(
        conn,
        "columns",
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, \
         c.EXTRA, c.GENERATION_EXPRESSION, \
         CASE WHEN c.COLLATION_NAME <> t.TABLE_COLLATION THEN c.COLLATION_NAME END \
         FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
         ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
         WHERE c.TABLE_SCHEMA = DATABASE() ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
    )?;
    for row in rows {
        let Some(table) = schema.tables.get_mut(&text(&row[0])) else {
            continue;
        };
        let extra = text(&row[5]);
        let lower = extra.to_ascii_lowercase();
        let generated = match (
            lower.contains("stored generated"),
            lower.contains("virtual generated"),
        ) {
            (true, _) => Some(format!("{} STORED", text(&row[6]))),
            (_, true) => Some(format!("{} VIRTUAL", text(&row[6]))),
            _ => None,
        };
        // `ON UPDATE CURRENT_TIMESTAMP` belongs with the default.
        let on_update = lower
            .find("on update")
            .map(|at| extra[at..].trim().to_string());
        let default = match (opt_text(&row[4]), on_update) {
            (Some(default), Some(on_update)) => Some(format!("{default} {on_update}")),
            (default, None) => default,
            (None, Some(on_update)) => Some(on_update),
        };
        table.columns.push(Column {
            name: text(&row[1]),
            data_type: text(&row[2]),
            nullable: flag(&row[3]),
            default: default.filter(|_| generated.is_none()),
            generated,
            identity: lower
                .contains("auto_increment")
                .then(|| "auto_increment".into()),
            collation: opt_text(&row[7]),
        });
    }
    Ok(())
}

fn read_indexes(conn: &mut dyn Connection, schema: &mut Schema, mariadb: bool) -> Result<()> {
    // MySQL 8 gives a functional key part's expression (its COLUMN_NAME is NULL); MariaDB has
    // no functional indexes and no such column.
    let expression = if mariadb { "NULL" } else { "EXPRESSION" };
    let sql = format!(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE, \
         {expression} FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    );
    let rows = query(conn, "indexes", &sql)?;
    for row in rows {
        let (table_name, name) = (text(&row[0]), text(&row[1]));
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        let mut part = match (opt_text(&row[3]), opt_text(&row[7])) {
            (None, Some(expression)) => format!("({expression})"),
            (column, _) => column.unwrap_or_default(),
        };
        if let Some(length) = opt_text(&row[4]) {
            part.push_str(&format!("({length})"));
        }
        if text(&row[5]) == "D" {
            part.push_str(" DESC");
        }
        if name == "PRIMARY" {
            table
                .primary_key
                .get_or_insert_with(|| PrimaryKey {
                    name: Some(name.clone()),
                    columns: Vec::new(),
                })
                .columns
                .push(part);
            continue;
        }
        let method = text(&row[6]);
        let index = table.indexes.entry(name.clone()).or_insert_with(|| Index {
            unique: int(&row[2]) == 0,
            method: Some(method.clone()),
            ..Index::default()
        });
        index.columns.push(part);
    }
    for (table_name, table) in schema.tables.iter_mut() {
        for (name, index) in table.indexes.iter_mut() {
            let columns: Vec<String> = index.columns.iter().map(|c| quote_part(c)).collect();
            let kind = match index.method.as_deref() {
                Some("FULLTEXT") => "FULLTEXT ",
                Some("SPATIAL") => "SPATIAL ",
                _ if index.unique => "UNIQUE ",
                _ => "",
            };
            index.ddl = format!(
                "CREATE {kind}INDEX {} ON {} ({})",
                ident(name),
                ident(table_name),
                columns.join(", ")
            );
        }
    }
    Ok(())
}

/// An index part (`name(10) DESC`) with its column quoted; a functional one (`(lower(x))`)
/// is the server's text already.
fn quote_part(part: &str) -> String {
    if part.starts_with('(') {
        return part.to_string();
    }
    let end = part.find(['(', ' ']).unwrap_or(part.len());
    format!("{}{}", ident(&part[..end]), &part[end..])
}

fn read_foreign_keys(conn: &mut dyn Connection, schema: &mut Schema) -> Result<()> {
    let sql = "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, \
         GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR '\u{1f}'), \
         k.REFERENCED_TABLE_NAME, \
         GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR '\u{1f}'), \
         r.UPDATE_RULE, r.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.TABLE_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME";
    for row in query(conn, "foreign keys", sql)? {
        let (table_name, name) = (text(&row[0]), text(&row[1]));
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        let quote_all = |value| {
            split_list(value)
                .iter()
                .map(|c| ident(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut definition = format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            quote_all(&row[2]),
            ident(&text(&row[3])),
            quote_all(&row[4])
        );
        for (what, action) in [("UPDATE", text(&row[5])), ("DELETE", text(&row[6]))] {
            if action != "RESTRICT" && action != "NO ACTION" {
                definition.push_str(&format!(" ON {what} {action}"));
            }
        }
        table.add_constraint(
            &ident(&table_name),
            name,
            ConstraintKind::ForeignKey,
            definition,
            ident,
        );
    }
    Ok(())
}

fn read_checks(conn: &mut dyn Connection, schema: &mut Schema, mariadb: bool) -> Result<()> {
    // MariaDB names checks per table and says which table; MySQL names them per database.
    let sql = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME"
    } else {
        "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE \
         FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc \
         ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
         WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK' \
         ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME"
    };
    for row in query(conn, "check constraints", sql)? {
        let (table_name, name) = (text(&row[0]), text(&row[1]));
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        let definition = format!("CHECK ({})", text(&row[2]));
        table.add_constraint(
            &ident(&table_name),
            name,
            ConstraintKind::Check,
            definition,
            ident,
        );
    }
    Ok(())
}

fn read_views(conn: &mut dyn Connection, schema: &mut Schema, database: &str) -> Result<()> {
    let names = query(
        conn,
        "views",
        "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME",
    )?;
    for row in names {
        let name = text(&row[0]);
        let definition = show_create(conn, "VIEW", &name, 1, database)?;
        schema.views.insert(
            name,
            View {
                ddl: definition.clone(),
                definition,
                ..View::default()
            },
        );
    }
    Ok(())
}

fn read_triggers(conn: &mut dyn Connection, schema: &mut Schema, database: &str) -> Result<()> {
    let rows = query(
        conn,
        "triggers",
        "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME",
    )?;
    for row in rows {
        let (table, name) = (text(&row[0]), text(&row[1]));
        let definition = show_create(conn, "TRIGGER", &name, 2, database)?;
        schema.triggers.insert(
            format!("{table}.{name}"),
            Trigger {
                table,
                ddl: definition.clone(),
                definition,
            },
        );
    }
    Ok(())
}

fn read_routines(conn: &mut dyn Connection, schema: &mut Schema, database: &str) -> Result<()> {
    let rows = query(
        conn,
        "functions and procedures",
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES \
         WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME, ROUTINE_TYPE",
    )?;
    for row in rows {
        let name = text(&row[0]);
        let kind = text(&row[1]).to_lowercase();
        if kind != "function" && kind != "procedure" {
            schema.not_compared.push(format!("{kind} {name}"));
            continue;
        }
        let definition = show_create(conn, &kind.to_uppercase(), &name, 2, database)?;
        // A function and a procedure may share a name.
        let key = if kind == "procedure" && schema.routines.contains_key(&name) {
            format!("{name}:procedure")
        } else {
            name
        };
        schema.routines.insert(
            key,
            Routine {
                kind,
                ddl: definition.clone(),
                definition,
            },
        );
    }
    Ok(())
}

/// The statement `SHOW CREATE {kind}` gives for `name` (in result column `column`), without
/// what differs between two databases built by the same statements: see [`normalize_create`].
fn show_create(
    conn: &mut dyn Connection,
    kind: &str,
    name: &str,
    column: usize,
    database: &str,
) -> Result<String> {
    let what = format!("{} {name}", kind.to_lowercase());
    let rows = query(conn, &what, &format!("SHOW CREATE {kind} {}", ident(name)))?;
    let statement = rows
        .first()
        .and_then(|row| row.get(column))
        .map(text)
        .unwrap_or_default();
    Ok(normalize_create(&statement, database))
}

/// A `SHOW CREATE` statement as it compares: the `DEFINER=user@host` clause left out (the
/// scratch copy may be built by another user), as are the defaults `ALGORITHM=UNDEFINED` and
/// `SQL SECURITY DEFINER` of the statement's head (a view's explicit `ALGORITHM=MERGE` or
/// `SQL SECURITY INVOKER` stays, so changing one is drift), and the database's own name
/// before the names it qualifies (the scratch database has another name).
fn normalize_create(statement: &str, database: &str) -> String {
    let (mut head, body_at) = head(statement);
    head.retain(|word| {
        !word.to_ascii_uppercase().starts_with("DEFINER=")
            && !word.eq_ignore_ascii_case("ALGORITHM=UNDEFINED")
    });
    if let Some(at) = head.windows(3).position(|w| {
        w[0].eq_ignore_ascii_case("SQL")
            && w[1].eq_ignore_ascii_case("SECURITY")
            && w[2].eq_ignore_ascii_case("DEFINER")
    }) {
        head.drain(at..at + 3);
    }
    let own = format!("{}.", ident(database));
    let body = statement[body_at..].replace(&own, "");
    let body = body.trim_end();
    if !body.is_empty() {
        head.push(body);
    }
    head.join(" ")
}

/// The words of a `CREATE` statement before its `VIEW`, `TRIGGER`, `FUNCTION` or `PROCEDURE`
/// keyword (split at whitespace outside quotes, as a `DEFINER` may hold quoted spaces), and
/// where that keyword starts.
fn head(statement: &str) -> (Vec<&str>, usize) {
    const KINDS: [&str; 4] = ["VIEW", "TRIGGER", "FUNCTION", "PROCEDURE"];
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    for (at, c) in statement.char_indices().chain([(statement.len(), ' ')]) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c.is_whitespace() => {
                if let Some(from) = start.take() {
                    let word = &statement[from..at];
                    if KINDS.iter().any(|kind| word.eq_ignore_ascii_case(kind)) {
                        return (words, from);
                    }
                    words.push(word);
                }
            }
            (None, c) => {
                start.get_or_insert(at);
                if matches!(c, '`' | '\'' | '"') {
                    quote = Some(c);
                }
            }
        }
    }
    (words, statement.len())
}

/// `CREATE TABLE` with the columns and primary key; indexes and constraints follow.
fn table_ddl(name: &str, table: &Table) -> String {
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            let mut line = format!("  {} {}", ident(&column.name), column.data_type);
            if let Some(collation) = &column.collation {
                line.push_str(&format!(" COLLATE {collation}"));
            }
            if let Some(generated) = &column.generated {
                let (expression, kind) = generated.rsplit_once(' ').unwrap_or((generated, ""));
                line.push_str(&format!(" GENERATED ALWAYS AS ({expression}) {kind}"));
            }
            line.push_str(if column.nullable {
                " NULL"
            } else {
                " NOT NULL"
            });
            if let Some(default) = &column.default {
                line.push_str(&format!(" DEFAULT {default}"));
            }
            if column.identity.is_some() {
                line.push_str(" AUTO_INCREMENT");
            }
            line
        })
        .collect();
    if let Some(pk) = &table.primary_key {
        let columns: Vec<String> = pk.columns.iter().map(|c| quote_part(c)).collect();
        lines.push(format!("  PRIMARY KEY ({})", columns.join(", ")));
    }
    format!("CREATE TABLE {} (\n{}\n)", ident(name), lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_create_loses_its_definer_defaults_and_database_name() {
        let view = "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER \
                    VIEW `v` AS select `app`.`users`.`id` AS `id` from `app`.`users`";
        assert_eq!(
            normalize_create(view, "app"),
            "CREATE VIEW `v` AS select `users`.`id` AS `id` from `users`"
        );
        // What the migration chose stays, so changing it is drift.
        let view = "CREATE ALGORITHM=MERGE DEFINER=`a b`@`%` SQL SECURITY INVOKER VIEW `v` AS \
                    select 1 AS `1` WITH CASCADED CHECK OPTION";
        assert_eq!(
            normalize_create(view, "app"),
            "CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `v` AS select 1 AS `1` \
             WITH CASCADED CHECK OPTION"
        );
        // A body's own words are never touched, nor its layout.
        let function =
            "CREATE DEFINER=`root`@`localhost` FUNCTION `f`(x INT) RETURNS int(11)\n    \
                        DETERMINISTIC\nRETURN 'DEFINER=x VIEW'";
        assert_eq!(
            normalize_create(function, "app"),
            "CREATE FUNCTION `f`(x INT) RETURNS int(11)\n    DETERMINISTIC\nRETURN 'DEFINER=x VIEW'"
        );
        let trigger =
            "CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1";
        assert_eq!(
            normalize_create(trigger, "app"),
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1"
        );
    }

    #[test]
    fn a_functional_key_part_is_kept_as_the_server_renders_it() {
        assert_eq!(quote_part("(lower(`email`)) DESC"), "(lower(`email`)) DESC");
        assert_eq!(quote_part("title(20) DESC"), "`title`(20) DESC");
    }
}
