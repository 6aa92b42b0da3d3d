//! `verify`: integrity and referential checks of a live database, which must exist.

use crate::config::url::SqliteFile;
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::verify::{self, VerifyReport};

/// Checks the database of `url`, read-only (verify changes nothing, so a read-only file is
/// fine). A missing SQLite file is an error: there is nothing to report sound.
pub(crate) fn verify(url: &DatabaseUrl) -> Result<VerifyReport> {
    let missing = |path| Error::SqliteFileMissing { path };
    if let Some(SqliteFile::Missing(path)) = url.sqlite_file() {
        return Err(missing(path));
    }
    match crate::db::connect_existing(url)? {
        Some(mut conn) => verify::run_checks(conn.as_mut()),
        // Removed since the check above.
        None => Err(missing(url.sqlite_path().unwrap_or_default())),
    }
}
