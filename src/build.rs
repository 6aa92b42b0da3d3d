//! Embedded migrations: compile a project's revision files into an application binary, so a
//! deployed service migrates itself with no files on disk.
//!
//! retort is one crate without a procedural macro, so embedding happens in two halves: the
//! application's build script calls [`embed_migrations`], which parses every file and validates
//! the graph with the CLI's checks and messages (a bad file fails the build), then writes
//! `$OUT_DIR/retort_migrations.rs`; the application's code then expands
//! [`include_migrations!`](crate::include_migrations) to the embedded list and hands it to
//! [`Migrator::embedded`](crate::Migrator::embedded).
//!
//! `Cargo.toml` of the application:
//!
//! ```toml
//! [dependencies]
//! retort = { version = "0.1", default-features = false, features = ["sqlite"] }
//!
//! [build-dependencies]
//! retort = { version = "0.1", default-features = false }
//! ```
//!
//! `build.rs`:
//!
//! ```no_run
//! fn main() {
//!     retort::build::embed_migrations("migrations/versions");
//! }
//! ```
//!
//! `main.rs`:
//!
//! ```ignore
//! static MIGRATIONS: retort::Embedded = retort::include_migrations!();
//!
//! fn main() -> retort::Result<()> {
//!     let report = retort::Migrator::embedded(MIGRATIONS)?
//!         .with_url("sqlite:///app.db")?
//!         .upgrade("heads")?;
//!     println!("database at {}", report.heads_after.join(", "));
//!     Ok(())
//! }
//! ```

// The examples are build scripts, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::output::Printer;
use crate::script;

/// The file [`embed_migrations`] writes into `$OUT_DIR`, which
/// [`include_migrations!`](crate::include_migrations) includes.
const EMBEDDED_FILE: &str = "retort_migrations.rs";

/// For a build script: embeds every `*.sql` revision file of `dir` (relative to the package's
/// `Cargo.toml`, not recursive, in file-name order as the CLI loads one version directory).
/// Parses each file and validates the graph exactly as the CLI does; on a fault, prints the
/// CLI's error message and hint and fails the build. Asks Cargo to run the build script again
/// when the directory or a file changes.
///
/// ```no_run
/// // build.rs
/// fn main() {
///     retort::build::embed_migrations("migrations/versions");
/// }
/// ```
pub fn embed_migrations(dir: impl AsRef<Path>) {
    if let Err(err) = try_embed_migrations(dir) {
        Printer::new(false, false).error(&err);
        std::process::exit(1);
    }
}

/// [`embed_migrations`] returning the error instead of failing the build; returns the path of
/// the file written.
///
/// ```no_run
/// // build.rs
/// fn main() -> retort::Result<()> {
///     let written = retort::build::try_embed_migrations("migrations/versions")?;
///     println!("cargo:warning=migrations embedded in {}", written.display());
///     Ok(())
/// }
/// ```
#[allow(
    clippy::disallowed_methods,
    reason = "cargo's build-script variables, read in the build script, not retort settings"
)]
pub fn try_embed_migrations(dir: impl AsRef<Path>) -> Result<PathBuf> {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let out_dir = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .ok_or(Error::NotInBuildScript)?;
    let embedded = embed(&manifest_dir, dir.as_ref())?;
    for warning in &embedded.warnings {
        println!("cargo:warning={warning}");
    }
    for path in &embedded.watched {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let written = out_dir.join(EMBEDDED_FILE);
    std::fs::write(&written, embedded.code)
        .map_err(|e| Error::io("write embedded migrations", &written, e))?;
    Ok(written)
}

/// What a build script emits for one version directory.
#[derive(Debug)]
struct Embedding {
    /// The Rust expression `&[(name, include_str!(absolute path)), ...]`.
    code: String,
    /// The directory and each file, for `cargo:rerun-if-changed`.
    watched: Vec<PathBuf>,
    warnings: Vec<String>,
}

/// Reads and validates the revision files of `root/dir`. Each is named `dir/<file>` as written,
/// so messages at build time and at run time name the same file.
fn embed(root: &Path, dir: &Path) -> Result<Embedding> {
    let location = root.join(dir);
    if !location.is_dir() {
        return Err(Error::EmbedDirectoryMissing { path: location });
    }
    let mut skipped = Vec::new();
    let files: Vec<PathBuf> = script::list_sql_files(&location, false, &mut skipped)?
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let mut sources = Vec::with_capacity(files.len());
    for file in &files {
        let name = dir.join(file.file_name().unwrap_or_default());
        let bytes = std::fs::read(file).map_err(|e| Error::io("read revision file", file, e))?;
        let text = script::decode(&name, &bytes)?;
        sources.push((name.to_string_lossy().replace('\\', "/"), text.to_string()));
    }
    let migrator = Migrator::from_sources(&sources)?;
    let absolute = |file: &Path| std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let mut code = String::from("&[\n");
    for ((name, _), file) in sources.iter().zip(&files) {
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            absolute(file).to_string_lossy()
        ));
    }
    code.push(']');
    let mut watched = vec![absolute(&location)];
    watched.extend(files.iter().map(|f| absolute(f)));
    let mut warnings: Vec<String> = skipped
        .iter()
        .map(|w| format!("{}: {}", w.path.display(), w.message))
        .collect();
    warnings.extend(migrator.warnings());
    Ok(Embedding {
        code,
        watched,
        warnings,
    })
}

/// Expands to the revision files that [`build::embed_migrations`](crate::build::embed_migrations)
/// embedded from the build script, as a [`retort::Embedded`](crate::Embedded) list for
/// [`Migrator::embedded`](crate::Migrator::embedded).
///
/// ```ignore
/// static MIGRATIONS: retort::Embedded = retort::include_migrations!();
/// let mut migrator = retort::Migrator::embedded(MIGRATIONS)?.with_url("sqlite:///app.db")?;
/// ```
#[macro_export]
macro_rules! include_migrations {
    () => {
        include!(concat!(env!("OUT_DIR"), "/retort_migrations.rs"))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn embeds_every_file_in_load_order_and_watches_them() {
        let tmp = tempfile::tempdir().unwrap();
        let versions = tmp.path().join("migrations/versions");
        write(
            &versions,
            "b2_second.sql",
            "-- revision = \"b2\"\n-- down_revision = \"a1\"\n\n-- migrate:upgrade\n",
        );
        write(
            &versions,
            "a1_first.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\n",
        );
        write(&versions, "notes.txt", "not a revision");
        let embedded = embed(tmp.path(), Path::new("migrations/versions")).unwrap();
        let a1 = std::path::absolute(versions.join("a1_first.sql")).unwrap();
        let b2 = std::path::absolute(versions.join("b2_second.sql")).unwrap();
        assert_eq!(
            embedded.code,
            format!(
                "&[\n    (\"migrations/versions/a1_first.sql\", include_str!({:?})),\n    (\"migrations/versions/b2_second.sql\", include_str!({:?})),\n]",
                a1.to_string_lossy(),
                b2.to_string_lossy()
            )
        );
        assert_eq!(embedded.watched.len(), 3);
        assert_eq!(embedded.watched[1], a1);
        assert!(embedded.warnings.is_empty());
    }

    #[test]
    fn a_bad_file_fails_with_the_cli_message() {
        let tmp = tempfile::tempdir().unwrap();
        let versions = tmp.path().join("v");
        write(
            &versions,
            "a1_x.sql",
            "-- revision = \"a1\"\n-- colour = 1\n",
        );
        let err = embed(tmp.path(), Path::new("v")).unwrap_err();
        // The CLI names the same file, line and key (see script::tests).
        assert!(
            err.to_string()
                .starts_with("v/a1_x.sql:2: invalid header: unknown key `colour`"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_graph_fails_with_the_cli_message() {
        let tmp = tempfile::tempdir().unwrap();
        let versions = tmp.path().join("v");
        write(
            &versions,
            "a1_x.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\n",
        );
        write(
            &versions,
            "a1_y.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\n",
        );
        let err = embed(tmp.path(), Path::new("v")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "revision `a1` is declared twice: in `v/a1_x.sql` and in `v/a1_y.sql`"
        );
    }

    #[test]
    fn a_missing_directory_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = embed(tmp.path(), Path::new("nope")).unwrap_err();
        assert!(err.to_string().contains("nope: no such directory"), "{err}");
    }

    #[test]
    fn file_name_mismatches_become_cargo_warnings() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join("v"),
            "zz_x.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\n",
        );
        let embedded = embed(tmp.path(), Path::new("v")).unwrap();
        assert_eq!(embedded.warnings.len(), 1);
        assert!(
            embedded.warnings[0].starts_with("v/zz_x.sql: header id `a1` differs"),
            "{}",
            embedded.warnings[0]
        );
    }
}
