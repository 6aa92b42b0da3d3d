//! `schema`: the live database's schema, read-only; and schema drift: that schema against
//! the one the applied revisions build.

use std::time::Duration;

use serde::Serialize;

use crate::config::url::SqliteFile;
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::db::version_table::read_heads;
use crate::db::Connection;
use crate::error::{Error, Result};
use crate::exec::live::{run_live, under_migration_lock, LiveOptions};
use crate::exec::Silent;
use crate::ops::audit::version_table;
use crate::ops::run::check_rows_known;
use crate::project::Project;
use crate::schema::cache;
use crate::schema::diff::{diff, Difference};
use crate::schema::scratch::Scratch;
use crate::schema::{self, Filter, Schema};

/// The schema of the database of `url` as `config` filters it; only the table `table` (with
/// its triggers) when given. A missing SQLite file is an error, as for `verify`.
pub(crate) fn read(config: &Config, url: &DatabaseUrl, table: Option<&str>) -> Result<Schema> {
    let missing = |path| Error::SqliteFileMissing { path };
    if let Some(SqliteFile::Missing(path)) = url.sqlite_file() {
        return Err(missing(path));
    }
    let Some(mut conn) = crate::db::connect_existing(url)? else {
        return Err(missing(url.sqlite_path().unwrap_or_default()));
    };
    let filter = Filter::new(config, url.dialect())?;
    let mut schema = schema::introspect(conn.as_mut(), &filter)?;
    if let Some(table) = table {
        if !schema.tables.contains_key(table) {
            return Err(Error::SchemaTableUnknown {
                table: table.to_string(),
            });
        }
        schema.only_table(table);
    }
    Ok(schema)
}

/// What a schema drift check found: the database's schema against the one its applied
/// revisions build on a scratch database.
#[derive(Debug, Serialize)]
pub(crate) struct DriftReport {
    /// Whether the two schemas are the same.
    pub ok: bool,
    /// The database, password redacted.
    pub database: String,
    /// The version rows the expected schema was built to.
    pub heads: Vec<String>,
    /// Where the expected schema was built (`an in-memory SQLite database`, …).
    pub built_in: String,
    /// `+` in the database only, `-` expected only, `~` different.
    pub differences: Vec<Difference>,
    /// Objects of the database retort does not model.
    pub not_compared: Vec<String>,
}

/// Compares the schema of the database of `url` with the one its applied revisions build,
/// under the migration lock (so a concurrent run cannot move the database in between). The
/// expected schema is built on `dev_url` when given, else on a scratch database beside it.
pub(crate) fn drift(
    project: &Project,
    url: &DatabaseUrl,
    dev_url: Option<&DatabaseUrl>,
    lock_timeout: Duration,
) -> Result<DriftReport> {
    let table = version_table(&project.config, url.dialect())?;
    let lock = crate::db::LockOptions::of(project.config.lock, &table);
    let Some(mut conn) = crate::db::connect_existing_locking(url, &lock)? else {
        // An SQLite file that does not exist is at base: nothing applied, nothing built.
        return Ok(DriftReport {
            ok: true,
            database: url.to_string(),
            heads: Vec::new(),
            built_in: "nothing (the database does not exist)".into(),
            differences: Vec::new(),
            not_compared: Vec::new(),
        });
    };
    under_migration_lock(
        conn.as_mut(),
        &table,
        lock_timeout,
        &mut Silent,
        |conn, _| {
            // SQLite has no session lock: its write lock, held while both sides are read, is one.
            let sqlite = conn.dialect() == Dialect::Sqlite;
            let locked = if sqlite {
                conn.begin()
                    .map_err(crate::exec::live::lock_error(lock_timeout))
            } else {
                Ok(())
            };
            let result = locked.and_then(|()| {
                let rows = read_heads(conn, &table)?;
                drift_at(project, conn, &rows, url, dev_url, lock_timeout)
            });
            if sqlite {
                let _ = conn.rollback();
            }
            result
        },
    )
}

/// The drift check of a database already locked, at version rows `rows` (also what
/// `upgrade --require-no-drift` runs under its own lock).
pub(crate) fn drift_at(
    project: &Project,
    conn: &mut dyn Connection,
    rows: &[String],
    url: &DatabaseUrl,
    dev_url: Option<&DatabaseUrl>,
    lock_timeout: Duration,
) -> Result<DriftReport> {
    check_rows_known(project, rows)?;
    let filter = Filter::new(&project.config, conn.dialect())?;
    let actual = schema::introspect(conn, &filter)?;
    let database = url.to_string();
    let dev_database = dev_url.map(ToString::to_string);
    // A server that does not say its version gets no cached schema: the build may differ.
    let entry = match conn.server_version() {
        Ok(server_version) => {
            let inputs = cache::Inputs {
                database: &database,
                dev_database: dev_database.as_deref(),
                server_version: &server_version,
                dialect: conn.dialect(),
                filter: &filter,
            };
            cache::Entry::for_build(project, rows, &inputs)?
        }
        Err(_) => None,
    };
    let (expected, built_in) = match entry.as_ref().and_then(|e| Some((e.load()?, e))) {
        Some((built, entry)) => (
            built.schema,
            format!(
                "{} (an earlier build, kept in {})",
                built.built_in,
                entry.path().display()
            ),
        ),
        None => {
            let mut scratch = scratch(project, url, dev_url)?;
            build(project, scratch.conn(), rows, lock_timeout)?;
            let built = cache::Built {
                schema: schema::introspect(scratch.conn(), &filter)?,
                built_in: scratch.shown.clone(),
            };
            if let Some(entry) = &entry {
                entry.store(&built);
            }
            (built.schema, built.built_in)
        }
    };
    let differences = diff(&expected, &actual);
    Ok(DriftReport {
        ok: differences.is_empty(),
        database,
        heads: rows.to_vec(),
        built_in,
        differences,
        not_compared: actual.not_compared,
    })
}

/// The scratch database the expected schema of `url` is built in: for a schema-per-tenant
/// target, inside the tenant's schema.
fn scratch(project: &Project, url: &DatabaseUrl, dev_url: Option<&DatabaseUrl>) -> Result<Scratch> {
    let mut scratch = Scratch::create(url, dev_url)?;
    if let Some(schema) = &project.config.schema.only_schema {
        scratch.enter_schema(schema)?;
    }
    Ok(scratch)
}

/// Upgrades the (empty) database of `conn` to exactly the revisions `heads`, one head after
/// the other, through the live execution path.
pub(crate) fn build(
    project: &Project,
    conn: &mut dyn Connection,
    heads: &[String],
    lock_timeout: Duration,
) -> Result<()> {
    let options = scratch_options(project, conn.dialect(), lock_timeout)?;
    for head in heads {
        let planner = |rows: &[String]| project.graph.plan_upgrade(rows, head);
        run_live(
            conn,
            &options,
            &project.scripts,
            &planner,
            None,
            &mut Silent,
        )
        .map_err(Error::without_report)?;
    }
    Ok(())
}

/// How revisions run in a scratch database: without an audit trail, which nothing reads
/// there (fewer statements a step).
pub(crate) fn scratch_options(
    project: &Project,
    dialect: Dialect,
    lock_timeout: Duration,
) -> Result<LiveOptions> {
    Ok(LiveOptions {
        table: version_table(&project.config, dialect)?.with_audit_table(None),
        migration_lock_wait: lock_timeout,
        timeouts: project.config.timeouts,
        rehearse: false,
        os_user: None,
        close_interrupted: false,
        count_rows: None,
    })
}

/// `check --schema-file`: whether the migrations, built from empty on a scratch database,
/// still produce the bytes of the file `path` (`schema --sql` output).
#[derive(Debug, Serialize)]
pub(crate) struct SchemaFileCheck {
    pub ok: bool,
    pub path: std::path::PathBuf,
    /// A unified diff from the file to what the migrations build; empty when they agree.
    pub diff: String,
}

/// Builds `upgrade heads` from empty on a scratch database beside `url` (or on `dev_url`) and
/// compares its `schema --sql` with the file `path`.
pub(crate) fn check_schema_file(
    project: &Project,
    url: &DatabaseUrl,
    dev_url: Option<&DatabaseUrl>,
    path: &std::path::Path,
    lock_timeout: Duration,
) -> Result<SchemaFileCheck> {
    let committed = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let mut scratch = scratch(project, url, dev_url)?;
    let heads = project.graph.plan_upgrade(&[], "heads")?.heads_after();
    build(project, scratch.conn(), &heads, lock_timeout)?;
    let filter = Filter::new(&project.config, url.dialect())?;
    let built = crate::schema::render::sql(&schema::introspect(scratch.conn(), &filter)?);
    let diff = if built == committed {
        String::new()
    } else {
        similar::TextDiff::from_lines(&committed, &built)
            .unified_diff()
            .context_radius(3)
            .header(&path.display().to_string(), "built from the migrations")
            .to_string()
    };
    Ok(SchemaFileCheck {
        ok: diff.is_empty(),
        path: path.to_path_buf(),
        diff,
    })
}
