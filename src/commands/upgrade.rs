//! `upgrade` and `downgrade` (online, `--sql`, `--dry-run`, `--rehearse`, `--report`), and the
//! pieces `stamp` shares with them.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::backup::{self, BackupRecord};
use crate::cli::args::{DialectArg, DowngradeArgs, RunArgs, UpgradeArgs};
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::db::version_table::{read_heads, VersionTable};
use crate::db::{self, Connection};
use crate::error::{Error, Result};
use crate::exec::live::{run_live, LiveOptions};
use crate::exec::offline::run_offline;
use crate::exec::{prepare, PreparedStep, Progress, RunReport, StepReport};
use crate::graph::Plan;
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
    let target = args.target.clone();
    let planner = |rows: &[String]| -> Result<Plan> {
        check_rows_known(&project, rows)?;
        project.graph.plan_upgrade(rows, &target)
    };
    let mode = if args.rehearse {
        Mode::Rehearse
    } else if args.run.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    run_online(
        ctx,
        &project,
        &args.run,
        OnlineRun {
            direction: Direction::Upgrade,
            target: &target,
            mode,
            verify: args.verify,
        },
        &planner,
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
    let target = args.target.clone();
    let planner = |rows: &[String]| -> Result<Plan> {
        check_rows_known(&project, rows)?;
        project.graph.plan_downgrade(rows, &target)
    };
    let mode = if args.run.dry_run {
        Mode::DryRun
    } else {
        Mode::Run
    };
    run_online(
        ctx,
        &project,
        &args.run,
        OnlineRun {
            direction: Direction::Downgrade,
            target: &target,
            mode,
            verify: false,
        },
        &planner,
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

/// The version rows, read without creating anything: a missing file or table is base.
pub(super) fn read_rows_if_any(url: &DatabaseUrl, table: &VersionTable) -> Result<Vec<String>> {
    match db::connect_existing(url)? {
        Some(mut conn) => read_heads(conn.as_mut(), table),
        None => Ok(Vec::new()),
    }
}

/// The version table of `config` spelled for `dialect`.
pub(super) fn version_table(config: &Config, dialect: Dialect) -> VersionTable {
    VersionTable::new(
        dialect,
        config.version_table_schema.clone(),
        config.version_table.clone(),
    )
}

/// Every version row must name a revision file, else nothing can be planned safely.
pub(super) fn check_rows_known(project: &Project, rows: &[String]) -> Result<()> {
    match rows.iter().find(|row| project.graph.index_of(row).is_none()) {
        None => Ok(()),
        Some(unknown) => Err(Error::Resolution {
            message: format!(
                "Can't locate revision identified by '{unknown}': the version table `{}` holds it, but no revision file defines it; nothing was changed",
                project.config.version_table
            ),
            hint: Some(
                "check `version_locations` in migrate.toml (is a file missing?), or reset the table with `retort stamp --purge REV`"
                    .into(),
            ),
        }),
    }
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
    let mut progress = PlainLines {
        printer: &ctx.printer,
    };
    let script = run_offline(
        plan,
        &project.scripts,
        version_table(config, dialect),
        config.transaction_per_migration,
        config.templates.as_deref(),
        &mut progress,
    )?;
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

/// Options of an online run that `stamp` shares with upgrade/downgrade.
pub(super) fn run_online(
    ctx: &Context,
    project: &Project,
    args: &RunArgs,
    run: OnlineRun<'_>,
    planner: &dyn Fn(&[String]) -> Result<Plan>,
) -> Result<u8> {
    let OnlineRun {
        direction,
        target,
        mode,
        verify,
    } = run;
    let config = &project.config;
    let url = ctx.database_url(config)?;
    let table = version_table(config, url.dialect());
    if mode == Mode::DryRun {
        return dry_run(ctx, project, &url, &table, planner);
    }
    if mode == Mode::Rehearse && !url.dialect().transactional_ddl() {
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
            project,
            &url,
            &table,
            &trigger,
            args.no_backup,
            planner,
        )?
    } else {
        None
    };
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let mut conn = db::connect(&url)?;
    let report = execute(
        ctx,
        project,
        conn.as_mut(),
        &table,
        args.lock_timeout,
        mode == Mode::Rehearse,
        planner,
    );
    // `--verify` checks the database the run left behind, on the same connection.
    let checks = match (&report, verify) {
        (Ok(r), true) if r.failure.is_none() => Some(verify::run_checks(conn.as_mut())?),
        _ => None,
    };
    if let Some(path) = &args.report {
        let document = ReportDocument {
            command: direction.name(),
            target,
            database: url.to_string(),
            dialect: url.dialect().name(),
            rehearsal: mode == Mode::Rehearse,
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
                Ok(r) => r.error.clone(),
                Err(e) => Some(e.to_string()),
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
    project: &Project,
    url: &DatabaseUrl,
    table: &VersionTable,
    trigger: &str,
    no_backup: bool,
    planner: &dyn Fn(&[String]) -> Result<Plan>,
) -> Result<Option<BackupRecord>> {
    let Some(mut conn) = db::connect_existing(url)? else {
        return Ok(None);
    };
    let rows = read_heads(conn.as_mut(), table)?;
    drop(conn);
    if planner(&rows)?.steps.is_empty() {
        return Ok(None);
    }
    backup::backup_before_change(
        &project.config,
        url,
        trigger,
        &rows,
        no_backup,
        &ctx.printer,
    )
}

fn execute(
    ctx: &Context,
    project: &Project,
    conn: &mut dyn Connection,
    table: &VersionTable,
    lock_timeout: f64,
    rehearse: bool,
    planner: &dyn Fn(&[String]) -> Result<Plan>,
) -> Result<RunReport> {
    let options = LiveOptions {
        table: table.clone(),
        lock_timeout: Duration::try_from_secs_f64(lock_timeout).map_err(|_| Error::Usage {
            message: format!("`--lock-timeout {lock_timeout}` is not a number of seconds"),
        })?,
        rehearse,
    };
    let printer = &ctx.printer;
    let mut on_wait = || printer.status("waiting for the database lock held by another process…");
    let mut display = StepDisplay::new(printer, rehearse);
    let report = run_live(
        conn,
        &options,
        &project.scripts,
        planner,
        &mut display,
        &mut on_wait,
    );
    display.finish();
    report
}

/// `--dry-run`: read the state (never creating anything), plan, print the plan.
fn dry_run(
    ctx: &Context,
    project: &Project,
    url: &DatabaseUrl,
    table: &VersionTable,
    planner: &dyn Fn(&[String]) -> Result<Plan>,
) -> Result<u8> {
    let rows = read_rows_if_any(url, table)?;
    let plan = planner(&rows)?;
    let dialect = url.dialect();
    let steps = prepare(&plan, &project.scripts, dialect)?;
    let printer = &ctx.printer;
    if steps.is_empty() && !plan.purge {
        printer.data(format!(
            "nothing to do: `{url}` is already at {}",
            describe_heads(&rows)
        ));
        return Ok(0);
    }
    printer.data(format!(
        "plan for `{url}` (dry run; nothing was changed), from {}:",
        describe_heads(&rows)
    ));
    if plan.purge {
        printer.data(format!("  delete every row of `{}`", table.display_name()));
    }
    for step in &steps {
        printer.data(format!("  {}", step.running_line()));
    }
    printer.data(format!("then at {}", describe_heads(&plan.heads_after())));
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
struct PlainLines<'p> {
    printer: &'p Printer,
}

impl Progress for PlainLines<'_> {
    fn step_started(&mut self, step: &PreparedStep, _index: usize, _total: usize) {
        self.printer.status(step.running_line());
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
