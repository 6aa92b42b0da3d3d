//! `--fleet NAME`: any command that works on one database, on every target of a fleet. A
//! command gives [`run`] its per-target operation (a closure from a target to a
//! [`Done`](crate::fleet::Done)); this file lists the targets, shows the progress bar over
//! them, keeps the manifest, prints the summary table or `--json`, and sets the exit status.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::cli::args::{FleetArgs, RolloutArgs};
use crate::cli::progress::describe_heads;
use crate::cli::table::{aligned, Align};
use crate::error::{Error, Result};
use crate::fleet::manifest::{self, Manifest};
use crate::fleet::run::{interrupt_flag, sweep, Limits, TargetOp};
use crate::fleet::{targets, Target, TargetOutcome, TargetRecord};
use crate::project::Project;

/// What a fleet command is, for the manifest and the table.
pub(super) struct FleetCommand<'a> {
    /// The command and its argument, as the manifest records it (`upgrade heads`).
    pub(super) name: String,
    /// The command changes databases: a fast read-only pass first, then the changes with
    /// `--canary`, waves and `--max-failures`; a manifest is always written.
    pub(super) changes: Option<&'a RolloutArgs>,
    /// The read-only look of the first pass: `UpToDate` skips the target without its lock.
    pub(super) probe: Option<&'a TargetOp<'a>>,
    /// The per-target operation.
    pub(super) op: &'a TargetOp<'a>,
    pub(super) json: bool,
}

/// The project of a target: its own config (a schema's version table) over the shared files.
pub(super) fn project_for(project: &Project, target: &Target) -> Project {
    Project {
        config: target.config(&project.config),
        ..project.clone()
    }
}

/// Refuses flags that mean one database (`--sql`, `--report`) with `--fleet`.
pub(super) fn refuse_with_fleet(fleet: &FleetArgs, flag: &'static str, given: bool) -> Result<()> {
    if fleet.fleet.is_some() && given {
        return Err(Error::FleetFlagConflict { flag });
    }
    Ok(())
}

/// Runs `command` over the fleet `args.fleet`; returns every target's record when none failed.
pub(super) fn run(
    ctx: &Context,
    args: &FleetArgs,
    command: FleetCommand<'_>,
) -> Result<Vec<TargetRecord>> {
    // A URL on the command line would be silently unused: the fleet names the databases.
    // DATABASE_URL, often set for the whole shell, is not used either (docs/fleets.md).
    refuse_with_fleet(args, "--url", ctx.settings.url_flag_given())?;
    let config = ctx.config()?;
    let name = args.fleet.as_deref().unwrap_or_default();
    let all = targets::list(&config, name)?;
    let mut manifest = Manifest::new(name, command.name.clone(), config.environment.clone());
    let resumed = match command.changes.and_then(|r| r.resume.as_ref()) {
        Some(path) => Some(Manifest::resume(path, &manifest)?),
        None => None,
    };
    // Read-only commands write a manifest only when `--manifest` asks.
    let manifest_path: Option<PathBuf> = match (&resumed, command.changes, &args.manifest) {
        (Some(_), Some(rollout), _) => rollout.resume.clone(),
        (_, _, Some(path)) => Some(path.clone()),
        (_, Some(_), None) => Some(manifest::default_path(&config.root, name)?),
        (_, None, None) => None,
    };
    let mut records: Vec<TargetRecord> = all.iter().map(TargetRecord::not_started).collect();
    let mut order: Vec<usize> = Vec::new();
    for (i, target) in all.iter().enumerate() {
        match resumed.as_ref().and_then(|m| m.done(&target.name)) {
            Some(done) => records[i] = done.clone(),
            None => order.push(i),
        }
    }
    let interrupted = interrupt_flag();
    let bar = progress_bar(ctx, all.len(), all.len() - order.len());
    let limits = Limits {
        jobs: args.jobs.max(1),
        canary: command.changes.map_or(0, |r| r.canary),
        wave: command.changes.and_then(|r| r.wave),
        max_failures: command.changes.and_then(|r| r.max_failures),
    };
    manifest.targets.clone_from(&records);
    let mut write_error = None;
    let mut save = |manifest: &mut Manifest| {
        if let Some(path) = &manifest_path {
            if let Err(e) = manifest.write(path) {
                write_error.get_or_insert(e);
            }
        }
    };
    if command.changes.is_some() {
        save(&mut manifest);
    }
    // The fast first pass: read-only, no lock; targets already there are done.
    if let Some(probe) = command.probe {
        let read = Limits {
            canary: 0,
            wave: None,
            max_failures: None,
            ..limits
        };
        let unstopped = AtomicBool::new(false);
        let mut behind = Vec::new();
        sweep(
            &all,
            &order,
            read,
            &unstopped,
            0,
            probe,
            &mut |i, record| {
                if record.outcome == TargetOutcome::Behind {
                    behind.push(i);
                } else {
                    bar.inc(1);
                    records[i] = record;
                }
            },
        );
        behind.sort_unstable();
        order = behind;
        manifest.targets.clone_from(&records);
        save(&mut manifest);
    }
    let failed_before = records.iter().filter(|r| r.outcome.is_failure()).count();
    let stopped = sweep(
        &all,
        &order,
        limits,
        interrupted,
        failed_before,
        command.op,
        &mut |i, record| {
            bar.set_message(format!("{} {}", record.target, record.outcome.name()));
            bar.inc(1);
            let changed = record.outcome != TargetOutcome::UpToDate;
            records[i] = record;
            if command.changes.is_some() && changed {
                manifest.targets.clone_from(&records);
                save(&mut manifest);
            }
        },
    );
    bar.finish_and_clear();
    manifest.targets.clone_from(&records);
    manifest.state = if stopped.is_some() {
        "stopped"
    } else {
        "finished"
    }
    .into();
    save(&mut manifest);
    if let Some(error) = write_error {
        ctx.printer.error(&error);
    }
    print(ctx, &records, command.json, command.changes.is_some());
    if let (Some(path), false) = (&manifest_path, command.json) {
        ctx.printer.status(format!("manifest: {}", path.display()));
    }
    let failed = records.iter().filter(|r| r.outcome.is_failure()).count();
    if let Some(why) = stopped {
        return Err(Error::FleetStopped {
            fleet: name.to_string(),
            not_started: records
                .iter()
                .filter(|r| {
                    matches!(
                        r.outcome,
                        TargetOutcome::NotStarted | TargetOutcome::Interrupted
                    )
                })
                .count(),
            why: why.to_string(),
            manifest: manifest_path,
        });
    }
    if failed > 0 {
        return Err(Error::FleetTargetsFailed {
            fleet: name.to_string(),
            failed,
            total: records.len(),
            read_only: command.changes.is_none(),
        });
    }
    Ok(records)
}

/// The bar over targets, on stderr, only when progress shows (a terminal, no `-q`).
fn progress_bar(ctx: &Context, total: usize, done: usize) -> ProgressBar {
    if !ctx.printer.shows_progress() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} targets {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.set_position(done as u64);
    bar
}

/// The summary: one row per target, or with `--json` one object per target.
fn print(ctx: &Context, records: &[TargetRecord], json: bool, changes: bool) {
    if json {
        let documents: Vec<_> = records.iter().map(json_of).collect();
        ctx.printer.json(&documents);
        return;
    }
    let reason = |r: &TargetRecord| match (&r.error, &r.pending) {
        (Some(error), _) => error.clone(),
        (None, Some(pending)) if !pending.is_empty() => {
            format!("behind by {}: {}", pending.len(), pending.join(", "))
        }
        _ => String::new(),
    };
    let time = |r: &TargetRecord| format!("{} ms", r.duration_ms);
    // A target that failed before its version table was read is at an unknown revision.
    let heads = |r: &TargetRecord, rows: &[String]| match r.outcome {
        TargetOutcome::Failed | TargetOutcome::NotStarted
            if r.before.is_empty() && r.after.is_empty() =>
        {
            "-".to_string()
        }
        _ => describe_heads(rows),
    };
    // A column: its heading, alignment, and its cell of a record.
    type Column<'c> = (&'static str, Align, &'c dyn Fn(&TargetRecord) -> String);
    let target = |r: &TargetRecord| r.target.clone();
    let before = |r: &TargetRecord| heads(r, &r.before);
    let after = |r: &TargetRecord| heads(r, &r.after);
    let steps = |r: &TargetRecord| r.steps.to_string();
    let pending = |r: &TargetRecord| {
        r.pending
            .as_ref()
            .map_or(String::new(), |p| p.len().to_string())
    };
    let outcome = |r: &TargetRecord| r.outcome.name().to_string();
    let columns: Vec<Column<'_>> = if changes {
        vec![
            ("TARGET", Align::Left, &target),
            ("BEFORE", Align::Left, &before),
            ("AFTER", Align::Left, &after),
            ("STEPS", Align::Right, &steps),
            ("TIME", Align::Right, &time),
            ("OUTCOME", Align::Left, &outcome),
            ("REASON", Align::Left, &reason),
        ]
    } else {
        vec![
            ("TARGET", Align::Left, &target),
            ("CURRENT", Align::Left, &after),
            ("PENDING", Align::Right, &pending),
            ("TIME", Align::Right, &time),
            ("OUTCOME", Align::Left, &outcome),
            ("REASON", Align::Left, &reason),
        ]
    };
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| columns.iter().map(|(_, _, cell)| cell(r)).collect())
        .collect();
    let headings: Vec<(&str, Align)> = columns.iter().map(|(h, a, _)| (*h, *a)).collect();
    let (header, lines) = aligned(&headings, &rows);
    ctx.printer.data(header.trim_end());
    for line in lines {
        ctx.printer.data(line.trim_end());
    }
    ctx.printer.data(totals(records));
}

/// `12 target(s): 10 up-to-date, 1 migrated, 1 failed`.
fn totals(records: &[TargetRecord]) -> String {
    let mut counts: Vec<(TargetOutcome, usize)> = Vec::new();
    for record in records {
        match counts.iter_mut().find(|(o, _)| *o == record.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((record.outcome, 1)),
        }
    }
    counts.sort_by_key(|(o, _)| *o as u8);
    let parts: Vec<String> = counts
        .iter()
        .map(|(o, n)| format!("{n} {}", o.name()))
        .collect();
    format!("{} target(s): {}", records.len(), parts.join(", "))
}

/// A target's object in `--json`: `current` is the version rows after the command, `pending`
/// a count (`pending_revisions` the ids), where the command knows them.
fn json_of(record: &TargetRecord) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "target": record.target,
        "outcome": record.outcome,
        "current": record.after,
        "before": record.before,
        "after": record.after,
        "steps": record.steps,
        "pending": record.pending.as_ref().map(Vec::len),
        "pending_revisions": record.pending,
        "duration_ms": record.duration_ms,
        "error": record.error,
    });
    if let (Some(detail), Some(map)) = (&record.detail, doc.as_object_mut()) {
        map.insert("detail".into(), detail.clone());
    }
    doc
}
