//! The targets of a fleet, listed from its source (`[fleet.NAME]`, see
//! [`FleetSource`](crate::config::fleet::FleetSource)) each time a command runs.

use std::path::Path;

use crate::config::fleet::{FleetSource, SchemaList};
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::db;
use crate::error::{Error, Result};

/// One database (or PostgreSQL schema) of a fleet.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// What a run connects to: for a schema, the server's URL with its `search_path`.
    pub(crate) url: DatabaseUrl,
    /// Schema-per-tenant: the schema holding this tenant's tables, version and audit tables.
    pub(crate) schema: Option<String>,
    /// How the target is shown: the URL with its password hidden, `#schema` for a schema.
    pub(crate) name: String,
}

impl Target {
    fn database(url: DatabaseUrl) -> Target {
        Target {
            name: url.to_string(),
            url,
            schema: None,
        }
    }

    /// The schema `schema` of the PostgreSQL database `server`: sessions start with
    /// `search_path` set to it, so a revision's unqualified names land in the tenant's schema.
    fn schema(server: &DatabaseUrl, schema: &str) -> Result<Target> {
        let raw = server.expose_secret();
        let separator = if raw.contains('?') { '&' } else { '?' };
        let option = percent_encode(&format!("-c search_path={}", quote_identifier(schema)));
        Ok(Target {
            url: DatabaseUrl::parse(&format!("{raw}{separator}options={option}"))?,
            schema: Some(schema.to_string()),
            name: format!("{server}#{schema}"),
        })
    }

    /// The config a run on this target uses: a schema's version and audit tables are its own.
    pub(crate) fn config(&self, base: &Config) -> Config {
        match &self.schema {
            None => base.clone(),
            Some(schema) => base.in_schema(schema),
        }
    }
}

/// Lists the targets of the fleet `name` of `config`, in the source's order (a glob's in path
/// order), each once.
pub(crate) fn list(config: &Config, name: &str) -> Result<Vec<Target>> {
    let failed = |detail: String| Error::FleetListFailed {
        fleet: name.to_string(),
        detail: crate::config::url::scrub_known(&detail),
    };
    let dir = config.path.parent().unwrap_or(Path::new(""));
    let from_file = |raw: &str| DatabaseUrl::parse(raw).map(|url| url.relative_to(dir));
    let mut targets = match config.fleet(name)? {
        FleetSource::UrlsFile(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| failed(format!("cannot read `{}`: {e}", path.display())))?;
            urls_of_file(&text)
                .map(|(line, raw)| {
                    from_file(raw)
                        .map(Target::database)
                        .map_err(|e| failed(format!("{}, line {line}: {e}", path.display())))
                })
                .collect::<Result<Vec<_>>>()?
        }
        FleetSource::Urls(urls) => urls
            .iter()
            .map(|raw| from_file(raw).map(Target::database))
            .collect::<Result<_>>()?,
        FleetSource::SqliteGlob(pattern) => {
            let paths = glob::glob(pattern)
                .map_err(|e| failed(format!("`sqlite_glob` `{pattern}`: {e}")))?;
            let mut found = Vec::new();
            for path in paths {
                let path = path.map_err(|e| failed(e.to_string()))?;
                if path.is_file() {
                    let url = format!("sqlite:///{}", path.display());
                    found.push(Target::database(DatabaseUrl::parse(&url)?));
                }
            }
            found
        }
        FleetSource::Query { url, sql } => {
            let control = DatabaseUrl::parse(url)?;
            first_column(&control, sql)
                .map_err(|e| failed(format!("the query on `{control}`: {e}")))?
                .iter()
                .map(|raw| from_file(raw).map(Target::database))
                .collect::<Result<_>>()?
        }
        FleetSource::Schemas { url, list } => {
            let server = DatabaseUrl::parse(url)?;
            if server.dialect() != Dialect::Postgresql {
                return Err(failed(format!(
                    "`schemas` needs a PostgreSQL URL; `{server}` is {}",
                    server.dialect()
                )));
            }
            let names = match list {
                SchemaList::Names(names) => names.clone(),
                SchemaList::Query(sql) => first_column(&server, sql)
                    .map_err(|e| failed(format!("the query on `{server}`: {e}")))?,
                SchemaList::Glob(glob) => {
                    let pattern = glob::Pattern::new(glob)
                        .map_err(|e| failed(format!("`schemas.glob` `{glob}`: {e}")))?;
                    let all =
                        first_column(&server, "SELECT nspname FROM pg_namespace ORDER BY nspname")
                            .map_err(|e| {
                                failed(format!("listing the schemas of `{server}`: {e}"))
                            })?;
                    all.into_iter().filter(|n| pattern.matches(n)).collect()
                }
            };
            names
                .iter()
                .map(|schema| Target::schema(&server, schema))
                .collect::<Result<_>>()?
        }
    };
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.name.clone()));
    if targets.is_empty() {
        return Err(Error::FleetEmpty {
            fleet: name.to_string(),
        });
    }
    Ok(targets)
}

/// The URLs of a `urls_file` with their line numbers: `#` starts a comment, blank lines are
/// skipped.
fn urls_of_file(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let url = line.split_once('#').map_or(line, |(url, _)| url).trim();
        (!url.is_empty()).then_some((i + 1, url))
    })
}

/// The first column of every row `sql` returns on `url`, as text.
fn first_column(url: &DatabaseUrl, sql: &str) -> Result<Vec<String>> {
    let mut conn = db::connect(url)?;
    let rows = conn.query(sql).map_err(|cause| Error::FleetQueryFailed {
        sql: sql.to_string(),
        cause,
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.into_iter().next().and_then(|v| v.as_text()))
        .collect())
}

/// A PostgreSQL identifier, double-quoted when it is not plain lower-case.
fn quote_identifier(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `text` percent-encoded for a URL's query (all but unreserved characters).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_file_skips_comments_and_blank_lines() {
        let text = "# tenants\nsqlite:///a.db\n\n  sqlite:///b.db  # second\n#sqlite:///c.db\n";
        let urls: Vec<_> = urls_of_file(text).collect();
        assert_eq!(urls, [(2, "sqlite:///a.db"), (4, "sqlite:///b.db")]);
    }

    #[test]
    fn a_schema_target_sets_its_search_path_and_hides_the_password() {
        let server = DatabaseUrl::parse("postgresql://app:S3CRET@db/app?sslmode=prefer").unwrap();
        let target = Target::schema(&server, "Tenant 1").unwrap();
        assert_eq!(
            target.name,
            "postgresql://app:***@db/app?sslmode=prefer#Tenant 1"
        );
        assert!(target
            .url
            .expose_secret()
            .ends_with("?sslmode=prefer&options=-c%20search_path%3D%22Tenant%201%22"));
        let plain = Target::schema(&DatabaseUrl::parse("postgresql://h/d").unwrap(), "t_1");
        assert_eq!(
            plain.unwrap().url.expose_secret(),
            "postgresql://h/d?options=-c%20search_path%3Dt_1"
        );
    }
}
