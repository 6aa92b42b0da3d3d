//! Running one operation over the targets of a fleet: bounded parallelism, a canary stage,
//! waves, a failure budget and Ctrl-C. Nothing here prints; the caller hears of each finished
//! target on its own thread (for the progress bar and the manifest).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;

use super::{Done, Target, TargetRecord};
use crate::error::Result;

/// The operation a command runs on one target. It must not print: the runner reports.
pub(crate) type TargetOp<'a> = dyn Fn(&Target) -> Result<Done> + Sync + 'a;

/// How a sweep goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Targets running at once (at least 1).
    pub(crate) jobs: usize,
    /// `--canary N`: these many targets run first; any failure among them stops the run.
    pub(crate) canary: usize,
    /// `--wave N`: after the canary, the rest run in waves of N (all at once when `None`);
    /// the failure budget is looked at between waves as well as between targets.
    pub(crate) wave: Option<usize>,
    /// `--max-failures K`: no new target starts once K have failed.
    pub(crate) max_failures: Option<usize>,
}

/// Why a sweep stopped before starting every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// A canary target failed.
    Canary,
    /// `--max-failures` was reached.
    MaxFailures(usize),
    /// Ctrl-C.
    Interrupted,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Canary => write!(f, "a canary target failed"),
            Stopped::MaxFailures(k) => write!(f, "{k} target(s) failed (--max-failures {k})"),
            Stopped::Interrupted => write!(f, "interrupted (Ctrl-C)"),
        }
    }
}

/// Runs `op` on the targets `order` names (indices into `targets`), calling `finished` with
/// each target's index and record as it ends. `failed_before` failures (of an earlier pass)
/// count towards the budget. A target that started always runs to its end: stopping only
/// keeps new ones from starting. Returns why it stopped early, if it did.
pub(crate) fn sweep(
    targets: &[Target],
    order: &[usize],
    limits: Limits,
    interrupted: &AtomicBool,
    failed_before: usize,
    op: &TargetOp<'_>,
    finished: &mut dyn FnMut(usize, TargetRecord),
) -> Option<Stopped> {
    let failures = AtomicUsize::new(failed_before);
    let canary = limits.canary.min(order.len());
    let (first, rest) = order.split_at(canary);
    let wave = limits.wave.filter(|w| *w > 0).unwrap_or(rest.len().max(1));
    let stages = std::iter::once(first)
        .filter(|stage| !stage.is_empty())
        .chain(rest.chunks(wave));
    let mut count = 0;
    let mut counted = |index, record| {
        count += 1;
        finished(index, record);
    };
    for (number, stage) in stages.enumerate() {
        let before = failures.load(Ordering::SeqCst);
        run_stage(
            targets,
            stage,
            limits,
            interrupted,
            &failures,
            op,
            &mut counted,
        );
        if number == 0 && canary > 0 && failures.load(Ordering::SeqCst) > before {
            return Some(Stopped::Canary);
        }
    }
    if count == order.len() {
        None
    } else if interrupted.load(Ordering::SeqCst) {
        Some(Stopped::Interrupted)
    } else {
        limits.max_failures.map(Stopped::MaxFailures)
    }
}

/// One stage: `jobs` workers take the stage's targets in order until none is left, the budget
/// is spent or Ctrl-C was pressed.
fn run_stage(
    targets: &[Target],
    stage: &[usize],
    limits: Limits,
    interrupted: &AtomicBool,
    failures: &AtomicUsize,
    op: &TargetOp<'_>,
    finished: &mut dyn FnMut(usize, TargetRecord),
) {
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..limits.jobs.clamp(1, stage.len().max(1)) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || loop {
                let spent = limits
                    .max_failures
                    .is_some_and(|k| failures.load(Ordering::SeqCst) >= k);
                if spent || interrupted.load(Ordering::SeqCst) {
                    return;
                }
                let Some(&index) = stage.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let target = &targets[index];
                let clock = Instant::now();
                let done = op(target).unwrap_or_else(|error| Done::failed(&error));
                if done.outcome.is_failure() {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                let record = TargetRecord::new(target, done, clock.elapsed());
                if sender.send((index, record)).is_err() {
                    return;
                }
            });
        }
        drop(sender);
        for (index, record) in receiver {
            finished(index, record);
        }
    });
}

/// The flag Ctrl-C sets, for the fleet runs of this process (registered on first use): a
/// first Ctrl-C stops new targets from starting and lets running ones finish their current
/// revision ([`StopOnInterrupt`]); a second one ends the process at once (exit 130, as a shell
/// reports SIGINT).
pub(crate) fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGINT;
            // In this order, the shutdown sees the flag as it was before this signal.
            let _ =
                signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&flag));
            let _ = signal_hook::flag::register(SIGINT, Arc::clone(&flag));
        }
        flag
    })
}

/// The progress of one target's run: stops it between revisions once Ctrl-C was pressed, and
/// remembers that it did (the target is then `interrupted`, not done).
pub(crate) struct StopOnInterrupt<'a> {
    pub(crate) flag: &'a AtomicBool,
    pub(crate) stopped: bool,
}

impl crate::exec::Progress for StopOnInterrupt<'_> {
    fn stop_requested(&mut self) -> bool {
        self.stopped = self.flag.load(Ordering::SeqCst);
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::DatabaseUrl;
    use crate::fleet::TargetOutcome;

    fn targets(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target {
                url: DatabaseUrl::parse(&format!("sqlite:///t{i}.db")).unwrap(),
                schema: None,
                name: format!("t{i}"),
            })
            .collect()
    }

    fn limits(jobs: usize) -> Limits {
        Limits {
            jobs,
            canary: 0,
            wave: None,
            max_failures: None,
        }
    }

    /// Runs a sweep where the targets named in `failing` fail; returns the order targets
    /// finished in and why the sweep stopped.
    fn run(n: usize, limits: Limits, failing: &[usize]) -> (Vec<usize>, Option<Stopped>) {
        let all = targets(n);
        let order: Vec<usize> = (0..n).collect();
        let op = |t: &Target| {
            let i: usize = t.name[1..].parse().unwrap();
            let outcome = if failing.contains(&i) {
                TargetOutcome::Failed
            } else {
                TargetOutcome::Migrated
            };
            Ok(Done::at(outcome, Vec::new()))
        };
        let mut seen = Vec::new();
        let stopped = sweep(
            &all,
            &order,
            limits,
            &AtomicBool::new(false),
            0,
            &op,
            &mut |i, r| {
                assert_eq!(r.target, format!("t{i}"));
                seen.push(i);
            },
        );
        (seen, stopped)
    }

    #[test]
    fn every_target_runs_once_whatever_the_jobs() {
        for jobs in [1, 3, 16] {
            let (mut seen, stopped) = run(50, limits(jobs), &[7]);
            seen.sort_unstable();
            assert_eq!(seen, (0..50).collect::<Vec<_>>(), "jobs {jobs}");
            assert_eq!(stopped, None, "a failure alone stops nothing");
        }
    }

    #[test]
    fn a_failed_canary_stops_the_run_after_the_canary() {
        let canary = Limits {
            canary: 3,
            ..limits(2)
        };
        let (mut seen, stopped) = run(20, canary, &[1]);
        seen.sort_unstable();
        assert_eq!((seen, stopped), (vec![0, 1, 2], Some(Stopped::Canary)));
        let (seen, stopped) = run(20, canary, &[10]);
        assert_eq!((seen.len(), stopped), (20, None));
    }

    #[test]
    fn the_failure_budget_stops_new_targets_from_starting() {
        let budget = Limits {
            max_failures: Some(2),
            ..limits(1)
        };
        let (seen, stopped) = run(20, budget, &[3, 5, 6]);
        assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
        assert_eq!(stopped, Some(Stopped::MaxFailures(2)));
        // In waves, the budget is looked at between waves too.
        let waves = Limits {
            wave: Some(4),
            max_failures: Some(1),
            ..limits(4)
        };
        let (seen, stopped) = run(20, waves, &[0]);
        assert!(seen.len() <= 4, "{seen:?}");
        assert_eq!(stopped, Some(Stopped::MaxFailures(1)));
    }

    #[test]
    fn an_interrupt_starts_nothing_new_and_lets_running_targets_finish() {
        let all = targets(10);
        let order: Vec<usize> = (0..10).collect();
        let interrupted = AtomicBool::new(false);
        let started = Mutex::new(Vec::new());
        let op = |t: &Target| {
            started.lock().unwrap().push(t.name.clone());
            // The second target "presses Ctrl-C" while it runs; it still finishes.
            if t.name == "t1" {
                interrupted.store(true, Ordering::SeqCst);
            }
            Ok(Done::at(TargetOutcome::Migrated, Vec::new()))
        };
        let mut finished = Vec::new();
        let stopped = sweep(
            &all,
            &order,
            limits(1),
            &interrupted,
            0,
            &op,
            &mut |i, _| finished.push(i),
        );
        assert_eq!(finished, [0, 1]);
        assert_eq!(*started.lock().unwrap(), ["t0", "t1"]);
        assert_eq!(stopped, Some(Stopped::Interrupted));
    }
}
