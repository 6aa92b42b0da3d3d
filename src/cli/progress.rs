//! How a running migration shows on stderr: a progress bar on a terminal, `Running ...` lines
//! otherwise, nothing with `-q`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::{PreparedStep, Progress};
use crate::output::Printer;
use crate::report::{Outcome, StepReport};

/// The database's heads for a message: `base` when there are none.
pub(crate) fn describe_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.join(", ")
    }
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
