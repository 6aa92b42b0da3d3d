//! The one door for output: data goes to stdout, status, warnings and errors to stderr.
//! `--quiet` silences status lines; colour only on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use crate::error::Error;

/// Where everything a command prints goes through.
#[derive(Debug, Clone)]
pub struct Printer {
    pub quiet: bool,
    pub verbose: bool,
    color: bool,
}

impl Printer {
    pub fn new(quiet: bool, verbose: bool) -> Self {
        let color = use_color(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        Printer {
            quiet,
            verbose,
            color,
        }
    }

    /// Whether stderr is a terminal that may show progress bars and colour.
    pub fn is_interactive(&self) -> bool {
        self.color && !self.quiet
    }

    /// A line of data on stdout.
    #[allow(clippy::print_stdout, reason = "this is the stdout door")]
    pub fn data(&self, line: impl std::fmt::Display) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// Many lines of data on stdout, written in one go (a history of thousands of revisions
    /// would otherwise cost a write per line).
    pub fn data_lines(&self, lines: impl IntoIterator<Item = String>) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for line in lines {
            if writeln!(out, "{line}").is_err() {
                return;
            }
        }
        let _ = out.flush();
    }

    /// Raw text on stdout, as is (offline SQL scripts).
    pub fn data_raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// A JSON document on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.data(text),
            Err(e) => self.error(&Error::Internal(format!("cannot encode JSON: {e}"))),
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// A warning on stderr, unless `--quiet`.
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            let label = self.paint("warning:", "33");
            let message = crate::config::url::scrub_known(&message.to_string());
            let _ = writeln!(std::io::stderr().lock(), "{label} {message}");
        }
    }

    /// An error with its cause chain and hint, as one paragraph on stderr.
    pub fn error(&self, err: &Error) {
        let mut text = format!("{} {err}", self.paint("error:", "31"));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!("\n  caused by: {cause}"));
            source = cause.source();
        }
        if let Some(hint) = err.hint() {
            text.push_str(&format!("\n\n{} {hint}", self.paint("hint:", "36")));
        }
        let text = crate::config::url::scrub_known(&text);
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty string
/// (<https://no-color.org>).
fn use_color(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.map_or(true, |value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::use_color;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(use_color(true, Some(OsStr::new(""))));
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(false, None));
    }
}
