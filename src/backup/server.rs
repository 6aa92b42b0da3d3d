//! Dumps of PostgreSQL and MySQL/MariaDB databases through the user's `[backup] command` or the
//! server's own dump tool. Credentials travel in the child's environment only: a command line
//! is visible to every user of the machine (`ps`), an environment is not.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{create_backup_file, finish_backup, BackupRecord};
use crate::config::tls::{RootCert, TlsMode, TlsSettings, Verify};
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// The dump tools retort looks for when `[backup] command` is not set, as named in messages.
pub(super) fn default_tool(dialect: Dialect) -> String {
    default_tools(dialect).join("` or `")
}

/// The client tools that ship the dump tools of `dialect`, for the hint to install them.
pub(super) fn client_package(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgresql => "the PostgreSQL client, e.g. package `postgresql-client`",
        _ => "the MariaDB or MySQL client, e.g. package `mariadb-client`",
    }
}

/// The dump tools to look for, in order (MariaDB renamed `mysqldump` to `mariadb-dump`).
fn default_tools(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgresql => &["pg_dump"],
        _ => &["mysqldump", "mariadb-dump"],
    }
}

/// The parts of a server URL a dump tool needs.
#[derive(Debug, Default, PartialEq, Eq)]
struct ServerTarget {
    user: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<String>,
    database: String,
}

/// Dumps the database of `url` into `dir`; `Ok(None)` when there is no way to (no command set
/// and no dump tool on `PATH`).
pub(super) fn dump(
    config: &Config,
    url: &DatabaseUrl,
    dir: &Path,
    trigger: &str,
    version_rows: &[String],
) -> Result<Option<BackupRecord>> {
    let target = parse_server_url(url.expose_secret());
    // The dump travels as the run does: same TLS mode and certificates.
    let (tls, _) = TlsSettings::from_url(url.dialect(), url.expose_secret(), &url.to_string())?;
    let mut command = match &config.backup.command {
        Some(line) => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
        None => match default_tools(url.dialect())
            .iter()
            .find_map(|t| find_on_path(t))
        {
            Some(tool) => default_command(&tool, url.dialect(), &target, &tls),
            None => return Ok(None),
        },
    };
    let described = match &config.backup.command {
        Some(line) => line.clone(),
        None => command.get_program().to_string_lossy().into_owned(),
    };
    let stem = if target.database.is_empty() {
        "database".to_string()
    } else {
        target.database.clone()
    };
    let partial = create_backup_file(dir, &stem, "sql")?;
    // The child gets its own handle; ours keeps the file locked until it is complete.
    let stdout = partial
        .file
        .try_clone()
        .map_err(|e| Error::io("write", &partial.temp_path, e))?;
    set_environment(&mut command, &target, &tls, &partial.temp_path);
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .output();
    let failure = match output {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(e.to_string()),
    };
    if let Some(failure) = failure {
        partial.discard();
        // The command line and a dump tool's complaint may quote the URL or its password.
        let scrub = |text: &str| crate::config::url::scrub_secrets(text, url.expose_secret());
        return Err(Error::DumpFailed {
            command: scrub(&described),
            failure: scrub(&failure),
        });
    }
    finish_backup(
        partial,
        dir,
        super::database_identity(url),
        trigger,
        version_rows,
        url.dialect(),
    )
    .map(Some)
}

fn default_command(
    tool: &Path,
    dialect: Dialect,
    target: &ServerTarget,
    tls: &TlsSettings,
) -> Command {
    let mut command = Command::new(tool);
    match dialect {
        // Everything comes from PG* variables; --no-password never blocks on a prompt.
        Dialect::Postgresql => {
            command.arg("--no-password");
        }
        _ => {
            command.arg("--single-transaction").arg("--routines");
            if let Some(host) = &target.host {
                command.arg(format!("--host={host}"));
            }
            if let Some(port) = &target.port {
                command.arg(format!("--port={port}"));
            }
            if let Some(user) = &target.user {
                command.arg(format!("--user={user}"));
            }
            command.args(mysql_tls_args(tls, is_mariadb_tool(tool)));
            command.arg("--").arg(&target.database);
        }
    }
    command
}

/// Whether a MySQL dump tool is MariaDB's (`mysqldump` is often a link to `mariadb-dump`), whose
/// TLS options differ from MySQL's.
fn is_mariadb_tool(tool: &Path) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("MariaDB"))
}

/// The dump tool's TLS options for the URL's `ssl-*` parameters (paths only: no secret).
/// MySQL's tools take `--ssl-mode`; MariaDB's take `--ssl` and `--ssl-verify-server-cert`,
/// which checks the host name too (they have no check of the chain alone).
fn mysql_tls_args(tls: &TlsSettings, mariadb: bool) -> Vec<String> {
    let mut args = Vec::new();
    if mariadb {
        match tls.mode {
            TlsMode::Disable | TlsMode::Allow => args.push("--skip-ssl".to_string()),
            TlsMode::Prefer => {}
            _ => args.push("--ssl".to_string()),
        }
    } else {
        let effective = match (tls.mode, tls.verify()) {
            (TlsMode::Require, Verify::Chain) => TlsMode::VerifyCa,
            (mode, _) => mode,
        };
        let mode = crate::config::tls::mode_name(Dialect::Mysql, effective);
        args.push(format!("--ssl-mode={mode}"));
    }
    let files = [
        (
            "--ssl-ca",
            match &tls.root_cert {
                Some(RootCert::File(path)) => Some(path),
                _ => None,
            },
        ),
        ("--ssl-cert", tls.cert.as_ref()),
        ("--ssl-key", tls.key.as_ref()),
    ];
    for (option, path) in files {
        if let Some(path) = path {
            args.push(format!("{option}={}", path.display()));
        }
    }
    if mariadb && tls.mode > TlsMode::Prefer && tls.verify() != Verify::Nothing {
        args.push("--ssl-verify-server-cert".to_string());
    }
    args
}

/// The connection settings as the dump tools read them, plus `RETORT_*` variables for a user's
/// command. The password is only ever in `PGPASSWORD` / `MYSQL_PWD`; for PostgreSQL the TLS
/// settings go in libpq's `PGSSL*` variables (a user's command gets them too).
fn set_environment(command: &mut Command, target: &ServerTarget, tls: &TlsSettings, out: &Path) {
    let dialect = tls.dialect;
    let server_vars = match dialect {
        Dialect::Postgresql => [
            ("PGHOST", &target.host),
            ("PGPORT", &target.port),
            ("PGUSER", &target.user),
            ("PGPASSWORD", &target.password),
        ],
        _ => [
            ("MYSQL_HOST", &target.host),
            ("MYSQL_TCP_PORT", &target.port),
            ("MYSQL_USER", &target.user),
            ("MYSQL_PWD", &target.password),
        ],
    };
    let retort_vars = [
        ("RETORT_DB_HOST", &target.host),
        ("RETORT_DB_PORT", &target.port),
        ("RETORT_DB_USER", &target.user),
    ];
    for (name, value) in server_vars.into_iter().chain(retort_vars) {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    if dialect == Dialect::Postgresql {
        command.env("PGDATABASE", &target.database);
        // Always set, so that a `PGSSLMODE` of retort's own environment does not apply.
        command.env("PGSSLMODE", tls.mode_name());
        let root = match &tls.root_cert {
            Some(RootCert::File(path)) => Some(path.as_os_str()),
            Some(RootCert::System) => Some("system".as_ref()),
            None => None,
        };
        let files = [
            ("PGSSLROOTCERT", root),
            ("PGSSLCERT", tls.cert.as_ref().map(|p| p.as_os_str())),
            ("PGSSLKEY", tls.key.as_ref().map(|p| p.as_os_str())),
        ];
        for (name, value) in files {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
    }
    command.env("RETORT_DB_NAME", &target.database);
    command.env("RETORT_BACKUP_FILE", out);
}

#[allow(
    clippy::disallowed_methods,
    reason = "the `PATH` the dump tool would run with, not a retort setting"
)]
fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// `scheme://[user[:password]@]host[:port]/database[?params]`, percent-decoded.
fn parse_server_url(raw: &str) -> ServerTarget {
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    let (user, password) = match credentials {
        Some(c) => match c.split_once(':') {
            Some((user, password)) => (Some(user), Some(password)),
            None => (Some(c), None),
        },
        None => (None, None),
    };
    let (host, port) = match host_port.strip_prefix('[') {
        // IPv6 literal: [::1]:5432
        Some(v6) => match v6.split_once(']') {
            Some((host, port)) => (host, port.strip_prefix(':')),
            None => (v6, None),
        },
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let non_empty = |s: &str| (!s.is_empty()).then(|| crate::config::url::percent_decode(s));
    ServerTarget {
        user: user.and_then(non_empty),
        password: password.and_then(non_empty),
        host: non_empty(host),
        port: port.and_then(non_empty),
        database: crate::config::url::percent_decode(database),
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::super::tests::config_with;
    use super::*;

    #[test]
    fn a_user_command_gets_credentials_from_the_environment_and_its_output_is_the_dump() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_with(
            tmp.path(),
            r#"[backup]
command = 'printf "%s|%s|%s|%s" "$PGPASSWORD" "$PGDATABASE" "$RETORT_DB_USER" "$*"'"#,
        );
        let url = DatabaseUrl::parse("postgresql://app:s3cret@127.0.0.1:5432/shop").unwrap();
        let dir = tmp.path().join("dumps");
        let rows = vec!["1975ea83b712".to_string()];
        let record = dump(&config, &url, &dir, "upgrade head", &rows)
            .unwrap()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&record.backup_path).unwrap(),
            "s3cret|shop|app|"
        );
        let name = record
            .backup_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("shop_") && name.ends_with(".sql"),
            "{name}"
        );
        let mode = std::fs::metadata(&record.backup_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(record.dialect, "postgresql");
        assert_eq!(record.version_rows, rows);
        assert!(!record.original_path.to_string_lossy().contains("s3cret"));
        assert_eq!(BackupRecord::load(&record.backup_path).unwrap(), record);
    }

    #[test]
    fn a_failing_command_fails_naming_it_and_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_with(
            tmp.path(),
            r#"[backup]
command = "echo no route to host >&2; exit 3""#,
        );
        let url = DatabaseUrl::parse("mysql://root@127.0.0.1:3306/test").unwrap();
        let dir = tmp.path().join("dumps");
        let err = dump(&config, &url, &dir, "upgrade head", &[]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`echo no route to host >&2; exit 3` failed"),
            "{text}"
        );
        assert!(text.contains("no route to host"), "{text}");
        assert!(text.contains("nothing was changed"), "{text}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn server_url_parts_are_decoded() {
        let target = parse_server_url("postgresql://app:p%40ss%3Aw@db.local:6543/shop?sslmode=off");
        assert_eq!(
            target,
            ServerTarget {
                user: Some("app".into()),
                password: Some("p@ss:w".into()),
                host: Some("db.local".into()),
                port: Some("6543".into()),
                database: "shop".into(),
            }
        );
    }

    #[test]
    fn server_url_without_credentials_or_port() {
        let target = parse_server_url("mysql://[::1]/test");
        assert_eq!(target.user, None);
        assert_eq!(target.password, None);
        assert_eq!(target.host.as_deref(), Some("::1"));
        assert_eq!(target.port, None);
        assert_eq!(target.database, "test");
    }

    #[test]
    fn password_goes_to_the_environment_not_the_arguments() {
        let raw = "mysql://root:s3cret@127.0.0.1:3306/test";
        let target = parse_server_url(raw);
        let (tls, _) = TlsSettings::from_url(Dialect::Mysql, raw, raw).unwrap();
        let mut command = default_command(Path::new("mysqldump"), Dialect::Mysql, &target, &tls);
        set_environment(&mut command, &target, &tls, Path::new("/tmp/x.sql"));
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.iter().all(|a| !a.contains("s3cret")), "{args:?}");
        assert!(args.contains(&"--user=root".to_string()));
        let pwd = command
            .get_envs()
            .find(|(name, _)| *name == "MYSQL_PWD")
            .and_then(|(_, value)| value.map(|v| v.to_string_lossy().into_owned()));
        assert_eq!(pwd.as_deref(), Some("s3cret"));
    }

    #[test]
    fn tls_settings_reach_the_dump_tools() {
        let tls = |raw: &str| {
            TlsSettings::from_url(DatabaseUrl::parse(raw).unwrap().dialect(), raw, raw)
                .unwrap()
                .0
        };
        let raw = "postgresql://app:s3cret@db/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem";
        let mut command = Command::new("pg_dump");
        set_environment(
            &mut command,
            &parse_server_url(raw),
            &tls(raw),
            Path::new("/tmp/x.sql"),
        );
        let env = |name: &str| {
            command
                .get_envs()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        };
        assert_eq!(env("PGSSLMODE").as_deref(), Some("verify-full"));
        assert_eq!(env("PGSSLROOTCERT").as_deref(), Some("/etc/ca.pem"));
        assert_eq!(env("PGSSLCERT"), None);

        let raw = "mysql://root@db/shop?ssl-mode=REQUIRED&ssl-ca=/etc/ca.pem&ssl-cert=c.pem&ssl-key=k.pem";
        // With a CA, REQUIRED checks the chain (as the run does).
        assert_eq!(
            mysql_tls_args(&tls(raw), false),
            [
                "--ssl-mode=VERIFY_CA",
                "--ssl-ca=/etc/ca.pem",
                "--ssl-cert=c.pem",
                "--ssl-key=k.pem"
            ]
        );
        assert_eq!(
            mysql_tls_args(&tls(raw), true),
            [
                "--ssl",
                "--ssl-ca=/etc/ca.pem",
                "--ssl-cert=c.pem",
                "--ssl-key=k.pem",
                "--ssl-verify-server-cert"
            ]
        );
        assert_eq!(
            mysql_tls_args(&tls("mysql://root@db/shop?ssl-mode=DISABLED"), true),
            ["--skip-ssl"]
        );
        assert_eq!(
            mysql_tls_args(&tls("mysql://root@db/shop"), false),
            ["--ssl-mode=PREFERRED"]
        );
    }
}
