//! How a running migration shows on stderr: a progress bar on a terminal, `Running ...` lines
//! otherwise, nothing with `-q`; with `-v` also each statement as it ran, with its time.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::timeouts::display;
use crate::exec::{LockRetry, PreparedStep, Progress};
use crate::output::Printer;
use crate::report::{Outcome, StepReport};

/// The longest statement text `-v` shows on its line.
const SHOWN_STATEMENT_CHARS: usize = 120;

/// The database's heads for a message: `base` when there are none.
pub(crate) fn describe_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.join(", ")
    }
}

/// A statement as `-v` shows it: its first line, cut to [`SHOWN_STATEMENT_CHARS`], with ` …`
/// when there is more. A statement can be hundreds of lines (a view, a function body); the
/// file line beside it leads to the rest, and a failing statement is shown whole in its error.
fn statement_line(sql: &str) -> String {
    let mut lines = sql.trim().lines();
    let first = lines.next().unwrap_or_default().trim_end();
    let mut shown: String = first.chars().take(SHOWN_STATEMENT_CHARS).collect();
    if shown.len() < first.len() || lines.next().is_some() {
        shown.push_str(" …");
    }
    shown
}

/// The progress of an online run.
pub(crate) struct StepDisplay<'p> {
    printer: &'p Printer,
    bar: Option<ProgressBar>,
    rehearse: bool,
}

impl<'p> StepDisplay<'p> {
    pub(crate) fn new(printer: &'p Printer, rehearse: bool) -> Self {
        StepDisplay {
            printer,
            bar: None,
            rehearse,
        }
    }

    /// Clears the bar once the run is over.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StepDisplay<'_> {
    fn step_started(&mut self, step: &PreparedStep, index: usize, total: usize) {
        if !self.printer.shows_progress() {
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
            if report.outcome != Outcome::Success {
                bar.abandon();
                self.bar = None;
            }
        }
    }

    fn statement_ran(&mut self, line: usize, sql: &str, elapsed: Duration) {
        if !self.printer.is_verbose() {
            return;
        }
        let line = format!(
            "  line {line} ({} ms): {}",
            elapsed.as_millis(),
            statement_line(sql)
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => self.printer.status(line),
        }
    }

    fn waiting_for_lock(&mut self, holder: Option<&str>) {
        self.printer.status(match holder {
            Some(holder) => format!("waiting for the database lock held by {holder}…"),
            None => "waiting for the database lock held by another process…".to_string(),
        });
    }

    fn lock_taken(&mut self, holder: &mut dyn FnMut() -> Option<String>) {
        if !self.printer.is_verbose() {
            return;
        }
        if let Some(holder) = holder() {
            self.printer
                .status(format!("holding the database lock: {holder}"));
        }
    }

    fn lock_retry(&mut self, retry: &LockRetry) {
        let blocker = match &retry.blocker {
            Some(blocker) => format!("; blocked by {blocker}"),
            None => String::new(),
        };
        let what = match (&retry.drops_invalid_index, retry.statement_only) {
            (Some(index), _) => format!(
                "dropping the invalid index `{index}` the failed CREATE INDEX CONCURRENTLY left \
                 (DROP INDEX CONCURRENTLY IF EXISTS), then retrying the statement"
            ),
            (None, true) => "retrying the statement".to_string(),
            (None, false) => "rolled back; retrying the revision".to_string(),
        };
        let line = format!(
            "{} in `{}` at line {} after {}{blocker}; {what} in {} (attempt {} of {})",
            retry.cause,
            retry.revision,
            retry.line,
            display(retry.ran),
            display(retry.wait),
            retry.attempt + 1,
            retry.attempts_allowed
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => self.printer.status(line),
        }
    }

    fn lock_not_released(&mut self, cause: &str) {
        self.printer
            .warn(format!("releasing the migration lock failed: {cause}"));
    }

    fn closed_interrupted(&mut self, direction: &str, revision: &str, started_at: &str) {
        self.printer.status(format!(
            "closed the interrupted {direction} of `{revision}` (started at {started_at}) in the \
             audit trail"
        ));
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

#[cfg(test)]
mod tests {
    use super::statement_line;

    #[test]
    fn a_statement_shows_as_its_first_line_marked_when_cut() {
        assert_eq!(
            statement_line("CREATE TABLE t (x INTEGER)"),
            "CREATE TABLE t (x INTEGER)"
        );
        assert_eq!(
            statement_line("CREATE TABLE t (\n  x INTEGER\n)"),
            "CREATE TABLE t ( …"
        );
        let long = format!("SELECT '{}'", "é".repeat(200));
        let shown = statement_line(&long);
        assert_eq!(shown.chars().count(), 120 + 2);
        assert!(shown.ends_with(" …"));
    }
}
