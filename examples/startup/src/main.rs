//! A service that migrates its database at startup, then would start serving.
//! Usage: `startup [DATABASE_URL]` (default `sqlite:///startup.db`).

use std::process::ExitCode;

/// The demo project's revision files, embedded by build.rs: no files are read at run time.
static MIGRATIONS: retort::Embedded = retort::include_migrations!();

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite:///startup.db".into());
    let migrated = retort::Migrator::embedded(MIGRATIONS)
        .and_then(|migrator| migrator.with_url(&url))
        .and_then(|mut migrator| migrator.upgrade("heads"));
    match migrated {
        Ok(report) => {
            let heads = report.heads_after.join(", ");
            println!(
                "applied {} revision(s); database at {heads}",
                report.steps.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("migration failed: {err}");
            ExitCode::FAILURE
        }
    }
}
