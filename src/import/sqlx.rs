//! sqlx: `<version>_<description>.sql` (simple, irreversible) or
//! `<version>_<description>.up.sql` and `.down.sql` pairs; a first line `-- no-transaction` runs
//! the migration outside a transaction.

use std::path::Path;

use super::{add_half, description, read_text, versioned_name, SourceFolder, SourceTool};
use crate::error::Result;

pub(super) struct Sqlx;

impl SourceTool for Sqlx {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let Some(stem) = name.strip_suffix(".sql") else {
            return Ok(());
        };
        let (stem, half) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
            (Some(stem), _) => (stem, Some(true)),
            (None, Some(stem)) => (stem, Some(false)),
            _ => (stem, None),
        };
        let expected = "<version>_<description>.sql";
        let Some((version, desc)) = versioned_name(stem, true, path, expected, folder) else {
            return Ok(());
        };
        let text = read_text(path)?;
        // sqlx reads `-- no-transaction` on the first line only.
        let no_transaction = text
            .lines()
            .next()
            .is_some_and(|l| l.trim() == "-- no-transaction");
        add_half(
            folder,
            version,
            description(desc),
            path,
            text,
            half != Some(false),
        )?;
        if let Some(m) = folder
            .migrations
            .iter_mut()
            .find(|m| m.files.iter().any(|f| f == path))
        {
            if no_transaction && half != Some(false) {
                m.transactional = false;
            }
        }
        Ok(())
    }
}
