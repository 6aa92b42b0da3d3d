//! Table-lock and statement timeouts, and how often a revision that hit one is retried:
//! `lock_timeout`, `statement_timeout`, `retries` and `retry_budget` in `migrate.toml`, the
//! first three overridable in a revision's header. Durations are written as PostgreSQL writes
//! them (`500ms`, `2s`, `30min`, `1h`; `0` turns a timeout off), so the value in the file is
//! the value the server is given.

use std::time::Duration;

/// PostgreSQL's default for `lock_timeout` is none: a migration waiting for an `ACCESS
/// EXCLUSIVE` lock behind a long transaction queues every reader of the table. Two seconds
/// is what a busy site can afford to stall.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a revision that hit a lock timeout or a deadlock is tried again.
pub(crate) const DEFAULT_RETRIES: u32 = 10;
/// How long all the attempts of one revision may take together, waits included.
pub(crate) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(5 * 60);

/// The timeouts of the project (`[migrate]`), the defaults of every revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long one statement may wait for a table or row lock; zero: as long as it takes.
    pub lock_timeout: Duration,
    /// How long one statement may run; zero (the default): as long as it takes.
    pub statement_timeout: Duration,
    /// How many more attempts a revision gets after a lock timeout or a deadlock.
    pub retries: u32,
    /// The time all attempts of one revision may take, backoff waits included.
    pub retry_budget: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            statement_timeout: Duration::ZERO,
            retries: DEFAULT_RETRIES,
            retry_budget: DEFAULT_RETRY_BUDGET,
        }
    }
}

/// What a revision's header sets; `None` keeps the project's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeoutOverrides {
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
    pub retries: Option<u32>,
}

impl Timeouts {
    /// The timeouts of a revision whose header sets `overrides`.
    pub fn with(self, overrides: &TimeoutOverrides) -> Timeouts {
        Timeouts {
            lock_timeout: overrides.lock_timeout.unwrap_or(self.lock_timeout),
            statement_timeout: overrides
                .statement_timeout
                .unwrap_or(self.statement_timeout),
            retries: overrides.retries.unwrap_or(self.retries),
            retry_budget: self.retry_budget,
        }
    }
}

/// Parses a duration as PostgreSQL reads its time settings, always with a unit: a number
/// (fractions allowed) and `us`, `ms`, `s`, `min`, `h` or `d`, optionally apart by spaces;
/// `0` alone is zero (off). A bare number is refused: PostgreSQL would read `5` as 5 ms for
/// `lock_timeout`, which is rarely what was meant. The error says what is wrong.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit; write e.g. `{text}ms` or `{text}s`"))?;
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim_start() {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => {
            return Err(format!(
                "unknown unit `{other}`; use `ms`, `s`, `min` or `h` (as PostgreSQL does)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .ok()
        .filter(|d| *d <= Duration::from_secs(100 * 86400))
        .ok_or_else(|| format!("`{text}` is out of range (at most 100 days)"))
}

/// A duration as the docs and messages write it: `200ms`, `2s`, `1.5s`, `5min`.
pub(crate) fn display(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}min", ms / 60_000)
    } else {
        let text = format!("{:.1}", duration.as_secs_f64());
        format!("{}s", text.trim_end_matches(".0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_postgresql_writes_them() {
        for (text, ms) in [
            ("0", 0),
            ("200ms", 200),
            ("2s", 2000),
            ("1.5s", 1500),
            ("5 s", 5000),
            ("30min", 1_800_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            ("500us", 0),
        ] {
            assert_eq!(parse_duration(text).unwrap().as_millis(), ms, "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5m")
            .unwrap_err()
            .contains("unknown unit `m`"));
        assert!(parse_duration("").unwrap_err().contains("no unit"));
        assert!(parse_duration("1.2.3s")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_duration("-1s").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1000d")
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn durations_display_in_the_largest_fitting_unit() {
        assert_eq!(display(Duration::from_millis(200)), "200ms");
        assert_eq!(display(Duration::from_millis(2000)), "2s");
        assert_eq!(display(Duration::from_millis(1500)), "1.5s");
        assert_eq!(display(Duration::from_secs(300)), "5min");
    }

    #[test]
    fn a_header_overrides_only_what_it_sets() {
        let project = Timeouts::default();
        let overrides = TimeoutOverrides {
            lock_timeout: Some(Duration::from_secs(5)),
            retries: Some(0),
            ..TimeoutOverrides::default()
        };
        let revision = project.with(&overrides);
        assert_eq!(revision.lock_timeout, Duration::from_secs(5));
        assert_eq!(revision.retries, 0);
        assert_eq!(revision.statement_timeout, Duration::ZERO);
        assert_eq!(revision.retry_budget, DEFAULT_RETRY_BUDGET);
    }
}
