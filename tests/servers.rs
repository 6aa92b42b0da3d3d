//! Tests against the real PostgreSQL and MySQL/MariaDB servers (`RETORT_TEST_PG_URL`,
//! `RETORT_TEST_MYSQL_URL`); each test creates and drops its own database.

#[path = "servers/harness.rs"]
mod harness;

#[path = "servers/backends.rs"]
mod backends;

#[path = "servers/suite.rs"]
mod suite;
