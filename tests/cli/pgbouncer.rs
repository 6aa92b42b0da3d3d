//! Through a real PgBouncer: unnamed statements only, and no session advisory lock in
//! transaction pooling, where it cannot keep runners apart.

use retort::Dialect;

use crate::support::private::PrivatePgbouncer;
use crate::support::server::{self, TestDatabase};
use crate::support::TestProject;

/// The host part of `db`'s URL (`user@host:port`), the text after it, and the server's port.
fn split(db: &TestDatabase) -> (&str, &str, u16) {
    let rest = db.url.split_once("://").unwrap().1;
    let (authority, tail) = rest.split_at(rest.find('/').unwrap());
    let port = authority
        .rsplit_once(':')
        .map_or(5432, |(_, port)| port.parse().unwrap());
    (authority, tail, port)
}

/// `db`'s URL with the port of `bouncer` instead of the server's.
fn through(db: &TestDatabase, bouncer: &PrivatePgbouncer) -> String {
    let (authority, tail, _) = split(db);
    let user_host = authority
        .rsplit_once(':')
        .map_or(authority, |(user_host, _)| user_host);
    format!("postgresql://{user_host}:{}{tail}", bouncer.port)
}

#[test]
fn transaction_pooling_needs_unnamed_statements_and_refuses_the_session_lock() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_tx") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 1) else {
        return;
    };
    let url = through(&db, &bouncer);
    // Two clients on one server session: named statements of one (the driver's `s0`, …)
    // would collide with the other's.
    let mut a = server::connect(&url);
    let mut b = server::connect(&url);
    for _ in 0..3 {
        assert!(!a.table_exists(None, "nothing_here").unwrap());
        assert_eq!(
            b.query("SELECT 1::int8").unwrap(),
            vec![vec![retort::Value::Int(1)]]
        );
        assert!(!b.table_exists(None, "nothing_here").unwrap());
        assert_eq!(
            a.query("SELECT 2.50::numeric, DATE '2026-12-01', 'x'::text")
                .unwrap(),
            vec![vec![
                retort::Value::Text("2.50".into()),
                retort::Value::Text("2026-12-01".into()),
                retort::Value::Text("x".into())
            ]]
        );
    }
    drop((a, b));

    let project = TestProject::new();
    project.revision("a1", &[], "");
    let (code, stdout, stderr) = project.run(&["--url", &url, "current"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "{stderr}");
    let (code, _, stderr) = project.run(&["--url", &url, "upgrade", "head", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("a pooler in transaction mode"), "{stderr}");
    assert!(
        stderr.contains("hint: run migrations on a direct connection"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!db.connect().table_exists(None, "t_a1").unwrap());
}

#[test]
fn session_pooling_runs_with_the_advisory_lock() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_session") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "session", 4) else {
        return;
    };
    let url = through(&db, &bouncer);
    let project = TestProject::new();
    project.revision("a1", &[], "");
    let (code, _, stderr) = project.run(&["--url", &url, "upgrade", "head", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(db.connect().table_exists(None, "t_a1").unwrap());
}
