//! Revision files: parsing one file (`parse_revision`) and scanning version locations (`scan`).
//!
//! The parsers are pure (text in, `Script` out); `scan` is the only function here that touches
//! the file system. This module knows nothing about the graph: ids are plain strings.

pub(crate) mod body;
pub(crate) mod cache;
pub(crate) mod checksum;
pub(crate) mod directive;
pub(crate) mod header;
pub(crate) mod id;
pub(crate) mod split;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::config::Dialect;
use crate::error::{Error, Result, ScriptProblem};
use crate::parallel;

/// What a revision says about itself: its header without `transactional`. The one model of a
/// revision's identity and relations, shared by the file, the graph's input, a new revision's
/// template and `--json` output (whose first fields it is, in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionMeta {
    pub revision: String,
    /// Parents by `down_revision`, in file order; empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    /// As written: revision ids, unique prefixes or branch labels.
    pub depends_on: Vec<String>,
    pub message: Option<String>,
    /// RFC 3339 as written, e.g. `2026-11-23T10:15:02Z`.
    pub create_date: Option<String>,
}

/// One revision file, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub meta: RevisionMeta,
    /// `false` runs the revision outside a transaction.
    pub transactional: bool,
    /// The header's `lock_timeout`, `statement_timeout` and `retries`.
    #[serde(default)]
    pub timeouts: crate::config::TimeoutOverrides,
    pub path: PathBuf,
    pub sections: Sections,
    /// The file's `-- retort:allow` lint suppressions.
    pub allows: Vec<directive::Allow>,
}

/// The body of a revision file: the generic sections and per-dialect replacements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sections {
    pub upgrade: Option<Section>,
    pub downgrade: Option<Section>,
    pub verify: Option<Section>,
    /// Data checks `retort test` runs after the upgrade on its scratch database.
    pub test: Option<Section>,
    /// `-- migrate:<kind> <dialect>` sections, which replace the generic one for that dialect.
    pub dialect_specific: Vec<(SectionKind, Dialect, Section)>,
}

/// Which part of a revision a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SectionKind {
    Upgrade,
    Downgrade,
    Verify,
    /// `-- migrate:test`: queries that must return true, run only by `retort test`.
    Test,
}

/// The SQL text of one section and where it starts in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub sql: String,
    /// 1-based line number of the first line of `sql` in the file (the line after the marker).
    pub first_line: usize,
}

impl Sections {
    /// The section of `kind` that applies to `dialect`: the dialect-qualified one if present,
    /// else the generic one.
    pub fn get(&self, kind: SectionKind, dialect: Dialect) -> Option<&Section> {
        self.dialect_specific
            .iter()
            .find(|(k, d, _)| *k == kind && *d == dialect)
            .map(|(_, _, s)| s)
            .or(match kind {
                SectionKind::Upgrade => self.upgrade.as_ref(),
                SectionKind::Downgrade => self.downgrade.as_ref(),
                SectionKind::Verify => self.verify.as_ref(),
                SectionKind::Test => self.test.as_ref(),
            })
    }

    /// A revision without any downgrade section cannot be reverted.
    pub fn is_reversible(&self) -> bool {
        self.downgrade.is_some()
            || self
                .dialect_specific
                .iter()
                .any(|(k, _, _)| *k == SectionKind::Downgrade)
    }
}

/// A non-fatal finding while loading files (e.g. header id differs from file-name prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub path: PathBuf,
    pub message: String,
}

/// Parses one revision file's text; a leading byte-order mark is ignored. Pure: `path` is used
/// only in messages and stored in the result.
pub fn parse_revision(path: &Path, text: &str) -> Result<Script> {
    let (header, body_start) = header::parse_header(path, text)?;
    let sections = body::parse_body(path, text, body_start)?;
    Ok(Script {
        meta: header.meta,
        transactional: header.transactional,
        timeouts: header.timeouts,
        path: path.to_path_buf(),
        sections,
        allows: directive::allows(text),
    })
}

/// Parses revision files given as text (an embedding application's), in the given order, as a
/// scan loads files. Fails on the first bad file.
pub(crate) fn load_sources<'a>(
    sources: impl IntoIterator<Item = (&'a Path, &'a str)>,
) -> Result<(Vec<Script>, Vec<Warning>)> {
    let mut report = ScanReport::default();
    for (path, text) in sources {
        report.add(path, parse_revision(path, text)?);
    }
    Ok((report.scripts, report.warnings))
}

/// Everything found in the version locations, including the files that failed to parse.
#[derive(Debug, Default)]
pub(crate) struct ScanReport {
    pub scripts: Vec<Script>,
    pub warnings: Vec<Warning>,
    /// One error per file that could not be read or parsed (`check` reports them all).
    pub errors: Vec<crate::error::Error>,
}

/// Reads every `*.sql` revision file of `locations` (each in file-name order, locations in the
/// given order; subfolders too when `recursive`), through the cache in `cache_dir` if given
/// (see `script::cache`). Missing locations are skipped. Fails on the first bad file.
pub fn scan(
    locations: &[PathBuf],
    recursive: bool,
    cache_dir: Option<&Path>,
) -> Result<(Vec<Script>, Vec<Warning>)> {
    let mut report = scan_all(locations, recursive, cache_dir)?;
    if !report.errors.is_empty() {
        return Err(report.errors.remove(0));
    }
    Ok((report.scripts, report.warnings))
}

impl ScanReport {
    /// Adds a script loaded from `path`, with a warning when the file name does not start with
    /// its id.
    fn add(&mut self, path: &Path, script: Script) {
        if let Some(message) = file_name_mismatch(path, &script.meta.revision) {
            self.warnings.push(Warning {
                path: path.to_path_buf(),
                message,
            });
        }
        self.scripts.push(script);
    }
}

/// Like `scan`, but goes on past bad files and collects their errors. Only a location that
/// cannot be listed stops it.
pub(crate) fn scan_all(
    locations: &[PathBuf],
    recursive: bool,
    cache_dir: Option<&Path>,
) -> Result<ScanReport> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut loaded = HashSet::new();
    let existing: Vec<&PathBuf> = locations.iter().filter(|l| l.is_dir()).collect();
    let mut skipped = Vec::new();
    for location in &existing {
        for (path, canonical_dir) in list_sql_files(location, recursive, &mut skipped)? {
            // Overlapping locations reach one file twice; Alembic warns and loads it once.
            // One location cannot overlap itself: a walk does not follow links to folders.
            let first_time = existing.len() == 1
                || path
                    .file_name()
                    .is_none_or(|name| loaded.insert(canonical_dir.join(name).into_os_string()));
            files.push((path, first_time));
        }
    }
    let to_load: Vec<&PathBuf> = files
        .iter()
        .filter(|(_, load)| *load)
        .map(|(p, _)| p)
        .collect();
    let mut parsed = match cache_dir {
        Some(dir) => cache::load(dir, &to_load)?,
        None => parallel::map(to_load, |p| read_revision(p))?,
    }
    .into_iter();
    let mut report = ScanReport {
        warnings: skipped,
        ..ScanReport::default()
    };
    for (path, load) in &files {
        if !load {
            report.warnings.push(Warning {
                path: path.clone(),
                message: "reached twice through overlapping version locations; loaded once \
                          (make `version_locations` unique)"
                    .into(),
            });
            continue;
        }
        match parsed.next() {
            Some(Ok(script)) => report.add(path, script),
            Some(Err(e)) => report.errors.push(e),
            None => return Err(Error::Internal("a revision file was not loaded".into())),
        }
    }
    Ok(report)
}

/// The largest revision file retort reads. Files are read whole (and parsed into a copy), so a
/// stray dump in a versions folder would otherwise take twice its size in memory; 64 MiB is
/// far beyond any hand-written revision and small enough for any machine that runs migrations.
pub(crate) const MAX_REVISION_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and parses one revision file.
fn read_revision(path: &Path) -> Result<Script> {
    parse_file(path, open_revision(path)?)
}

/// Opens a revision file without blocking: a path replaced by a FIFO since it was listed would
/// otherwise hang the open until a writer appears (`parse_file` then refuses it).
pub(super) fn open_revision(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| Error::io("read revision file", path, e))
}

/// Reads `file` (opened from `path`) to its end in plain reads and parses it: `fs::read` and
/// `read_to_end` first probe the size (`statx` and `lseek`), two more system calls per file
/// than revision files need. Only a regular file within `MAX_REVISION_FILE_BYTES` is read.
fn parse_file(path: &Path, mut file: std::fs::File) -> Result<Script> {
    use std::io::Read;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("read revision file", path, e))?;
    if !meta.is_file() {
        return Err(Error::RevisionFileNotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_REVISION_FILE_BYTES {
        return Err(Error::RevisionFileTooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit: MAX_REVISION_FILE_BYTES,
        });
    }
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read revision file", path, e)),
        }
    }
    parse_revision(path, decode(path, &bytes)?)
}

/// The `*.sql` files of `dir` in byte order of their names; with `recursive`, then those of each
/// subfolder (sorted), depth first, as Alembic's `os.walk` does (not following links to
/// folders). Each comes with its canonical folder, which identifies a file reached through
/// overlapping locations; folders are resolved once, not every file, since a history of
/// 10,000 files would otherwise spend most of its time in `readlink`. A `*.sql` entry that is
/// not a regular file (a FIFO would hang the read, a device never end) is left out with a
/// warning in `skipped`; a link to a regular file is read, a dangling link fails its read.
pub(crate) fn list_sql_files(
    dir: &Path,
    recursive: bool,
    skipped: &mut Vec<Warning>,
) -> Result<Vec<(PathBuf, Rc<Path>)>> {
    let canonical_dir: Rc<Path> = std::fs::canonicalize(dir)
        .map_err(|e| Error::io("resolve version location", dir, e))?
        .into();
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io("list version location", dir, e))?
        // The file type comes with the directory listing: no extra stat per regular file.
        .map(|entry| entry.and_then(|e| Ok((e.file_name(), e.file_type()?))))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("list version location", dir, e))?;
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Hidden files are editor swap and lock files (`.#x.sql`), never revisions.
    entries.retain(|(name, _)| !name.as_encoded_bytes().starts_with(b"."));
    let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(_, kind)| kind.is_dir());
    let mut found: Vec<(PathBuf, Rc<Path>)> = Vec::new();
    for (name, kind) in files {
        if Path::new(&name).extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let path = dir.join(&name);
        match not_a_regular_file(&path, kind) {
            Some(what) => skipped.push(Warning {
                path,
                message: format!("skipped: {what}, not a regular file"),
            }),
            None => found.push((path, Rc::clone(&canonical_dir))),
        }
    }
    if recursive {
        for (sub, _) in dirs {
            found.extend(list_sql_files(&dir.join(sub), true, skipped)?);
        }
    }
    Ok(found)
}

/// What the entry at `path` is when it is neither a regular file nor a link to one; `None` for
/// a dangling link, whose read then reports the missing target.
fn not_a_regular_file(path: &Path, kind: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = if kind.is_symlink() {
        std::fs::metadata(path).ok()?.file_type()
    } else {
        kind
    };
    Some(if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "a link to a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    })
}

/// The file's text without a UTF-8 byte-order mark; non-UTF-8 is an error naming where it starts.
pub(crate) fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        Error::Script {
            path: path.to_path_buf(),
            line,
            problem: ScriptProblem::NotUtf8 { offset },
        }
    })
}

/// A warning when the file name does not start with the header's id (`<id>_slug.sql` or `<id>.sql`).
fn file_name_mismatch(path: &Path, revision: &str) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy();
    let matches = stem == revision
        || stem
            .strip_prefix(revision)
            .is_some_and(|rest| rest.starts_with('_'));
    (!matches).then(|| {
        let prefix = stem.split('_').next().unwrap_or(&stem);
        format!(
            "header id `{revision}` differs from file-name prefix `{prefix}`; the header wins \
             (rename the file to `{revision}_<slug>.sql` to avoid confusion)"
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The line and message of the `Error::Script` for `path`; panics on anything else.
    pub(crate) fn script_error<T: std::fmt::Debug>(
        result: Result<T>,
        path: &str,
    ) -> (usize, String) {
        match result {
            Err(Error::Script {
                path: p,
                line,
                problem,
            }) => {
                assert_eq!(p, Path::new(path));
                (line, problem.to_string())
            }
            other => panic!("expected a script error for {path}, got {other:?}"),
        }
    }

    fn revision_text(id: &str) -> String {
        format!("-- revision = \"{id}\"\n\n-- migrate:upgrade\nSELECT 1;\n")
    }

    fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn ids(scripts: &[Script]) -> Vec<&str> {
        scripts.iter().map(|s| s.meta.revision.as_str()).collect()
    }

    #[test]
    fn parse_revision_combines_header_and_body() {
        let text = "-- revision = \"ab12\"\n-- down_revision = \"cd34\"\n-- transactional = false\n\n-- migrate:upgrade\nCREATE TABLE t (id INT);\n\n-- migrate:downgrade\nDROP TABLE t;\n";
        let script = parse_revision(Path::new("v/ab12_t.sql"), text).unwrap();
        assert_eq!(script.meta.revision, "ab12");
        assert_eq!(script.meta.down_revisions, ["cd34"]);
        assert!(!script.transactional);
        assert_eq!(script.path, Path::new("v/ab12_t.sql"));
        let upgrade = script.sections.upgrade.unwrap();
        assert_eq!(
            (upgrade.sql.as_str(), upgrade.first_line),
            ("CREATE TABLE t (id INT);", 6)
        );
        assert_eq!(script.sections.downgrade.unwrap().first_line, 9);
    }

    #[test]
    fn files_load_in_byte_order_per_location_in_config_order() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        write(&a, "b2_x.sql", revision_text("b2").as_bytes());
        write(&a, "B1_x.sql", revision_text("B1").as_bytes());
        write(&a, "a3_x.sql", revision_text("a3").as_bytes());
        write(&a, "notes.txt", b"not a revision");
        write(&a, ".#a9_x.sql", b"editor lock file");
        write(&a, "sub/c1_x.sql", revision_text("c1").as_bytes());
        write(&b, "00_x.sql", revision_text("00").as_bytes());
        let missing = tmp.path().join("missing");
        let (scripts, warnings) = scan(&[b.clone(), missing, a.clone()], false, None).unwrap();
        assert_eq!(ids(&scripts), ["00", "B1", "a3", "b2"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn recursive_scan_walks_top_down_like_os_walk() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "z1_x.sql", revision_text("z1").as_bytes());
        write(root, "b/b1_x.sql", revision_text("b1").as_bytes());
        write(root, "a/y1_x.sql", revision_text("y1").as_bytes());
        write(root, "a/deeper/d1_x.sql", revision_text("d1").as_bytes());
        write(root, "a/a1_x.sql", revision_text("a1").as_bytes());
        let (scripts, _) = scan(&[root.to_path_buf()], true, None).unwrap();
        assert_eq!(ids(&scripts), ["z1", "a1", "y1", "d1", "b1"]);
    }

    #[test]
    fn overlapping_locations_load_a_file_once_with_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("v");
        write(&root, "a1_x.sql", revision_text("a1").as_bytes());
        write(&root, "sub/b1_x.sql", revision_text("b1").as_bytes());
        let (scripts, warnings) = scan(&[root.clone(), root.join("sub")], true, None).unwrap();
        assert_eq!(ids(&scripts), ["a1", "b1"]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, root.join("sub").join("b1_x.sql"));
        assert!(warnings[0].message.contains("loaded once"));
    }

    #[test]
    fn file_name_prefix_mismatch_is_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "ab12_ok.sql", revision_text("ab12").as_bytes());
        write(tmp.path(), "cd34.sql", revision_text("cd34").as_bytes());
        write(
            tmp.path(),
            "ef56x_bad.sql",
            revision_text("ef56").as_bytes(),
        );
        let (scripts, warnings) = scan(&[tmp.path().to_path_buf()], false, None).unwrap();
        assert_eq!(scripts.len(), 3);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].path, tmp.path().join("ef56x_bad.sql"));
        assert!(
            warnings[0]
                .message
                .starts_with("header id `ef56` differs from file-name prefix `ef56x`"),
            "{}",
            warnings[0].message
        );
    }

    #[test]
    fn a_bom_is_stripped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut text = b"\xef\xbb\xbf".to_vec();
        text.extend_from_slice(revision_text("ab").as_bytes());
        write(tmp.path(), "ab_x.sql", &text);
        let (scripts, _) = scan(&[tmp.path().to_path_buf()], false, None).unwrap();
        assert_eq!(ids(&scripts), ["ab"]);
        assert_eq!(scripts[0].sections.upgrade.as_ref().unwrap().first_line, 4);
    }

    #[test]
    fn non_utf8_names_file_line_and_offset() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "ab_x.sql",
            b"-- revision = \"ab\"\n\n-- migrate:upgrade\nINSERT INTO t VALUES ('caf\xe9');\n",
        );
        let (line, message) = script_error(
            scan(&[tmp.path().to_path_buf()], false, None),
            path.to_str().unwrap(),
        );
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "not valid UTF-8 (first bad byte at offset 65); save the file as UTF-8"
        );
    }

    #[test]
    fn scan_all_collects_every_bad_file_and_keeps_the_good_ones() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a1_x.sql", b"-- revision = 1\n");
        write(tmp.path(), "b1_x.sql", revision_text("b1").as_bytes());
        write(tmp.path(), "c1_x.sql", b"\xff");
        std::os::unix::fs::symlink(tmp.path().join("gone"), tmp.path().join("d1_x.sql")).unwrap();
        let report = scan_all(&[tmp.path().to_path_buf()], false, None).unwrap();
        assert_eq!(ids(&report.scripts), ["b1"]);
        let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains("a1_x.sql:1: `revision` must be a string"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("c1_x.sql:1: not valid UTF-8"),
            "{errors:?}"
        );
        assert!(
            errors[2].starts_with("cannot read revision file `") && errors[2].contains("d1_x.sql"),
            "{errors:?}"
        );
        // `scan` stops at the first.
        let err = scan(&[tmp.path().to_path_buf()], false, None).unwrap_err();
        assert_eq!(err.to_string(), errors[0]);
    }

    #[test]
    fn a_malformed_file_fails_the_scan_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "ab_x.sql",
            b"-- revision = \"ab\"\n-- colour = 1\n",
        );
        let err = scan(&[tmp.path().to_path_buf()], false, None).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "{}:2: invalid header: unknown key `colour`",
                path.display()
            )),
            "{err}"
        );
    }

    proptest::proptest! {
        /// Files assembled from header, marker and SQL-like lines never panic the parsers, and an
        /// error always names a line of the file.
        #[test]
        fn arbitrary_revision_files_never_panic(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("-- revision = \"ab\"".to_string()),
                    proptest::strategy::Just(String::new()),
                    "-- migrate:(upgrade|downgrade|verify|x)( (sqlite|postgresql|mysql|oracle))?",
                    "-- [a-z_]{1,12} = (\"[a-z]{0,5}\"|\\[\"[a-z]{0,3}\"\\]|true|1)",
                    "\\PC{0,30}",
                ],
                0..12,
            )
        ) {
            let text = lines.join("\n");
            if let Err(Error::Script { line, .. }) = parse_revision(Path::new("x.sql"), &text) {
                proptest::prop_assert!(line >= 1 && line <= lines.len().max(1), "line {} of {}", line, lines.len());
            }
        }
    }
}
