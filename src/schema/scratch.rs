//! A scratch database to build an expected schema in: SQLite in memory; on PostgreSQL and
//! MySQL a temporary database created on the live database's server and dropped when the
//! [`Scratch`] is dropped, on every path (errors included), or an empty `dev_url` database
//! that is emptied again afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::{DatabaseUrl, Dialect};
use crate::db::version_table::{quote_literal, quoted_ident};
use crate::db::{self, Connection, DbError};
use crate::error::{Error, Result};
use crate::schema::model::Schema;

/// How the scratch database goes away.
enum Cleanup {
    /// In memory: with its connection.
    Nothing,
    /// A temporary database: dropped through an admin session on the same server.
    DropDatabase {
        admin: Box<dyn Connection>,
        name: String,
        url: DatabaseUrl,
    },
    /// The `dev_url` database: every object retort finds in it is dropped.
    Empty,
}

/// A database retort may fill and throw away.
pub(crate) struct Scratch {
    conn: Option<Box<dyn Connection>>,
    cleanup: Cleanup,
    /// Where it is, for messages (no password).
    pub(crate) shown: String,
    /// The `dev_url` database is one per project: the builds of a fleet run take turns in it
    /// (the turn ends after it is emptied, when the value is dropped).
    _turn: Option<MutexGuard<'static, ()>>,
}

/// Held while this process builds in the `dev_url` database.
static DEV_DATABASE: Mutex<()> = Mutex::new(());

impl Scratch {
    /// A scratch database beside the database of `url`: `dev_url` when given, else in memory
    /// (SQLite) or a new database on the same server, which needs the CREATE DATABASE
    /// privilege (the error says to set `dev_url` otherwise).
    pub(crate) fn create(url: &DatabaseUrl, dev_url: Option<&DatabaseUrl>) -> Result<Scratch> {
        if let Some(dev) = dev_url {
            return Scratch::dev(dev);
        }
        if url.dialect() == Dialect::Sqlite {
            return Ok(Scratch {
                conn: Some(db::connect(&DatabaseUrl::parse("sqlite://")?)?),
                cleanup: Cleanup::Nothing,
                shown: "an in-memory SQLite database".into(),
                _turn: None,
            });
        }
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let mut admin = db::connect(url)?;
        let current = match url.dialect() {
            Dialect::Postgresql => "SELECT current_database()",
            _ => "SELECT DATABASE()",
        };
        let live = admin
            .query(current)
            .ok()
            .and_then(|rows| db::single_text(rows).ok())
            .unwrap_or_default();
        // The end of the live database's name says whose it is; the process id and a counter
        // keep concurrent checks apart. Identifiers hold 63 characters.
        let tail: String = live
            .chars()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!(
            "retort_scratch_{tail}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let failed = |action, cause: DbError| Error::ScratchDatabaseFailed {
            action,
            database: name.clone(),
            cause,
        };
        let quoted = quoted_ident(url.dialect(), &name);
        admin
            .execute(&format!("CREATE DATABASE {quoted}"))
            .map_err(|cause| failed("create", cause))?;
        if url.dialect() == Dialect::Postgresql {
            // Its sessions need not wait for each commit to reach the disk: the database is
            // dropped at the end, and a server crash before that ends the command anyway. The
            // setting goes with the database (a session setting would stay on a pooler's
            // server session). Best effort: without it builds are only slower.
            let _ = admin.execute(&format!(
                "ALTER DATABASE {quoted} SET synchronous_commit = off"
            ));
        }
        // From here on, dropping the value drops the database, whatever fails next.
        let mut scratch = Scratch {
            conn: None,
            shown: format!("the temporary database `{name}`"),
            cleanup: Cleanup::DropDatabase {
                admin,
                name: name.clone(),
                url: url.with_database(&name),
            },
            _turn: None,
        };
        scratch.reconnect()?;
        Ok(scratch)
    }

    /// The `dev_url` database, which must be empty.
    fn dev(dev: &DatabaseUrl) -> Result<Scratch> {
        let turn = DEV_DATABASE.lock().unwrap_or_else(PoisonError::into_inner);
        let mut conn = db::connect(dev)?;
        let found = super::introspector(conn.dialect())?.read(conn.as_mut())?;
        let objects = object_names(&found);
        if !objects.is_empty() {
            return Err(Error::DevDatabaseNotEmpty {
                url: dev.to_string(),
                found: objects.into_iter().take(5).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Scratch {
            conn: Some(conn),
            cleanup: Cleanup::Empty,
            shown: format!("the dev database `{dev}`"),
            _turn: Some(turn),
        })
    }

    /// PostgreSQL schema-per-tenant: builds go into the schema `schema` (created here), as
    /// they do in the tenant's database, so the two schemas compare object by object.
    pub(crate) fn enter_schema(&mut self, schema: &str) -> Result<()> {
        let quoted = quoted_ident(Dialect::Postgresql, schema);
        let database = match &self.cleanup {
            Cleanup::DropDatabase { name, .. } => name.clone(),
            Cleanup::Empty | Cleanup::Nothing => "dev_url".to_string(),
        };
        let conn = self.conn();
        for statement in [
            format!("CREATE SCHEMA IF NOT EXISTS {quoted}"),
            format!("SET search_path TO {quoted}"),
        ] {
            conn.execute(&statement)
                .map_err(|cause| Error::ScratchDatabaseFailed {
                    action: "create the tenant's schema in",
                    database: database.clone(),
                    cause,
                })?;
        }
        Ok(())
    }

    /// Opens the session on a temporary database (`create` and `reset`).
    fn reconnect(&mut self) -> Result<()> {
        if let Cleanup::DropDatabase { url, .. } = &self.cleanup {
            self.conn = Some(db::connect(url)?);
        }
        Ok(())
    }

    /// Empties the database again: every object retort finds in it is dropped (cheaper than
    /// a new database, which costs a checkpoint on PostgreSQL).
    pub(crate) fn reset(&mut self) -> Result<()> {
        match self.cleanup {
            Cleanup::Nothing => {
                self.conn = Some(db::connect(&DatabaseUrl::parse("sqlite://")?)?);
            }
            Cleanup::DropDatabase { .. } | Cleanup::Empty => empty(self.conn()),
        }
        Ok(())
    }

    /// The session on the scratch database.
    pub(crate) fn conn(&mut self) -> &mut dyn Connection {
        match self.conn.as_mut() {
            Some(conn) => conn.as_mut(),
            // `create` sets it before handing the value out.
            None => unreachable!("a scratch database without its session"),
        }
    }
}

/// The tables, views and other objects of `schema` as `kind name`, for messages and cleanup.
fn object_names(schema: &Schema) -> Vec<String> {
    let mut out: Vec<String> = schema
        .schemas
        .iter()
        .map(|n| format!("schema {n}"))
        .collect();
    out.extend(schema.tables.keys().map(|n| format!("table {n}")));
    out.extend(schema.views.keys().map(|n| format!("view {n}")));
    out.extend(schema.sequences.keys().map(|n| format!("sequence {n}")));
    out.extend(schema.routines.keys().map(|n| format!("routine {n}")));
    out.extend(schema.types.keys().map(|n| format!("type {n}")));
    out
}

/// The statements that drop every object of `schema` (read unfiltered, retort's own tables
/// included) from a `dev_url` database.
fn drop_everything(dialect: Dialect, schema: &Schema) -> Vec<String> {
    let name = |key: &str| -> String {
        key.split('.')
            .map(|part| quoted_ident(dialect, part))
            .collect::<Vec<_>>()
            .join(".")
    };
    let (cascade, mut out) = match dialect {
        Dialect::Postgresql => (" CASCADE", Vec::new()),
        Dialect::Mysql => ("", vec!["SET FOREIGN_KEY_CHECKS = 0".to_string()]),
        Dialect::Sqlite => ("", vec!["PRAGMA foreign_keys = OFF".to_string()]),
    };
    for (key, view) in &schema.views {
        let kind = if view.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        out.push(format!("DROP {kind} IF EXISTS {}{cascade}", name(key)));
    }
    for key in schema.tables.keys() {
        out.push(format!("DROP TABLE IF EXISTS {}{cascade}", name(key)));
    }
    for key in schema.sequences.keys() {
        out.push(format!("DROP SEQUENCE IF EXISTS {}{cascade}", name(key)));
    }
    for (key, routine) in &schema.routines {
        let (bare, args) = key.split_once('(').unwrap_or((key, ""));
        let args = if dialect == Dialect::Postgresql {
            format!("({args}")
        } else {
            String::new()
        };
        let kind = routine.kind.to_uppercase();
        out.push(format!(
            "DROP {kind} IF EXISTS {}{args}{cascade}",
            name(bare.trim_end_matches(":procedure"))
        ));
    }
    for (key, user_type) in &schema.types {
        let kind = if user_type.kind == "domain" {
            "DOMAIN"
        } else {
            "TYPE"
        };
        out.push(format!("DROP {kind} IF EXISTS {}{cascade}", name(key)));
    }
    for key in &schema.schemas {
        out.push(format!("DROP SCHEMA IF EXISTS {}{cascade}", name(key)));
    }
    match dialect {
        Dialect::Mysql => out.push("SET FOREIGN_KEY_CHECKS = 1".into()),
        Dialect::Sqlite => out.push("PRAGMA foreign_keys = ON".into()),
        Dialect::Postgresql => {}
    }
    out
}

/// ` WITH (FORCE)` on PostgreSQL, where sessions left open must not keep a database alive.
fn force(dialect: Dialect) -> &'static str {
    if dialect == Dialect::Postgresql {
        " WITH (FORCE)"
    } else {
        ""
    }
}

/// Drops every object of the database `conn` is connected to (best effort).
fn empty(conn: &mut dyn Connection) {
    let dialect = conn.dialect();
    let Ok(found) = super::introspector(dialect).and_then(|i| i.read(conn)) else {
        return;
    };
    for statement in drop_everything(dialect, &found) {
        let _ = conn.execute(&statement);
    }
}

/// Ends the sessions on the scratch database `name` and waits until they have exited (ours,
/// just closed, is often still exiting): DROP DATABASE that finds one there sleeps 100 ms
/// before it looks again, the longest step of a drop. Best effort: the drop's FORCE ends what
/// is left.
fn wait_for_sessions_to_end(admin: &mut dyn Connection, name: &str) {
    let name = quote_literal(Dialect::Postgresql, name);
    let _ = admin.query(&format!(
        "SELECT pg_terminate_backend(pid, 2000) FROM pg_stat_activity \
         WHERE datname = {name} AND pid <> pg_backend_pid()"
    ));
}

impl Drop for Scratch {
    /// Best effort and silent: a drop that fails leaves a database whose name says what it is.
    fn drop(&mut self) {
        let conn = self.conn.take();
        match &mut self.cleanup {
            Cleanup::Nothing => {}
            Cleanup::DropDatabase { admin, name, .. } => {
                // PostgreSQL drops no database a session is connected to: close ours first.
                drop(conn);
                if admin.dialect() == Dialect::Postgresql {
                    wait_for_sessions_to_end(admin.as_mut(), name);
                }
                let quoted = quoted_ident(admin.dialect(), name);
                let force = force(admin.dialect());
                let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {quoted}{force}"));
            }
            Cleanup::Empty => {
                if let Some(mut conn) = conn {
                    empty(conn.as_mut());
                }
            }
        }
    }
}
