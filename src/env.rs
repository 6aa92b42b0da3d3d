//! The process environment behind a trait: the real one, or a map in tests. Every read of it
//! goes through [`Env`] (clippy's `disallowed-methods` keeps it so).

use std::ffi::OsString;

/// The process environment, or a stand-in for it.
pub(crate) trait Env {
    fn var_os(&self, name: &str) -> Option<OsString>;

    /// The variable as text; `None` when unset or not valid Unicode.
    fn var(&self, name: &str) -> Option<String> {
        self.var_os(name).and_then(|value| value.into_string().ok())
    }
}

/// The real process environment.
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that reads the process environment"
    )]
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

#[cfg(test)]
impl Env for std::collections::HashMap<&str, &str> {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.get(name).map(OsString::from)
    }
}
