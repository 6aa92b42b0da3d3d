//! TLS to PostgreSQL and MariaDB: the local PostgreSQL (ssl = on, self-signed), and private
//! servers started here with certificates from a certificate authority made for the test.

use retort::{Dialect, Value};

use crate::support::private::{write_private, PrivateMariadb, PrivatePostgres, TestCa};
use crate::support::server::{self, TestDatabase};
use crate::support::TestProject;

/// `url` with `param` added to its query.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// A project whose one revision records whether the session running it is TLS.
fn ssl_recording_project() -> TestProject {
    let project = TestProject::new();
    project.file(
        "migrations/versions/a_rev.sql",
        "-- revision = \"a\"\n-- message = \"ssl\"\n\n-- migrate:upgrade\n\
         CREATE TABLE session_ssl AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n\n\
         -- migrate:downgrade\nDROP TABLE session_ssl;\n",
    );
    project
}

const SESSION_SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn postgres_require_encrypts_the_session_that_runs_the_migrations() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "tls_require") else {
        return;
    };
    for (mode, tls) in [
        ("require", true),
        ("prefer", true),
        ("allow", false),
        ("disable", false),
    ] {
        let mut conn = server::connect(&with_param(&db.url, &format!("sslmode={mode}")));
        assert_eq!(
            conn.query(SESSION_SSL).unwrap(),
            vec![vec![Value::Bool(tls)]],
            "sslmode={mode}"
        );
    }
    let project = ssl_recording_project();
    let url = with_param(&db.url, "sslmode=require");
    let (code, _, stderr) = project.run(&["--url", &url, "upgrade", "head"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        db.connect().query("SELECT ssl FROM session_ssl").unwrap(),
        vec![vec![Value::Bool(true)]]
    );
}

/// One run of `current` against `url`: (exit code, stderr).
fn current(project: &TestProject, url: &str) -> (i32, String) {
    let (code, _, stderr) = project.run(&["--url", url, "current"]);
    (code, stderr)
}

#[test]
fn postgres_verifies_certificates_as_libpq_does() {
    let ca = TestCa::new("retort test CA");
    let other_ca = TestCa::new("some other CA");
    let (server_cert, server_key) = ca.issue(&["localhost"]);
    let (client_cert, client_key) = ca.issue(&["certuser"]);
    // Plain text first: `require` must refuse a server without TLS.
    let Some(pg) = PrivatePostgres::start(
        "ssl = off\n",
        "hostssl all certuser 127.0.0.1/32 cert\nhostssl all certuser ::1/128 cert",
    ) else {
        return;
    };
    let project = TestProject::new();
    let files = project.path();
    let ca_file = write_private(files, "ca.pem", &ca.cert_pem);
    let other_ca_file = write_private(files, "other-ca.pem", &other_ca.cert_pem);
    let client_cert_file = write_private(files, "client.pem", &client_cert);
    let client_key_file = write_private(files, "client.key", &client_key);

    let (code, stderr) = current(
        &project,
        &pg.url("postgres:S3CRETpw", "127.0.0.1", "?sslmode=require"),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the server does not accept TLS connections"),
        "{stderr}"
    );
    assert!(
        stderr.contains("postgresql://postgres:***@127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("S3CRETpw"), "{stderr}");
    assert!(
        stderr.contains("hint: turn TLS on at the server"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    // `prefer` falls back to plain text.
    let mut conn = server::connect(&pg.url("postgres", "127.0.0.1", "?sslmode=prefer"));
    assert_eq!(
        conn.query(SESSION_SSL).unwrap(),
        vec![vec![Value::Bool(false)]]
    );

    // Now TLS on, with a certificate for `localhost` from the test CA.
    let data = pg.dir.path().join("data");
    let cert = write_private(&data, "server.crt", &server_cert);
    let key = write_private(&data, "server.key", &server_key);
    let root = write_private(&data, "root.crt", &ca.cert_pem);
    for path in [&cert, &key, &root] {
        pg.own(path);
    }
    // One statement per call: ALTER SYSTEM refuses a multi-statement (implicit) transaction.
    for (name, path) in [
        ("ssl_cert_file", &cert),
        ("ssl_key_file", &key),
        ("ssl_ca_file", &root),
    ] {
        conn.execute(&format!("ALTER SYSTEM SET {name} = '{}'", path.display()))
            .unwrap();
    }
    conn.execute("ALTER SYSTEM SET ssl = on").unwrap();
    // From now on plain text is refused: a dump that ignored the URL's TLS settings fails.
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("hostnossl all all 127.0.0.1/32 reject\nhostnossl all all ::1/128 reject\n{rules}"),
    )
    .unwrap();
    conn.query("SELECT pg_reload_conf()").unwrap();
    drop(conn);
    std::thread::sleep(std::time::Duration::from_millis(300));

    let ca_param = format!("sslrootcert={}", ca_file.display());
    let other_param = format!("sslrootcert={}", other_ca_file.display());
    // The right CA and host name.
    let url = pg.url(
        "postgres",
        "localhost",
        &format!("?sslmode=verify-full&{ca_param}"),
    );
    let mut conn = server::connect(&url);
    assert_eq!(
        conn.query(SESSION_SSL).unwrap(),
        vec![vec![Value::Bool(true)]]
    );
    let (code, stderr) = current(&project, &url);
    assert_eq!(code, 0, "{stderr}");
    // The backup before a change goes through `pg_dump` with the same TLS settings, whatever
    // `PGSSLMODE` retort itself runs with.
    project.file(
        "migrations/versions/a_rev.sql",
        "-- revision = \"a\"\n-- message = \"a\"\n\n-- migrate:upgrade\nCREATE TABLE t (id int);\n\n\
         -- migrate:downgrade\nDROP TABLE t;\n",
    );
    let out = project
        .retort()
        .args(["--url", &url, "upgrade", "head"])
        .env("PGSSLMODE", "disable")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("backed up to "), "{stderr}");

    // A wrong CA: refused under verify-full, verify-ca, and require with a root certificate
    // (libpq's rule), accepted by require without one.
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = pg.url(
            "postgres:S3CRETpw",
            "localhost",
            &format!("?sslmode={mode}&{other_param}"),
        );
        let (code, stderr) = current(&project, &url);
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(
            stderr.contains(&format!("over TLS (sslmode={mode}): the server's certificate is not signed by a trusted certificate authority (`sslrootcert` file `")),
            "{mode}: {stderr}"
        );
        assert!(
            stderr.contains("hint: set `sslrootcert` to the certificate of the authority"),
            "{stderr}"
        );
        assert!(!stderr.contains("S3CRETpw"), "{stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    }
    let (code, stderr) = current(
        &project,
        &pg.url("postgres", "localhost", "?sslmode=require"),
    );
    assert_eq!(code, 0, "{stderr}");

    // A host name the certificate does not name: refused by verify-full only.
    let (code, stderr) = current(
        &project,
        &pg.url(
            "postgres",
            "127.0.0.1",
            &format!("?sslmode=verify-full&{ca_param}"),
        ),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "the server's certificate is not issued for host `127.0.0.1` (it names `localhost`)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "hint: connect with a host name the certificate names, or use `sslmode=verify-ca`"
        ),
        "{stderr}"
    );
    let (code, stderr) = current(
        &project,
        &pg.url(
            "postgres",
            "127.0.0.1",
            &format!("?sslmode=verify-ca&{ca_param}"),
        ),
    );
    assert_eq!(code, 0, "{stderr}");

    // A client certificate: `certuser` may only log in with one the CA signed.
    let mut conn = server::connect(&pg.url("postgres", "localhost", ""));
    conn.execute("CREATE ROLE certuser LOGIN").unwrap();
    let with_cert = pg.url(
        "certuser",
        "localhost",
        &format!(
            "?sslmode=verify-full&{ca_param}&sslcert={}&sslkey={}",
            client_cert_file.display(),
            client_key_file.display()
        ),
    );
    let mut conn = server::connect(&with_cert);
    assert_eq!(
        conn.query("SELECT current_user::text").unwrap(),
        vec![vec![Value::Text("certuser".into())]]
    );
    let (code, stderr) = current(
        &project,
        &pg.url(
            "certuser",
            "localhost",
            &format!("?sslmode=verify-full&{ca_param}"),
        ),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    // A key file that is not a key.
    let (code, stderr) = current(
        &project,
        &pg.url(
            "certuser",
            "localhost",
            &format!(
                "?sslmode=verify-full&{ca_param}&sslcert={}&sslkey={}",
                client_cert_file.display(),
                ca_file.display()
            ),
        ),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot use `sslkey="), "{stderr}");
    assert!(stderr.contains("no PEM private key in it"), "{stderr}");
}

/// The TLS cipher of a MariaDB session; empty when it is plain text.
fn mysql_cipher(url: &str) -> String {
    let rows = server::connect(url)
        .query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .unwrap();
    match rows.as_slice() {
        [row] => match row.get(1) {
            Some(Value::Text(cipher)) => cipher.clone(),
            other => panic!("Ssl_cipher: {other:?}"),
        },
        other => panic!("Ssl_cipher: {other:?}"),
    }
}

#[test]
fn mysql_ssl_modes_against_servers_with_and_without_tls() {
    let ca = TestCa::new("retort test CA");
    let other_ca = TestCa::new("some other CA");
    let (server_cert, server_key) = ca.issue(&["localhost"]);
    let Some(plain) = PrivateMariadb::start(None) else {
        return;
    };
    let Some(tls) = PrivateMariadb::start(Some((&server_cert, &server_key, &ca.cert_pem))) else {
        return;
    };
    let project = TestProject::new();
    let ca_file = write_private(project.path(), "ca.pem", &ca.cert_pem);
    let other_ca_file = write_private(project.path(), "other-ca.pem", &other_ca.cert_pem);
    let ca_param = format!("ssl-ca={}", ca_file.display());
    let other_param = format!("ssl-ca={}", other_ca_file.display());

    // No TLS at the server: REQUIRED refuses, PREFERRED (the default) falls back to plain text.
    let (code, stderr) = current(
        &project,
        &plain.url("root:S3CRETpw", "127.0.0.1", "?ssl-mode=REQUIRED"),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("over TLS (ssl-mode=REQUIRED): the server does not accept TLS connections"),
        "{stderr}"
    );
    assert!(stderr.contains("mysql://root:***@127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("S3CRETpw"), "{stderr}");
    assert!(stderr.contains("`ssl_cert` and `ssl_key`"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(mysql_cipher(&plain.url("root", "127.0.0.1", "")), "");
    assert_eq!(
        mysql_cipher(&plain.url("root", "127.0.0.1", "?ssl-mode=PREFERRED")),
        ""
    );

    // TLS at the server: every mode but DISABLED encrypts (PREFERRED, the default, on TCP: on a
    // loopback address the driver moves to the server's Unix socket unless told not to).
    for query in [
        "?prefer_socket=false",
        "?ssl-mode=PREFERRED&prefer_socket=false",
        "?ssl-mode=required",
    ] {
        assert_ne!(
            mysql_cipher(&tls.url("root", "127.0.0.1", query)),
            "",
            "{query}"
        );
    }
    assert_eq!(
        mysql_cipher(&tls.url("root", "127.0.0.1", "?ssl-mode=DISABLED")),
        ""
    );
    let verified = tls.url(
        "root",
        "localhost",
        &format!("?ssl-mode=VERIFY_IDENTITY&{ca_param}"),
    );
    assert_ne!(mysql_cipher(&verified), "");
    let (code, stderr) = current(&project, &verified);
    assert_eq!(code, 0, "{stderr}");
    // VERIFY_CA checks the chain, not the name.
    assert_ne!(
        mysql_cipher(&tls.url(
            "root",
            "127.0.0.1",
            &format!("?ssl-mode=VERIFY_CA&{ca_param}")
        )),
        ""
    );

    // A wrong CA, and a host name the certificate does not name.
    for mode in ["VERIFY_IDENTITY", "VERIFY_CA", "REQUIRED"] {
        let (code, stderr) = current(
            &project,
            &tls.url(
                "root",
                "localhost",
                &format!("?ssl-mode={mode}&{other_param}"),
            ),
        );
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(
            stderr.contains(&format!("over TLS (ssl-mode={mode}): the server's certificate is not signed by a trusted certificate authority (`ssl-ca` file `")),
            "{mode}: {stderr}"
        );
        assert!(stderr.contains("hint: set `ssl-ca`"), "{stderr}");
    }
    let (code, stderr) = current(
        &project,
        &tls.url(
            "root",
            "127.0.0.1",
            &format!("?ssl-mode=VERIFY_IDENTITY&{ca_param}"),
        ),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "the server's certificate is not issued for host `127.0.0.1` (it names `localhost`)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("or use `ssl-mode=VERIFY_CA`"), "{stderr}");
    // A CA file that is missing.
    let (code, stderr) = current(
        &project,
        &tls.url(
            "root",
            "localhost",
            "?ssl-mode=VERIFY_CA&ssl-ca=missing.pem",
        ),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot use `ssl-ca=missing.pem`"),
        "{stderr}"
    );
}
