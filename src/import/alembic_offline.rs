//! The SQL of imported Alembic revisions, from Alembic's own offline mode: `alembic upgrade
//! heads --sql` (and `downgrade HEAD:base --sql` per head) print every revision's SQL under a
//! `-- Running upgrade A -> B` comment, which this splits per revision, dropping what retort does
//! itself (the version table's statements, `BEGIN;`/`COMMIT;`). One run per direction is about a
//! second of Python start-up; only when it fails are the revisions it did not reach run one by one
//! (`upgrade PARENT:REV --sql`, `downgrade REV:PARENT --sql`), so that one failing revision keeps
//! its placeholder and the others still get their SQL.
//!
//! Alembic reads the URL (for its dialect) from the project's `alembic.ini`: a copy of it with
//! `sqlalchemy.url` set to an empty URL of the dialect (`postgresql://`), and `here` still the
//! project's folder, is what it runs with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use regex::Regex;

use super::alembic::AlembicRevision;
use crate::config::Dialect;

/// A way to run Alembic on one project: the program and the project's `alembic.ini`.
pub(crate) struct Offline {
    program: PathBuf,
    ini: PathBuf,
    ini_text: String,
    temp: tempfile::TempDir,
}

/// Why a direction of a revision has no SQL: the command and the last line Alembic printed on
/// stderr.
pub(crate) type Failure = String;

/// What Alembic printed for one direction: each revision's SQL, or why it gave none.
#[derive(Debug, Default)]
pub(crate) struct Sections {
    sql: BTreeMap<String, String>,
    failed: BTreeMap<String, Failure>,
}

impl Sections {
    pub(crate) fn get(&self, revision: &str) -> Result<&str, Failure> {
        match (self.sql.get(revision), self.failed.get(revision)) {
            (Some(sql), _) => Ok(sql),
            (None, Some(failure)) => Err(failure.clone()),
            (None, None) => Err("Alembic's output has no section for it".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    Upgrade,
    Downgrade,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// One `alembic … --sql` run: the sections it printed whole, and how it failed.
struct Run {
    sections: Vec<(String, String)>,
    failure: Option<RunFailure>,
}

struct RunFailure {
    /// The revision whose section Alembic was printing, if it got to one.
    revision: Option<String>,
    message: String,
}

impl Offline {
    /// Alembic at `program` for the project whose versions folder is `versions`: its
    /// `alembic.ini` is in the folder above `versions` or the one above that (Alembic's
    /// `init` layouts). `Err`: why Alembic cannot be asked.
    pub(crate) fn new(program: &Path, versions: &Path) -> Result<Offline, String> {
        // Canonical, so that `versions/..` of a relative `versions` is a folder.
        let canonical = versions
            .canonicalize()
            .unwrap_or_else(|_| versions.to_path_buf());
        let ini = canonical
            .ancestors()
            .skip(1)
            .take(2)
            .map(|dir| dir.join("alembic.ini"))
            .find(|ini| ini.is_file())
            .ok_or_else(|| {
                format!(
                    "no alembic.ini in the folder above {} or the one above that",
                    versions.display()
                )
            })?;
        let ini_text = std::fs::read_to_string(&ini)
            .map_err(|e| format!("cannot read {}: {e}", ini.display()))?;
        let temp = tempfile::tempdir()
            .map_err(|e| format!("cannot make a temporary folder for Alembic's config: {e}"))?;
        Ok(Offline {
            program: program.to_path_buf(),
            ini,
            ini_text,
            temp,
        })
    }

    /// The `alembic.ini` used.
    pub(crate) fn ini(&self) -> &Path {
        &self.ini
    }

    /// The upgrade and downgrade SQL of `revisions` for `dialect`.
    pub(crate) fn render(
        &self,
        dialect: Dialect,
        revisions: &[AlembicRevision],
    ) -> Result<[Sections; 2], String> {
        let here = self.ini.parent().unwrap_or(Path::new("."));
        let ini = self.temp.path().join(format!("{dialect}.ini"));
        let text = with_url(&self.ini_text, here, &format!("{dialect}://"));
        std::fs::write(&ini, text).map_err(|e| format!("cannot write {}: {e}", ini.display()))?;
        let alembic = |args: &[String]| self.run(&ini, here, args);
        Ok([
            sections(Direction::Upgrade, revisions, alembic),
            sections(Direction::Downgrade, revisions, alembic),
        ])
    }

    /// `alembic -c INI ARGS` in `cwd` (where a relative `script_location` starts), split.
    fn run(&self, ini: &Path, cwd: &Path, args: &[String]) -> Run {
        let command = format!("alembic {}", args.join(" "));
        let out = Command::new(&self.program)
            .arg("-c")
            .arg(ini)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                return Run {
                    sections: Vec::new(),
                    failure: Some(RunFailure {
                        revision: None,
                        message: format!("cannot run {}: {e}", self.program.display()),
                    }),
                }
            }
        };
        let direction = match args.first().map(String::as_str) {
            Some("downgrade") => Direction::Downgrade,
            _ => Direction::Upgrade,
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut sections = split(&stdout, direction);
        if out.status.success() {
            return Run {
                sections,
                failure: None,
            };
        }
        // A traceback ends on stderr; Alembic's own errors are `FAILED: …` on stdout.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last_line = |text: &str| -> Option<String> {
            let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
            Some(line.to_string())
        };
        let last = last_line(&stderr)
            .or_else(|| last_line(&stdout).filter(|l| l.starts_with("FAILED:")))
            .unwrap_or_else(|| out.status.to_string());
        // The section being printed when it failed is not whole.
        let revision = sections.pop().map(|(revision, _)| revision);
        Run {
            sections,
            failure: Some(RunFailure {
                revision,
                message: format!("`{command}` failed: {last}"),
            }),
        }
    }
}

/// Every revision's SQL in `direction`: one run for the whole graph (upgrade to all heads; a
/// downgrade to base from each head), then one run per revision that it did not reach.
fn sections(
    direction: Direction,
    revisions: &[AlembicRevision],
    alembic: impl Fn(&[String]) -> Run,
) -> Sections {
    let sql = |range: String| vec![direction.name().to_string(), range, "--sql".to_string()];
    let whole: Vec<Vec<String>> = match direction {
        Direction::Upgrade => vec![sql("heads".into())],
        Direction::Downgrade => heads(revisions)
            .map(|head| sql(format!("{head}:base")))
            .collect(),
    };
    let mut out = Sections::default();
    for args in whole {
        let run = alembic(&args);
        out.sql.extend(run.sections);
        match run.failure {
            Some(RunFailure {
                revision: Some(revision),
                message,
            }) => {
                out.failed.insert(revision, message);
            }
            // Before any revision: env.py or the config, which every run would fail on alike.
            Some(RunFailure {
                revision: None,
                message,
            }) => {
                for r in revisions {
                    out.failed.insert(r.revision.clone(), message.clone());
                }
                return out;
            }
            None => {}
        }
    }
    for r in revisions {
        if out.sql.contains_key(&r.revision) || out.failed.contains_key(&r.revision) {
            continue;
        }
        // Alembic takes one revision on either side of the range; the first parent is enough,
        // as only this revision's section is taken from what it prints.
        let parent = r.down_revisions.first();
        let range = match (direction, parent) {
            (Direction::Upgrade, Some(parent)) => format!("{parent}:{}", r.revision),
            (Direction::Upgrade, None) => r.revision.clone(),
            (Direction::Downgrade, Some(parent)) => format!("{}:{parent}", r.revision),
            (Direction::Downgrade, None) => format!("{}:base", r.revision),
        };
        let run = alembic(&sql(range));
        for (revision, text) in run.sections {
            out.failed.remove(&revision);
            out.sql.insert(revision, text);
        }
        if let (Some(failure), false) = (run.failure, out.sql.contains_key(&r.revision)) {
            let message = match failure.revision {
                Some(other) if other != r.revision => {
                    format!(
                        "{} (in revision {other}, which that range runs first)",
                        failure.message
                    )
                }
                _ => failure.message,
            };
            out.failed.insert(r.revision.clone(), message);
        }
    }
    out
}

/// The revisions no other revision names as its parent, in file order.
fn heads(revisions: &[AlembicRevision]) -> impl Iterator<Item = &str> {
    let parents: BTreeSet<&str> = revisions
        .iter()
        .flat_map(|r| r.down_revisions.iter().map(String::as_str))
        .collect();
    revisions
        .iter()
        .map(|r| r.revision.as_str())
        .filter(move |r| !parents.contains(r))
}

/// The sections of Alembic's `--sql` output in order: the revision each `-- Running` comment
/// names (the new one of an upgrade, the reverted one of a downgrade) and the SQL under it.
fn split(stdout: &str, direction: Direction) -> Vec<(String, String)> {
    let prefix = format!("-- Running {} ", direction.name());
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for line in stdout.split('\n') {
        let header = line
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.split_once("->"));
        match (header, sections.last_mut()) {
            (Some((from, to)), _) => {
                let revision = match direction {
                    Direction::Upgrade => to,
                    Direction::Downgrade => from,
                };
                sections.push((revision.trim().to_string(), Vec::new()));
            }
            (None, Some((_, lines))) => lines.push(line),
            // Before the first revision: the version table's CREATE, a BEGIN.
            (None, None) => {}
        }
    }
    sections
        .into_iter()
        .map(|(revision, lines)| (revision, without_bookkeeping(&lines)))
        .collect()
}

/// `lines` without the statements retort writes itself (each followed by the blank line
/// Alembic puts after every statement) and without blank lines at either end; every other
/// byte as Alembic printed it.
fn without_bookkeeping(lines: &[&str]) -> String {
    static BOOKKEEPING: OnceLock<Regex> = OnceLock::new();
    // Alembic's version table always has the column `version_num`; its name is configurable.
    let bookkeeping = BOOKKEEPING.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:BEGIN;|COMMIT;",
            r"|INSERT INTO \S.* \(version_num\) VALUES \('[^']*'\)(?: RETURNING .+)?;",
            r"|UPDATE \S.* SET version_num='[^']*' WHERE \S.*\.version_num = '[^']*';",
            r"|DELETE FROM \S.* WHERE \S.*\.version_num = '[^']*';)$",
        ))
        .expect("a valid pattern")
    });
    let mut kept: Vec<&str> = Vec::new();
    let mut after_dropped = false;
    for line in lines {
        if after_dropped && line.is_empty() {
            after_dropped = false;
            continue;
        }
        after_dropped = bookkeeping.is_match(line);
        if !after_dropped {
            kept.push(line);
        }
    }
    let first = kept.iter().position(|l| !l.trim().is_empty());
    let last = kept.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last)) => kept[first..=last].join("\n"),
        _ => String::new(),
    }
}

/// `ini` with `sqlalchemy.url = URL` in its `[alembic]` section and `here` (which Alembic sets
/// to the folder of the file it reads, for `%(here)s`) set to `here` in `[DEFAULT]`.
fn with_url(ini: &str, here: &Path, url: &str) -> String {
    let here_line = format!("here = {}", here.display().to_string().replace('%', "%%"));
    let url_line = format!("sqlalchemy.url = {url}");
    let mut out: Vec<String> = Vec::new();
    let (mut section, mut in_url, mut has_default, mut has_url) =
        (String::new(), false, false, false);
    for line in ini.lines() {
        // A continuation line (indented) belongs to the value above it.
        if in_url && line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            continue;
        }
        in_url = false;
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            section = name.trim().to_string();
            out.push(line.to_string());
            match section.as_str() {
                "DEFAULT" => {
                    has_default = true;
                    out.push(here_line.clone());
                }
                "alembic" if !has_url => {
                    has_url = true;
                    out.push(url_line.clone());
                }
                _ => {}
            }
            continue;
        }
        let key = trimmed.split(['=', ':']).next().unwrap_or("").trim();
        if section == "alembic" && key.eq_ignore_ascii_case("sqlalchemy.url") {
            in_url = true;
            continue;
        }
        out.push(line.to_string());
    }
    let mut text = String::new();
    if !has_default {
        text.push_str(&format!("[DEFAULT]\n{here_line}\n\n"));
    }
    text.push_str(&out.join("\n"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG_UPGRADE: &str = "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n\
        -- Running upgrade  -> a1\n\nCREATE TABLE account (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);\n\n\
        INSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING alembic_version.version_num;\n\n\
        -- Running upgrade a1 -> b2\n\nALTER TABLE account ADD COLUMN email VARCHAR(200);\n\n\
        UPDATE alembic_version SET version_num='b2' WHERE alembic_version.version_num = 'a1';\n\n\
        -- Running upgrade a1, b2 -> m\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';\n\n\
        UPDATE alembic_version SET version_num='m' WHERE alembic_version.version_num = 'b2';\n\nCOMMIT;\n\n";

    #[test]
    fn splits_per_revision_without_the_version_table_and_transaction() {
        let sections = split(PG_UPGRADE, Direction::Upgrade);
        assert_eq!(
            sections,
            [
                (
                    "a1".to_string(),
                    "CREATE TABLE account (\n    id SERIAL NOT NULL, \n    PRIMARY KEY (id)\n);"
                        .to_string()
                ),
                (
                    "b2".into(),
                    "ALTER TABLE account ADD COLUMN email VARCHAR(200);".into()
                ),
                ("m".into(), String::new()),
            ]
        );
    }

    #[test]
    fn a_downgrade_section_belongs_to_the_revision_it_reverts() {
        let out = "-- Running downgrade m -> a1, b2\n\nUPDATE alembic_version SET version_num='b2' WHERE alembic_version.version_num = 'm';\n\n\
            -- Running downgrade a1 -> \n\nDROP TABLE account;\n\n\
            DELETE FROM \"Versions\" WHERE \"Versions\".version_num = 'a1';\n\n";
        let sections = split(out, Direction::Downgrade);
        assert_eq!(
            sections,
            [
                ("m".to_string(), String::new()),
                ("a1".into(), "DROP TABLE account;".into())
            ]
        );
    }

    #[test]
    fn user_sql_is_kept_byte_for_byte() {
        // Blank lines inside a statement and statements that only look alike stay.
        let out = "-- Running upgrade  -> a\n\nINSERT INTO t (version_num) VALUES (1);\n\n\
            CREATE FUNCTION f() RETURNS int AS $$\n\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;\n\n";
        let sections = split(out, Direction::Upgrade);
        assert_eq!(
            sections[0].1,
            "INSERT INTO t (version_num) VALUES (1);\n\n\
             CREATE FUNCTION f() RETURNS int AS $$\n\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;"
        );
    }

    #[test]
    fn the_config_copy_sets_the_url_and_keeps_here() {
        let ini = "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://u:p@db/app\n    ?sslmode=require\nother = 1\n\n[loggers]\nkeys = root\n";
        assert_eq!(
            with_url(ini, Path::new("/p/100%"), "sqlite://"),
            "[DEFAULT]\nhere = /p/100%%\n\n[alembic]\nsqlalchemy.url = sqlite://\nscript_location = %(here)s/migrations\nother = 1\n\n[loggers]\nkeys = root\n"
        );
        let ini = "[DEFAULT]\nx = 1\n[alembic]\nscript_location = m\n";
        assert_eq!(
            with_url(ini, Path::new("/p"), "mysql://"),
            "[DEFAULT]\nhere = /p\nx = 1\n[alembic]\nsqlalchemy.url = mysql://\nscript_location = m\n"
        );
    }

    fn rev(id: &str, parents: &[&str]) -> AlembicRevision {
        AlembicRevision {
            revision: id.into(),
            down_revisions: parents.iter().map(|p| p.to_string()).collect(),
            branch_labels: Vec::new(),
            depends_on: Vec::new(),
            message: String::new(),
            path: PathBuf::from(format!("{id}.py")),
        }
    }

    #[test]
    fn a_failing_revision_is_run_around() {
        let revisions = [rev("a", &[]), rev("b", &["a"]), rev("c", &["b"])];
        let calls = std::cell::RefCell::new(Vec::new());
        let sections = sections(Direction::Upgrade, &revisions, |args| {
            calls.borrow_mut().push(args[1].clone());
            match args[1].as_str() {
                // The whole run stops in b.
                "heads" => Run {
                    sections: vec![("a".into(), "A;".into())],
                    failure: Some(RunFailure {
                        revision: Some("b".into()),
                        message: "boom".into(),
                    }),
                },
                "b:c" => Run {
                    sections: vec![("c".into(), "C;".into())],
                    failure: None,
                },
                other => panic!("unexpected range {other}"),
            }
        });
        assert_eq!(calls.into_inner(), ["heads", "b:c"]);
        assert_eq!(sections.get("a"), Ok("A;"));
        assert_eq!(sections.get("b"), Err("boom".into()));
        assert_eq!(sections.get("c"), Ok("C;"));
    }

    #[test]
    fn a_failure_before_any_revision_is_every_revision_s() {
        let revisions = [rev("a", &[]), rev("b", &["a"])];
        let sections = sections(Direction::Downgrade, &revisions, |args| {
            assert_eq!(args, ["downgrade", "b:base", "--sql"]);
            Run {
                sections: Vec::new(),
                failure: Some(RunFailure {
                    revision: None,
                    message: "no offline mode".into(),
                }),
            }
        });
        assert_eq!(sections.get("a"), Err("no offline mode".into()));
        assert_eq!(sections.get("b"), Err("no offline mode".into()));
    }
}
