//! `stamp REV... [--purge] [--sql]`: rewrite the version table without running migrations.

use super::upgrade::{check_rows_known, print_offline, run_online, Direction, Mode, OnlineRun};
use super::Context;
use crate::cli::args::{RunArgs, StampArgs};
use crate::error::{Error, Result};
use crate::graph::Plan;

pub(super) fn run(ctx: &Context, args: StampArgs) -> Result<u8> {
    let project = ctx.project()?;
    if args.sql {
        if args.purge {
            return Err(Error::Usage {
                message: "Can't use --purge with --sql mode".into(),
            });
        }
        // As Alembic: each argument may be `FROM:TO`, all with the same FROM.
        let mut start: Option<&str> = None;
        let mut targets = Vec::new();
        for revision in &args.revisions {
            match revision.split_once(':') {
                Some((from, to)) => {
                    if start.is_some_and(|s| s != from) {
                        return Err(Error::Usage {
                            message: "Stamp operation with --sql only supports a single starting revision at a time".into(),
                        });
                    }
                    start = Some(from);
                    targets.push(to.to_string());
                }
                None => targets.push(revision.clone()),
            }
        }
        let rows = project.graph.offline_start(start.unwrap_or_default())?;
        let plan = project.graph.plan_stamp(&rows, &targets, false)?;
        return print_offline(ctx, &project, args.dialect, plan);
    }
    if args.revisions.iter().any(|r| r.contains(':')) {
        return Err(Error::Usage {
            message: "Range revision not allowed; a `FROM:TO` range needs `--sql`".into(),
        });
    }
    let purge = args.purge;
    let targets = args.revisions.clone();
    let planner = |rows: &[String]| -> Result<Plan> {
        // `--purge` exists to recover from rows no file knows.
        if !purge {
            check_rows_known(&project, rows)?;
        }
        project.graph.plan_stamp(rows, &targets, purge)
    };
    let run_args = RunArgs {
        sql: false,
        dialect: None,
        dry_run: false,
        report: None,
        no_backup: args.no_backup,
        lock_timeout: args.lock_timeout,
    };
    run_online(
        ctx,
        &project,
        &run_args,
        OnlineRun {
            direction: Direction::Stamp,
            target: &args.revisions.join(" "),
            mode: Mode::Run,
            verify: false,
        },
        &planner,
    )
}
