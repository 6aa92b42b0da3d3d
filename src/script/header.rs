//! The TOML header of a revision file: the leading run of `--` lines up to the first blank line
//! or `-- migrate:` marker. Errors name the file and the line.

use std::path::Path;

use crate::error::Result;

/// The header keys of a revision file.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: Option<String>,
    pub create_date: Option<String>,
    pub transactional: bool,
}

/// Parses the header; returns it and the 0-based index of the first line after it.
pub fn parse_header(path: &Path, text: &str) -> Result<(Header, usize)> {
    let _ = (path, text);
    Err(crate::error::Error::Internal(
        "parse_header: not built yet".into(),
    ))
}
