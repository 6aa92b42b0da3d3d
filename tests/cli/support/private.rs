//! Servers a test starts for itself on a free port (a PostgreSQL or MariaDB with its own TLS
//! settings, a PgBouncer), and a certificate authority made for the test. Each server is
//! stopped by its PID when the guard is dropped.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// PostgreSQL's server programs (Debian's layout).
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A port nobody listens on now.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Whether this process runs as root, where the servers refuse to run and run as their own
/// system user instead.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program args` as `user` when running as root, else as ourselves.
fn command_as(user: &str, program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", user, "--", program]);
        command
    } else {
        Command::new(program)
    }
}

/// Gives `path` (recursively) to `user` when running as root.
fn give_to(user: &str, path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", user])
            .arg(path)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {user} {}", path.display());
    }
}

fn run(mut command: Command) {
    let out = command.output().expect("start server tool");
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `pid` has exited (a server's shutdown), at most 30 s.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to `pid`, ignoring a process that is gone already.
pub(crate) fn kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Waits until something accepts TCP connections on `port`, at most 30 s.
pub(crate) fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A certificate authority made for one test, and server or client certificates it signs.
pub(crate) struct TestCa {
    pub cert_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub(crate) fn new(name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            cert_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (host names or IP addresses; the first is also the common
    /// name, which a client certificate's user is taken from), and its key, in PEM.
    pub(crate) fn issue(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes `text` to `dir/name` with mode 0600 (servers refuse readable keys); returns the path.
pub(crate) fn write_private(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// A PostgreSQL 15 cluster of its own (trust authentication, user `postgres`), on a free port.
pub(crate) struct PrivatePostgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pid: u32,
}

impl PrivatePostgres {
    /// `None` (and a note) where PostgreSQL's server programs are not installed, except under
    /// `CI=true`, where the test fails.
    pub(crate) fn start(extra_conf: &str, hba: &str) -> Option<PrivatePostgres> {
        if !Path::new(PG_BIN).join("initdb").exists() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{PG_BIN}/initdb is needed when CI=true"
            );
            eprintln!("skipped: {PG_BIN}/initdb not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        give_to("postgres", dir.path());
        let mut initdb = command_as("postgres", &format!("{PG_BIN}/initdb"));
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "--no-instructions",
        ]);
        run(initdb);
        let port = free_port();
        let conf = format!(
            "port = {port}\nlisten_addresses = 'localhost'\nunix_socket_directories = '{}'\n\
             fsync = off\nshared_buffers = 16MB\nmax_connections = 40\n{extra_conf}\n",
            dir.path().display()
        );
        append(&data.join("postgresql.conf"), &conf);
        // The first matching line wins: the test's lines come before initdb's.
        let default_hba = std::fs::read_to_string(data.join("pg_hba.conf")).expect("pg_hba");
        std::fs::write(data.join("pg_hba.conf"), format!("{hba}\n{default_hba}")).expect("pg_hba");
        give_to("postgres", dir.path());
        let mut pg_ctl = command_as("postgres", &format!("{PG_BIN}/pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("server.log"))
            .args(["-w", "-t", "60", "start"]);
        run(pg_ctl);
        let pid_file =
            std::fs::read_to_string(data.join("postmaster.pid")).expect("postmaster.pid");
        let pid = pid_file
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("PID in postmaster.pid");
        Some(PrivatePostgres { dir, port, pid })
    }

    /// The URL of database `postgres` on `host`, with `query` appended.
    pub(crate) fn url(&self, user: &str, host: &str, query: &str) -> String {
        format!("postgresql://{user}@{host}:{}/postgres{query}", self.port)
    }

    /// Gives a file the test wrote to the server's user, mode 0600.
    pub(crate) fn own(&self, path: &Path) {
        give_to("postgres", path);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (ends the sessions, no waiting for clients).
        kill(self.pid, "INT");
        wait_gone(self.pid);
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    file.write_all(text.as_bytes()).expect("append");
}

/// A MariaDB server of its own on a free port, on an empty data directory with
/// `--skip-grant-tables` (any user logs in): starts in well under a second.
pub(crate) struct PrivateMariadb {
    /// Holds the data directory until the server is stopped.
    _dir: tempfile::TempDir,
    pub port: u16,
    child: std::process::Child,
}

impl PrivateMariadb {
    /// `tls`: the server's certificate, key and CA in PEM. `None` (and a note) where `mariadbd`
    /// is not installed, except under `CI=true`, where the test fails.
    pub(crate) fn start(tls: Option<(&str, &str, &str)>) -> Option<PrivateMariadb> {
        let Some(program) = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
            .into_iter()
            .find(|p| Path::new(p).exists())
        else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "mariadbd is needed when CI=true"
            );
            eprintln!("skipped: mariadbd not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder in the data directory is a database to MariaDB.
        std::fs::create_dir_all(dir.path().join("data/test")).expect("data dir");
        let port = free_port();
        let mut command = Command::new(program);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=8M",
                "--innodb-log-file-size=4M",
            ]);
        if is_root() {
            command.arg("--user=mysql");
        }
        if let Some((cert, key, ca)) = tls {
            for (option, name, pem) in [
                ("cert", "server.crt", cert),
                ("key", "server.key", key),
                ("ca", "ca.crt", ca),
            ] {
                let path = write_private(dir.path(), name, pem);
                command.arg(format!("--ssl-{option}={}", path.display()));
            }
        }
        give_to("mysql", dir.path());
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = command
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        wait_listening(port);
        Some(PrivateMariadb {
            _dir: dir,
            port,
            child,
        })
    }

    /// The URL of database `test` on `host`, with `query` appended.
    pub(crate) fn url(&self, user: &str, host: &str, query: &str) -> String {
        format!("mysql://{user}@{host}:{}/test{query}", self.port)
    }
}

impl Drop for PrivateMariadb {
    fn drop(&mut self) {
        kill(self.child.id(), "TERM");
        let _ = self.child.wait();
    }
}

/// A PgBouncer of its own on a free port in front of the server of `RETORT_TEST_PG_URL`
/// (Debian's `pgbouncer` package), trusting every user.
pub(crate) struct PrivatePgbouncer {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivatePgbouncer {
    /// `pool_mode` (`transaction`, `session`) with `pool_size` server sessions per database and
    /// user; `None` (and a note) where pgbouncer is not installed, except under `CI=true`.
    pub(crate) fn start(
        server_port: u16,
        pool_mode: &str,
        pool_size: u32,
    ) -> Option<PrivatePgbouncer> {
        let program = "/usr/sbin/pgbouncer";
        if !Path::new(program).exists() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "pgbouncer is needed when CI=true"
            );
            eprintln!("skipped: pgbouncer not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").expect("userlist");
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\npool_mode = {pool_mode}\n\
             default_pool_size = {pool_size}\nlogfile = {}\npidfile = {}\n",
            path("users.txt"),
            path("pgbouncer.log"),
            path("pgbouncer.pid"),
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).expect("ini");
        give_to("postgres", dir.path());
        let mut command = command_as("postgres", program);
        command.arg("-d").arg(dir.path().join("pgbouncer.ini"));
        run(command);
        wait_listening(port);
        Some(PrivatePgbouncer { dir, port })
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for PrivatePgbouncer {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            kill(pid, "INT");
            wait_gone(pid);
        }
    }
}
