//! A folder of numbered SQL files, `<number>_<name>.sql` (`001_create_users.sql`), run in
//! number order, as the hand-rolled runners of many projects do: no down migrations, and no
//! gaps (a missing number is a missing file).

use std::path::Path;

use super::{description, read_text, versioned_name, SourceFolder, SourceMigration, SourceTool};
use crate::error::Result;

pub(super) struct Numbered;

impl SourceTool for Numbered {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let Some(stem) = name.strip_suffix(".sql") else {
            return Ok(());
        };
        let expected = "<number>_<name>.sql";
        let Some((version, desc)) = versioned_name(stem, false, path, expected, folder) else {
            return Ok(());
        };
        folder.migrations.push(SourceMigration {
            version,
            message: description(desc),
            up: read_text(path)?,
            down: None,
            transactional: true,
            files: vec![path.to_path_buf()],
            notes: Vec::new(),
        });
        Ok(())
    }

    fn forbids_gaps(&self) -> bool {
        true
    }
}
