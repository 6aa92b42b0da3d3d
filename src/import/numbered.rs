//! A folder of numbered SQL files, `<number>_<name>.sql` (`001_create_users.sql`), run in
//! number order, as the hand-rolled runners of many projects do: no down migrations, and no
//! gaps (a missing number is a missing file).

use std::path::Path;

use super::{description, read_text, SourceFolder, SourceMigration, SourceTool, Version};
use crate::error::Result;

pub(super) struct Numbered;

impl SourceTool for Numbered {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let Some(stem) = name.strip_suffix(".sql") else {
            return Ok(());
        };
        let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
        let Some(version) = Version::parse_number(&stem[..digits]) else {
            folder.skipped.push((
                path.to_path_buf(),
                "not a numbered file (`<number>_<name>.sql`)".into(),
            ));
            return Ok(());
        };
        folder.migrations.push(SourceMigration {
            version,
            message: description(stem[digits..].trim_start_matches(['_', '-'])),
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
