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

/// The program `name` (with the platform's executable suffix) in the first folder of `PATH`
/// that has it as an executable file, as a shell finds it.
pub(crate) fn find_program(env: &dyn Env, name: &str) -> Option<std::path::PathBuf> {
    let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&env.var_os("PATH")?)
        .map(|dir| dir.join(&name))
        .find(|path| is_executable(path))
}

#[cfg(unix)]
fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &std::path::Path) -> bool {
    path.is_file()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn find_program_takes_the_first_executable_on_path() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        for dir in [&a, &b, &c] {
            std::fs::create_dir(dir).unwrap();
        }
        // In `a` but not executable; in `b` and `c` executable: `b` wins.
        std::fs::write(a.join("tool"), "").unwrap();
        for dir in [&b, &c] {
            std::fs::write(dir.join("tool"), "").unwrap();
            std::fs::set_permissions(dir.join("tool"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let path = std::env::join_paths([&a, &b, &c]).unwrap();
        let path = path.to_str().unwrap();
        let env = std::collections::HashMap::from([("PATH", path)]);
        assert_eq!(find_program(&env, "tool"), Some(b.join("tool")));
        assert_eq!(find_program(&env, "other"), None);
        assert_eq!(
            find_program(&std::collections::HashMap::new(), "tool"),
            None
        );
    }
}
