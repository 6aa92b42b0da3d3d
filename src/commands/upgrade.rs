//! `upgrade` and `downgrade` (online, `--sql`, `--dry-run`, `--rehearse`, `--report`), and the
//! pieces `stamp` shares with them.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::backup::{self, BackupRecord};
use crate::cli::args::{DialectArg, DowngradeArgs, RunArgs, UpgradeArgs};
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::db;
use crate::error::{Error, Result};
use crate::exec::offline::run_offline;
use crate::exec::{PreparedStep, Progress, RunReport, StepReport};
use crate::graph::Plan;
use crate::migrator::{version_table, Migrator, Operation, RunOptions};
use crate::output::Printer;
use crate::project::Project;
use crate::verify::{self, VerifyReport};

/// Which command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Upgrade,
    Downgrade,
    Stamp,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp",
        }
    }
}

pub(super) fn run_upgrade(ctx: &Context, args: UpgradeArgs) -> Result<u8> {
    let project = ctx.project()?;
    if args.run.sql {
        if args.rehearse || args.run.dry_run {
            return Err(Error::Usage {
                message: "`--sql` prints the script; it cannot be combined with `--dry-run` or `--rehearse`".into(),
            });
        }
        let (start, target) = match args.target.split_once(':') {
            Some((start, target)) => (start, target),
            None => ("", args.target.as_str()),
        };
        let rows = project.graph.offline_start(start)?;
        let plan = project.graph.plan_upgrade(&rows, target)?;
        return print_offline(ctx, &project, args.run.dialect, plan);
    }
    reject_range(&args.target, "upgrade")?;
    let mode = if args.rehearse {
        Mode::Rehearse
    } else if args.run.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    let operation = Operation::Upgrade(args.target.clone());
    run_online(
        ctx,
        project,
        &args.run,
        OnlineRun {
            direction: Direction::Upgrade,
            target: &args.target,
            mode,
            verify: args.verify,
        },
        &operation,
    )
}

pub(super) fn run_downgrade(ctx: &Context, args: DowngradeArgs) -> Result<u8> {
    let project = ctx.project()?;
    if args.run.sql {
        let Some((start, target)) = args.target.split_once(':') else {
            return Err(Error::Usage {
                message: "downgrade with --sql requires <fromrev>:<torev>".into(),
            });
        };
        let rows = project.graph.offline_start(start)?;
        let plan = project.graph.plan_downgrade(&rows, target)?;
        return print_offline(ctx, &project, args.run.dialect, plan);
    }
    reject_range(&args.target, "downgrade")?;
    let mode = if args.run.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    let operation = Operation::Downgrade(args.target.clone());
    run_online(
        ctx,
        project,
        &args.run,
        OnlineRun {
            direction: Direction::Downgrade,
            target: &args.target,
            mode,
            verify: false,
        },
        &operation,
    )
}

fn reject_range(target: &str, command: &str) -> Result<()> {
    if target.contains(':') {
        return Err(Error::Usage {
            message: format!(
                "a `FROM:TO` range is only allowed with `--sql`; run `retort {command} {}` on a database",
                target.rsplit(':').next().unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// The dialect of an offline run: `--dialect`, else the URL's.
pub(super) fn offline_dialect(
    ctx: &Context,
    config: &Config,
    dialect: Option<DialectArg>,
) -> Result<Dialect> {
    match dialect {
        Some(d) => Ok(d.into()),
        None => ctx
            .database_url(config)
            .map(|url| url.dialect())
            .map_err(|e| Error::Usage {
                message: format!(
                    "{e}; with `--sql`, pass `--dialect sqlite|postgresql|mysql` instead"
                ),
            }),
    }
}

/// Renders `plan` offline and prints it on stdout; `Running ...` lines go to stderr.
pub(super) fn print_offline(
    ctx: &Context,
    project: &Project,
    dialect: Option<DialectArg>,
    plan: Plan,
) -> Result<u8> {
    let config = &project.config;
    let dialect = offline_dialect(ctx, config, dialect)?;
    let mut progress = PlainLines::default();
    let script = run_offline(
        plan,
        &project.scripts,
        version_table(config, dialect),
        config.transaction_per_migration,
        config.templates.as_deref(),
        &mut progress,
    )?;
    if !progress.lines.is_empty() {
        ctx.printer.status(progress.lines.trim_end());
    }
    ctx.printer.data_raw(&script);
    Ok(0)
}

/// What an online command does with its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Run,
    DryRun,
    Rehearse,
}

/// What an online run is asked to do, beyond its `RunArgs`.
pub(super) struct OnlineRun<'a> {
    pub(super) direction: Direction,
    /// The target as typed, for messages, backups and the report.
    pub(super) target: &'a str,
    pub(super) mode: Mode,
    /// `upgrade --verify`: integrity checks after the run.
    pub(super) verify: bool,
}

/// Options of an online run that `stamp` shares with upgrade/downgrade: a thin layer over
/// [`Migrator`] that adds the backup, progress display, `--verify`, `--report` and the summary.
pub(super) fn run_online(
    ctx: &Context,
    project: Project,
    args: &RunArgs,
    run: OnlineRun<'_>,
    operation: &Operation,
) -> Result<u8> {
    let OnlineRun {
        direction,
        target,
        mode,
        verify,
    } = run;
    let url = ctx.database_url(&project.config)?;
    let mut migrator = Migrator::from_project(project).with_database_url(url.clone());
    if mode == Mode::DryRun {
        return dry_run(ctx, &mut migrator, &url, operation);
    }
    let lock_timeout =
        Duration::try_from_secs_f64(args.lock_timeout).map_err(|_| Error::Usage {
            message: format!(
                "`--lock-timeout {}` is not a number of seconds",
                args.lock_timeout
            ),
        })?;
    let mut migrator = migrator.with_lock_timeout(lock_timeout);
    let rehearse = mode == Mode::Rehearse;
    if rehearse && !url.dialect().transactional_ddl() {
        return Err(Error::Usage {
            message: format!(
                "`--rehearse` needs transactional DDL, which {} does not have; use `--dry-run` or `--sql`",
                url.dialect()
            ),
        });
    }
    let backup = if mode == Mode::Run {
        let trigger = format!("{} {target}", direction.name());
        backup_if_changing(
            ctx,
            &mut migrator,
            &url,
            &trigger,
            args.no_backup,
            operation,
        )?
    } else {
        None
    };
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let mut display = StepDisplay::new(&ctx.printer, rehearse);
    let report = migrator.execute(
        operation,
        RunOptions {
            rehearse,
            progress: Some(&mut display),
        },
    );
    display.finish();
    // `--verify` checks the database the run left behind.
    let checks = match (&report, verify) {
        (Ok(r), true) if r.failure.is_none() => {
            Some(verify::run_checks(db::connect(&url)?.as_mut())?)
        }
        _ => None,
    };
    if let Some(path) = &args.report {
        let document = ReportDocument {
            command: direction.name(),
            target,
            database: url.to_string(),
            dialect: url.dialect().name(),
            rehearsal: rehearse,
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
            outcome: match &report {
                Ok(r) if r.failure.is_none() => "success",
                _ => "failed",
            },
            heads_before: report
                .as_ref()
                .map(|r| r.heads_before.as_slice())
                .unwrap_or_default(),
            heads_after: report
                .as_ref()
                .map(|r| r.heads_after.as_slice())
                .unwrap_or_default(),
            steps: report
                .as_ref()
                .map(|r| r.steps.as_slice())
                .unwrap_or_default(),
            error: match &report {
                Ok(r) => r.error.as_deref().map(crate::config::url::scrub_known),
                Err(e) => Some(crate::config::url::scrub_known(&e.to_string())),
            },
            backup: backup.as_ref(),
            verify: checks.as_ref(),
        };
        write_report(path, &document)?;
    }
    let report = report?;
    summarize(&ctx.printer, &report, mode);
    report.into_result()?;
    match checks {
        Some(checks) => {
            for line in checks.text_lines() {
                ctx.printer.status(line);
            }
            if checks.ok {
                Ok(0)
            } else {
                Err(Error::CheckFailed {
                    message: format!(
                        "the migration succeeded, but verify found {} problem(s) in the database",
                        checks.problem_count()
                    ),
                })
            }
        }
        None => Ok(0),
    }
}

/// Backs the database up when the plan would change it (SPEC: before every upgrade, downgrade
/// and stamp). A database that does not exist yet holds nothing to lose.
fn backup_if_changing(
    ctx: &Context,
    migrator: &mut Migrator,
    url: &DatabaseUrl,
    trigger: &str,
    no_backup: bool,
    operation: &Operation,
) -> Result<Option<BackupRecord>> {
    let planned = migrator.plan(operation)?;
    if !planned.changes_database() {
        return Ok(None);
    }
    backup::backup_before_change(
        &migrator.project().config,
        url,
        trigger,
        &planned.heads_before,
        no_backup,
        &ctx.printer,
    )
}

/// `--dry-run`: read the state (never creating anything), plan, print the plan.
fn dry_run(
    ctx: &Context,
    migrator: &mut Migrator,
    url: &DatabaseUrl,
    operation: &Operation,
) -> Result<u8> {
    let planned = migrator.plan(operation)?;
    let rows = &planned.heads_before;
    let printer = &ctx.printer;
    if !planned.changes_database() {
        printer.data(format!(
            "nothing to do: `{url}` is already at {}",
            describe_heads(rows)
        ));
        return Ok(0);
    }
    printer.data(format!(
        "plan for `{url}` (dry run; nothing was changed), from {}:",
        describe_heads(rows)
    ));
    if planned.purge {
        let table = version_table(&migrator.project().config, url.dialect());
        printer.data(format!("  delete every row of `{}`", table.display_name()));
    }
    for step in &planned.steps {
        printer.data(format!("  {}", step.running_line()));
    }
    printer.data(format!("then at {}", describe_heads(&planned.heads_after)));
    Ok(0)
}

fn describe_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.join(", ")
    }
}

fn summarize(printer: &Printer, report: &RunReport, mode: Mode) {
    let ok = report
        .steps
        .iter()
        .filter(|s| s.outcome == "success")
        .count();
    if mode == Mode::Rehearse {
        for step in &report.steps {
            printer.data(format!(
                "{:<7} {} {} -> {} ({} ms)",
                step.outcome,
                step.kind.running_name(),
                step.from.join(", "),
                step.to.join(", "),
                step.duration_ms
            ));
        }
        let verdict = if report.failure.is_some() {
            "rehearsal failed"
        } else {
            "rehearsal succeeded"
        };
        printer.data(format!(
            "{verdict}: {ok} of {} revision(s) ran; everything was rolled back, the database is unchanged",
            report.steps.len()
        ));
    } else if report.steps.is_empty() && report.failure.is_none() {
        printer.status(format!(
            "nothing to do: the database is at {}",
            describe_heads(&report.heads_after)
        ));
    } else if report.failure.is_none() && printer.is_interactive() {
        // The progress bar clears itself; say where the run ended.
        printer.status(format!(
            "done: {ok} step(s); the database is at {}",
            describe_heads(&report.heads_after)
        ));
    }
}

/// The `--report` document.
#[derive(serde::Serialize)]
struct ReportDocument<'a> {
    command: &'static str,
    target: &'a str,
    /// The URL with its password redacted.
    database: String,
    dialect: &'static str,
    rehearsal: bool,
    started_at: String,
    duration_ms: i64,
    outcome: &'static str,
    heads_before: &'a [String],
    heads_after: &'a [String],
    steps: &'a [StepReport],
    error: Option<String>,
    /// The backup taken before the run, if any.
    backup: Option<&'a BackupRecord>,
    /// `--verify`: integrity and referential checks after the run.
    verify: Option<&'a VerifyReport>,
}

fn write_report(path: &Path, document: &ReportDocument<'_>) -> Result<()> {
    let text = serde_json::to_string_pretty(document)
        .map_err(|e| Error::Internal(format!("cannot encode the report: {e}")))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io("write report", path, e))
}

/// `Running upgrade A -> B, message` lines on stderr (offline runs, non-terminals).
/// The `Running upgrade A -> B` lines of an offline run, printed together once the script is
/// rendered: a write per line costs more than rendering on a history of thousands.
#[derive(Default)]
struct PlainLines {
    lines: String,
}

impl Progress for PlainLines {
    fn step_started(&mut self, step: &PreparedStep, _index: usize, _total: usize) {
        self.lines.push_str(&step.running_line());
        self.lines.push('\n');
    }
}

/// A progress bar on a terminal, plain lines otherwise, nothing with `-q`.
struct StepDisplay<'p> {
    printer: &'p Printer,
    bar: Option<ProgressBar>,
    rehearse: bool,
}

impl<'p> StepDisplay<'p> {
    fn new(printer: &'p Printer, rehearse: bool) -> Self {
        StepDisplay {
            printer,
            bar: None,
            rehearse,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StepDisplay<'_> {
    fn step_started(&mut self, step: &PreparedStep, index: usize, total: usize) {
        if !self.printer.is_interactive() {
            self.printer.status(step.running_line());
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        bar.set_length(total as u64);
        bar.set_position(index as u64);
        bar.set_message(step.running_line());
    }

    fn step_finished(&mut self, report: &StepReport) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if report.outcome != "success" {
                bar.abandon();
                self.bar = None;
            }
        }
    }

    fn waiting_for_lock(&mut self) {
        self.printer
            .status("waiting for the database lock held by another process…");
    }

    fn replanned(&mut self, heads: &[String]) {
        let line = format!(
            "another runner moved the database to {}; planning again",
            describe_heads(heads)
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None if !self.rehearse => self.printer.status(line),
            None => {}
        }
    }
}
