//! Revision files: parsing one file (`parse_revision`) and scanning version locations (`scan`).
//!
//! The parsers are pure (text in, `Script` out); `scan` is the only function here that touches
//! the file system. This module knows nothing about the graph: ids are plain strings.

pub mod body;
pub mod header;
pub mod id;
pub mod split;

use std::path::{Path, PathBuf};

use crate::config::Dialect;
use crate::error::Result;

/// One revision file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub revision: String,
    /// Parents by `down_revision`, in file order; empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    /// As written: revision ids, unique prefixes or branch labels.
    pub depends_on: Vec<String>,
    pub message: Option<String>,
    pub create_date: Option<String>,
    /// `false` runs the revision outside a transaction.
    pub transactional: bool,
    pub path: PathBuf,
    pub sections: Sections,
}

/// The body of a revision file: the generic sections and per-dialect replacements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sections {
    pub upgrade: Option<Section>,
    pub downgrade: Option<Section>,
    pub verify: Option<Section>,
    /// `-- migrate:<kind> <dialect>` sections, which replace the generic one for that dialect.
    pub dialect_specific: Vec<(SectionKind, Dialect, Section)>,
}

/// Which part of a revision a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Upgrade,
    Downgrade,
    Verify,
}

/// The SQL text of one section and where it starts in the file.
#[derive(Debug, Clone, PartialEq)]
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

/// Parses one revision file's text. Pure: `path` is used only in messages and stored in the result.
pub fn parse_revision(path: &Path, text: &str) -> Result<Script> {
    let (header, body_start) = header::parse_header(path, text)?;
    let sections = body::parse_body(path, text, body_start)?;
    Ok(Script {
        revision: header.revision,
        down_revisions: header.down_revisions,
        branch_labels: header.branch_labels,
        depends_on: header.depends_on,
        message: header.message,
        create_date: header.create_date,
        transactional: header.transactional,
        path: path.to_path_buf(),
        sections,
    })
}

/// Reads every `*.sql` revision file of `locations` (each in file-name order, locations in the
/// given order; subfolders too when `recursive`). Missing locations are skipped.
pub fn scan(locations: &[PathBuf], recursive: bool) -> Result<(Vec<Script>, Vec<Warning>)> {
    let _ = (locations, recursive);
    Err(crate::error::Error::Internal("scan: not built yet".into()))
}
