//! `[fleet.NAME]` in migrate.toml: where a fleet's targets come from. Exactly one source per
//! fleet; the targets themselves are listed when a command runs (`crate::fleet::targets`),
//! since a file, a glob or a query can change between runs.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigProblem;

/// Where the targets of a fleet come from.
#[derive(Clone, PartialEq)]
pub(crate) enum FleetSource {
    /// `urls_file`: one URL per line; `#` starts a comment; blank lines are skipped.
    UrlsFile(PathBuf),
    /// `urls = [...]`.
    Urls(Vec<String>),
    /// `sqlite_glob`: every SQLite file the pattern (made absolute) matches.
    SqliteGlob(String),
    /// `query`: one URL per row of `sql`, run on the control database `url`.
    Query { url: String, sql: String },
    /// `schemas`: PostgreSQL schemas on the server of `url`, one target each.
    Schemas { url: String, list: SchemaList },
}

/// URLs shown with their passwords hidden.
impl std::fmt::Debug for FleetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::url::redact;
        match self {
            FleetSource::UrlsFile(path) => f.debug_tuple("UrlsFile").field(path).finish(),
            FleetSource::Urls(urls) => f
                .debug_tuple("Urls")
                .field(&urls.iter().map(|u| redact(u)).collect::<Vec<_>>())
                .finish(),
            FleetSource::SqliteGlob(pattern) => f.debug_tuple("SqliteGlob").field(pattern).finish(),
            FleetSource::Query { url, sql } => f
                .debug_struct("Query")
                .field("url", &redact(url))
                .field("sql", sql)
                .finish(),
            FleetSource::Schemas { url, list } => f
                .debug_struct("Schemas")
                .field("url", &redact(url))
                .field("list", list)
                .finish(),
        }
    }
}

/// How the schemas of a schema-per-tenant fleet are named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SchemaList {
    /// `sql`: one schema name per row.
    Query(String),
    /// `list = [...]`.
    Names(Vec<String>),
    /// `glob = "tenant_*"`: every schema of the database whose name matches.
    Glob(String),
}

/// `[fleet.NAME]` as TOML gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    urls_file: Option<Spanned<String>>,
    urls: Option<Vec<Spanned<String>>>,
    sqlite_glob: Option<Spanned<String>>,
    query: Option<RawQuery>,
    schemas: Option<RawSchemas>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    url: Spanned<String>,
    sql: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchemas {
    url: Spanned<String>,
    sql: Option<Spanned<String>>,
    list: Option<Vec<Spanned<String>>>,
    glob: Option<Spanned<String>>,
}

/// Expands `${VAR}` in the value of a key, or says why it cannot.
pub(super) type Expand<'a> =
    dyn Fn(&str, &Spanned<String>) -> std::result::Result<String, ConfigProblem> + 'a;

impl RawFleet {
    /// The source of fleet `name`; `root` is the directory of migrate.toml.
    pub(super) fn resolve(
        &self,
        name: &str,
        line: usize,
        root: &Path,
        expand: &Expand<'_>,
    ) -> std::result::Result<FleetSource, ConfigProblem> {
        let key = |k: &str| format!("fleet.{name}.{k}");
        let given: Vec<&'static str> = [
            ("urls_file", self.urls_file.is_some()),
            ("urls", self.urls.is_some()),
            ("sqlite_glob", self.sqlite_glob.is_some()),
            ("query", self.query.is_some()),
            ("schemas", self.schemas.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if given.len() != 1 {
            return Err(ConfigProblem::FleetSources {
                fleet: name.to_string(),
                line,
                given: given.iter().map(|k| k.to_string()).collect(),
            });
        }
        if let Some(file) = &self.urls_file {
            return Ok(FleetSource::UrlsFile(
                root.join(expand(&key("urls_file"), file)?),
            ));
        }
        if let Some(urls) = &self.urls {
            let urls = urls
                .iter()
                .map(|url| expand(&key("urls"), url))
                .collect::<Result<_, _>>()?;
            return Ok(FleetSource::Urls(urls));
        }
        if let Some(pattern) = &self.sqlite_glob {
            let pattern = root.join(expand(&key("sqlite_glob"), pattern)?);
            return Ok(FleetSource::SqliteGlob(
                pattern.to_string_lossy().into_owned(),
            ));
        }
        if let Some(query) = &self.query {
            return Ok(FleetSource::Query {
                url: expand(&key("query.url"), &query.url)?,
                sql: expand(&key("query.sql"), &query.sql)?,
            });
        }
        let Some(schemas) = &self.schemas else {
            return Err(ConfigProblem::FleetSources {
                fleet: name.to_string(),
                line,
                given: Vec::new(),
            });
        };
        let url = expand(&key("schemas.url"), &schemas.url)?;
        let list = match (&schemas.sql, &schemas.list, &schemas.glob) {
            (Some(sql), None, None) => SchemaList::Query(expand(&key("schemas.sql"), sql)?),
            (None, Some(names), None) => SchemaList::Names(
                names
                    .iter()
                    .map(|n| expand(&key("schemas.list"), n))
                    .collect::<Result<_, _>>()?,
            ),
            (None, None, Some(glob)) => SchemaList::Glob(expand(&key("schemas.glob"), glob)?),
            _ => {
                return Err(ConfigProblem::FleetSchemaSources {
                    fleet: name.to_string(),
                    line,
                })
            }
        };
        Ok(FleetSource::Schemas { url, list })
    }
}
