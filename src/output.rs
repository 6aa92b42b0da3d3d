//! The one door for output: data goes to stdout, status, warnings and errors to stderr.
//! `--quiet` silences status lines; colour only on a terminal and never with `NO_COLOR`; a
//! progress bar only on a terminal and never with `--quiet`, whatever `NO_COLOR` says.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::settings::{OutputSettings, ProcessEnv, Verbosity};

/// Where everything a command prints goes through.
#[derive(Debug, Clone)]
pub(crate) struct Printer {
    verbosity: Verbosity,
    color: bool,
    progress: bool,
    out: Stream,
    err: Stream,
}

/// Where a printer writes: a standard stream, or a buffer a test reads.
#[derive(Debug, Clone)]
enum Stream {
    Stdout,
    Stderr,
    #[cfg_attr(not(test), allow(dead_code, reason = "only tests capture output"))]
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Stream {
    fn write(&self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        // Output is best effort: a closed pipe (`retort history | head`) is not an error.
        let _ = match self {
            Stream::Stdout => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                write(&mut out).and_then(|()| out.flush())
            }
            Stream::Stderr => write(&mut std::io::stderr().lock()),
            Stream::Buffer(buffer) => match buffer.lock() {
                Ok(mut buffer) => write(&mut *buffer),
                Err(_) => Ok(()),
            },
        };
    }
}

impl Printer {
    /// A printer on the standard streams, deciding colour and progress from stderr and the
    /// process environment.
    pub(crate) fn new(quiet: bool, verbose: bool) -> Self {
        Printer::from_settings(&OutputSettings::resolve(
            Verbosity::from_flags(quiet, verbose),
            &ProcessEnv,
            std::io::stderr().is_terminal(),
        ))
    }

    /// A printer on the standard streams with the decisions of `settings`.
    pub(crate) fn from_settings(settings: &OutputSettings) -> Self {
        Printer {
            verbosity: settings.verbosity,
            color: settings.color,
            progress: settings.progress,
            out: Stream::Stdout,
            err: Stream::Stderr,
        }
    }

    /// `-v`: full entries, statements as they run.
    pub(crate) fn is_verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    /// Whether a progress bar (and the `done:` line that replaces it) is shown on stderr.
    pub(crate) fn shows_progress(&self) -> bool {
        self.progress
    }

    /// A line of data on stdout.
    pub(crate) fn data(&self, line: impl std::fmt::Display) {
        self.out.write(|out| writeln!(out, "{line}"));
    }

    /// Many lines of data on stdout, written in one go (a history of thousands of revisions
    /// would otherwise cost a write per line).
    pub(crate) fn data_lines(&self, lines: impl IntoIterator<Item = String>) {
        self.out.write(|out| {
            for line in lines {
                writeln!(out, "{line}")?;
            }
            Ok(())
        });
    }

    /// Raw text on stdout, as is (offline SQL scripts).
    pub(crate) fn data_raw(&self, text: &str) {
        self.out.write(|out| out.write_all(text.as_bytes()));
    }

    /// A JSON document on stdout.
    pub(crate) fn json<T: serde::Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.data(text),
            Err(e) => self.error(&Error::Internal(format!("cannot encode JSON: {e}"))),
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub(crate) fn status(&self, line: impl std::fmt::Display) {
        if self.verbosity != Verbosity::Quiet {
            self.err.write(|err| writeln!(err, "{line}"));
        }
    }

    /// A warning on stderr, unless `--quiet`.
    pub(crate) fn warn(&self, message: impl std::fmt::Display) {
        if self.verbosity != Verbosity::Quiet {
            let label = self.paint("warning:", "33");
            let message = crate::config::url::scrub_known(&message.to_string());
            self.err.write(|err| writeln!(err, "{label} {message}"));
        }
    }

    /// An error with its cause chain and hint, as one paragraph on stderr.
    pub(crate) fn error(&self, err: &Error) {
        // The last guard: no credential a URL carried reaches the terminal.
        let text =
            crate::config::url::scrub_known(&error_paragraph(err, &self.paint("hint:", "36")));
        let label = self.paint("error:", "31");
        self.err.write(|stream| writeln!(stream, "{label} {text}"));
    }

    fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// An error with its cause chain and its hint (after `hint_label`) as one paragraph: how every
/// error is shown, on stderr and in a report such as `check`'s.
pub(crate) fn error_paragraph(err: &Error, hint_label: &str) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("\n\n{hint_label} {hint}"));
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A printer whose stdout and stderr are buffers, and a reader of both.
    pub(crate) fn capture(verbosity: Verbosity) -> (Printer, impl Fn() -> (String, String)) {
        let (out, err) = (Arc::default(), Arc::default());
        let printer = Printer {
            verbosity,
            color: false,
            progress: false,
            out: Stream::Buffer(Arc::clone(&out)),
            err: Stream::Buffer(Arc::clone(&err)),
        };
        let read = move || {
            let text = |buffer: &Arc<Mutex<Vec<u8>>>| {
                String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
            };
            (text(&out), text(&err))
        };
        (printer, read)
    }

    #[test]
    fn data_goes_to_stdout_and_quiet_keeps_only_data_and_errors() {
        let (printer, read) = capture(Verbosity::Quiet);
        printer.data("row");
        printer.status("working");
        printer.warn("careful");
        printer.error(&Error::PurgeWithSql);
        assert_eq!(
            read(),
            (
                "row\n".to_string(),
                "error: Can't use --purge with --sql mode\n".to_string()
            )
        );
        let (printer, read) = capture(Verbosity::Default);
        printer.status("working");
        printer.error(&Error::MissingConfig {
            path: "m.toml".into(),
        });
        assert_eq!(
            read().1,
            concat!(
                "working\nerror: m.toml: no such config file\n\n",
                "hint: run `retort init` to create one, or pass `-c PATH`\n"
            )
        );
    }
}
