//! Tests against the real PostgreSQL and MySQL/MariaDB servers (`RETORT_TEST_PG_URL`,
//! `RETORT_TEST_MYSQL_URL`); each test creates and drops its own database.

mod backends;
mod suite;
