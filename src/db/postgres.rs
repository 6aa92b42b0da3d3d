//! PostgreSQL backend (postgres crate).

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// Opens a connection.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn super::Connection>> {
    let _ = url;
    Err(Error::Internal("postgres backend: not built yet".into()))
}
