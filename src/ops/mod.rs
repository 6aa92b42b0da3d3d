//! One function per workflow. Each takes what the command resolved, does the work and returns a
//! typed outcome; the command only prints it, and a library caller gets the same data.

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod check;
pub(crate) mod init;
pub(crate) mod revision;
pub(crate) mod verify;
