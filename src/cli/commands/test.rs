//! `test [--json] [--junit PATH] [--from REV]`: the migration test suite on a scratch database.

use super::Context;
use crate::cli::args::TestArgs;
use crate::error::{Error, Result};
use crate::ops::migration_test::{junit, run_tests, Check, TestReport};
use crate::settings::dev_url;

pub(super) fn run(ctx: &Context, args: TestArgs) -> Result<u8> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config)?;
    let dev = dev_url(args.scratch.dev_url.as_deref(), &project.config)?;
    let report = run_tests(
        &project,
        &url,
        dev.as_ref(),
        args.from.as_deref(),
        super::upgrade::lock_wait(ctx, &args.scratch.lock_wait),
    )?;
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&report)).map_err(|e| Error::io("write", path, e))?;
    }
    if args.json {
        ctx.printer.json(&report);
    } else {
        ctx.printer.data_lines(lines(&report));
    }
    if report.ok {
        Ok(0)
    } else {
        Err(Error::MigrationTestsFailed {
            failed: report.failed(),
            total: report.revisions.len() + 1,
        })
    }
}

/// One line per revision (with what differs or failed below it), then the final check.
fn lines(report: &TestReport) -> Vec<String> {
    let mut out = Vec::new();
    for test in &report.revisions {
        let (verdict, what) = if test.failed() {
            let what = match (test.upgrade, test.data_test, test.down_check) {
                (_, _, Check::Failed) if !test.differences.is_empty() => {
                    "the downgrade did not restore the schema"
                }
                (Check::Failed, _, _) => "upgrade failed",
                (_, Check::Failed, _) => "data test failed",
                _ => "downgrade failed",
            };
            ("FAILED ", what)
        } else if test.upgrade == Check::NotRun {
            ("not run", "an earlier revision failed")
        } else if test.down_check == Check::Skipped {
            ("skipped", "irreversible: upgraded, down check skipped")
        } else if test.data_test == Check::Passed {
            ("ok     ", "up, data test, down, up")
        } else {
            ("ok     ", "up, down, up")
        };
        out.push(format!(
            "{verdict} {} ({what}, {} ms)",
            test.revision, test.duration_ms
        ));
        out.extend(test.differences.iter().map(|d| format!("          {d}")));
        out.extend(test.error.iter().map(|e| format!("          {e}")));
    }
    out.push(match report.final_check {
        Check::Passed => "ok      final schema equals `upgrade heads` from empty".into(),
        Check::Failed => "FAILED  final schema differs from `upgrade heads` from empty:".into(),
        _ => "not run final schema check (a revision failed)".into(),
    });
    out.extend(
        report
            .final_differences
            .iter()
            .map(|d| format!("          {d}")),
    );
    out.push(format!(
        "{}: {} revision(s) tested in {} in {} ms, {} failure(s)",
        if report.ok { "passed" } else { "failed" },
        report.revisions.len(),
        report.built_in,
        report.duration_ms,
        report.failed()
    ));
    out
}
