//! Fleets: one command on many databases or PostgreSQL schemas (`--fleet NAME`).
//!
//! A fleet's targets are listed from `[fleet.NAME]` ([`targets`]); [`run::sweep`] runs one
//! per-target operation over them with bounded parallelism, canary and waves, a failure budget
//! and Ctrl-C; every finished target is recorded in a manifest ([`manifest`]) that `--resume`
//! continues from. The operation is any closure from a [`Target`] to a [`Done`]: the commands
//! that work on one database (`upgrade`, `status`, `check`, `verify`, ...) plug in by giving
//! theirs. Each target's own migration lock and version table stay the truth; the manifest only
//! saves work and reports.

pub(crate) mod manifest;
pub(crate) mod run;
pub(crate) mod targets;

pub(crate) use targets::Target;

/// How a target ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TargetOutcome {
    /// Read without finding anything wrong (`current`, `check`, `verify`).
    Ok,
    /// Already where the command would take it (or, read-only, nothing to report).
    UpToDate,
    /// Changed by this run.
    Migrated,
    /// `status`: revisions are pending.
    Behind,
    /// `check`, `verify`, `lint`: the target was read and has problems.
    Problems,
    /// `drift`, `check --schema`: the live schema differs from what its applied revisions
    /// build.
    Drifted,
    /// The command failed on this target; `error` says why.
    Failed,
    /// Ctrl-C stopped it between two revisions; the rest runs on the next run or `--resume`.
    Interrupted,
    /// Not started: the run stopped first (`--canary`, `--max-failures`, Ctrl-C).
    NotStarted,
}

impl TargetOutcome {
    /// Whether the target counts as failed (for `--max-failures`, `--canary` and the exit
    /// status).
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            TargetOutcome::Failed | TargetOutcome::Problems | TargetOutcome::Drifted
        )
    }

    /// Whether the command has nothing left to do on the target.
    pub(crate) fn is_done(self) -> bool {
        matches!(self, TargetOutcome::UpToDate | TargetOutcome::Migrated)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            TargetOutcome::Ok => "ok",
            TargetOutcome::UpToDate => "up-to-date",
            TargetOutcome::Migrated => "migrated",
            TargetOutcome::Behind => "behind",
            TargetOutcome::Problems => "problems",
            TargetOutcome::Drifted => "drifted",
            TargetOutcome::Failed => "failed",
            TargetOutcome::Interrupted => "interrupted",
            TargetOutcome::NotStarted => "not-started",
        }
    }
}

/// What a per-target operation reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Done {
    pub(crate) outcome: TargetOutcome,
    /// The version rows before and after.
    pub(crate) before: Vec<String>,
    pub(crate) after: Vec<String>,
    /// Steps run (upgrade, downgrade, stamp).
    pub(crate) steps: usize,
    /// Revisions pending (`status`).
    pub(crate) pending: Option<Vec<String>>,
    /// Why it failed or what it found, passwords hidden.
    pub(crate) error: Option<String>,
    /// The command's own JSON for this target (`check` and `verify` findings).
    pub(crate) detail: Option<serde_json::Value>,
}

impl Done {
    /// A target with nothing to do at `rows`.
    pub(crate) fn at(outcome: TargetOutcome, rows: Vec<String>) -> Done {
        Done {
            outcome,
            before: rows.clone(),
            after: rows,
            steps: 0,
            pending: None,
            error: None,
            detail: None,
        }
    }

    /// A target the command failed on, for `error`.
    pub(crate) fn failed(error: &crate::error::Error) -> Done {
        Done {
            error: Some(describe(error)),
            ..Done::at(TargetOutcome::Failed, Vec::new())
        }
    }
}

/// An error as one line for a target's row and the manifest: the message, passwords hidden.
pub(crate) fn describe(error: &crate::error::Error) -> String {
    let text = error.to_string();
    crate::config::url::scrub_known(&crate::config::url::redact_text(&text))
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One target's line of a fleet run: the summary table, `--json` and the manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TargetRecord {
    /// The target, password hidden (`#schema` for a schema).
    pub(crate) target: String,
    pub(crate) outcome: TargetOutcome,
    /// The version rows before and after (`current` is `after`).
    pub(crate) before: Vec<String>,
    pub(crate) after: Vec<String>,
    pub(crate) steps: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pending: Option<Vec<String>>,
    pub(crate) duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<serde_json::Value>,
}

impl TargetRecord {
    pub(crate) fn new(target: &Target, done: Done, duration: std::time::Duration) -> Self {
        TargetRecord {
            target: target.name.clone(),
            outcome: done.outcome,
            before: done.before,
            after: done.after,
            steps: done.steps,
            pending: done.pending,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            error: done.error,
            detail: done.detail,
        }
    }

    /// A target the run never started.
    pub(crate) fn not_started(target: &Target) -> Self {
        TargetRecord::new(
            target,
            Done::at(TargetOutcome::NotStarted, Vec::new()),
            std::time::Duration::ZERO,
        )
    }
}
