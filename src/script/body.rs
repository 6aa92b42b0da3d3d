//! The body of a revision file: `-- migrate:upgrade|downgrade|verify [dialect]` sections.

use std::path::Path;

use super::Sections;
use crate::error::Result;

/// Parses the sections from line index `body_start` (0-based) on.
pub fn parse_body(path: &Path, text: &str, body_start: usize) -> Result<Sections> {
    let _ = (path, text, body_start);
    Err(crate::error::Error::Internal(
        "parse_body: not built yet".into(),
    ))
}
