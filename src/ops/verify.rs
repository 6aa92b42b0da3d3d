//! `verify`: integrity and referential checks of a live database, which must exist.

use crate::config::url::SqliteFile;
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::verify::{self, VerifyReport};

/// Checks the database of `url`. A missing SQLite file is an error: connecting would create an
/// empty database and report it sound.
pub(crate) fn verify(url: &DatabaseUrl) -> Result<VerifyReport> {
    if let Some(SqliteFile::Missing(path)) = url.sqlite_file() {
        return Err(Error::SqliteFileMissing { path });
    }
    verify::run_checks(crate::db::connect(url)?.as_mut())
}
