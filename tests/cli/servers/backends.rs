//! The PostgreSQL and MySQL/MariaDB backends, driven directly through `retort::__test_support::connect` and
//! the `Connection` trait against the real servers.

use std::time::Duration;

use retort::Value;
use retort::{DatabaseUrl, Dialect};

use crate::support::server::{self, server_url, with_database, TestDatabase};

const SERVERS: [Dialect; 2] = [Dialect::Postgresql, Dialect::Mysql];

/// Runs `test` once per server that is configured, each time in a fresh database.
fn on_each_server(name: &str, test: impl Fn(&TestDatabase)) {
    for dialect in SERVERS {
        if let Some(db) = TestDatabase::create(dialect, name) {
            test(&db);
        }
    }
}

fn connect_error(url: &str) -> String {
    let url = DatabaseUrl::parse(url).unwrap();
    match retort::__test_support::connect(&url) {
        Ok(_) => panic!("connecting to {url} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn execute_counts_rows_and_query_reads_them_back() {
    on_each_server("execute_query", |db| {
        let mut conn = db.connect();
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            .unwrap();
        let inserted = conn
            .execute("INSERT INTO t VALUES (1, 'a;b'), (2, NULL)")
            .unwrap();
        assert_eq!(inserted, 2, "{:?}", db.dialect);
        let rows = conn.query("SELECT id, name FROM t ORDER BY id").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Value::Int(1), Value::Text("a;b".into())],
                vec![Value::Int(2), Value::Null],
            ]
        );
        let err = conn.query("SELECT * FROM missing_table").unwrap_err();
        assert!(err.message.contains("missing_table"), "{}", err.message);
    });
}

#[test]
fn postgres_values_map_by_type() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pg_values") else {
        return;
    };
    let mut conn = db.connect();
    let rows = conn
        .query(
            "SELECT true, 7::int2, 70000::int4, 9000000000::int8, 1.5::float8, 'txt'::text, \
             12.50::numeric, '\\x00ff'::bytea, NULL::int, DATE '2026-11-23', '{1,2}'::int[]",
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Value::Bool(true),
            Value::Int(7),
            Value::Int(70000),
            Value::Int(9_000_000_000),
            Value::Real(1.5),
            Value::Text("txt".into()),
            Value::Text("12.50".into()),
            Value::Bytes(vec![0, 255]),
            Value::Null,
            Value::Text("2026-11-23".into()),
            Value::Text("{1,2}".into()),
        ]]
    );
    // `query` prepares first, so a multi-statement string is refused, never run as one.
    assert!(conn.query("SELECT 1; SELECT 2").is_err());
    // Utility statements can be queried too.
    let shown = conn.query("SHOW server_version_num").unwrap();
    assert!(
        matches!(&shown[..], [row] if matches!(&row[..], [Value::Text(_)])),
        "{shown:?}"
    );
    assert_eq!(
        conn.query("CREATE TABLE q (id int)").unwrap(),
        Vec::<Vec<Value>>::new()
    );
}

#[test]
fn mysql_values_map_by_type() {
    let Some(db) = TestDatabase::create(Dialect::Mysql, "mysql_values") else {
        return;
    };
    let mut conn = db.connect();
    conn.execute(
        "CREATE TABLE v (b BOOL, i BIGINT, u BIGINT UNSIGNED, f DOUBLE, d DECIMAL(5,2), \
         s VARCHAR(10), bin VARBINARY(4), dt DATE, n INT)",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO v VALUES (1, -9000000000, 18446744073709551615, 1.5, 12.50, 'txt', \
         X'00FF', '2026-11-23', NULL)",
    )
    .unwrap();
    assert_eq!(
        conn.query("SELECT * FROM v").unwrap(),
        vec![vec![
            Value::Int(1),
            Value::Int(-9_000_000_000),
            Value::Text("18446744073709551615".into()),
            Value::Real(1.5),
            Value::Text("12.50".into()),
            Value::Text("txt".into()),
            Value::Bytes(vec![0, 255]),
            Value::Text("2026-11-23".into()),
            Value::Null,
        ]]
    );
}

#[test]
fn postgres_rolls_back_ddl_and_commits_it() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pg_txn") else {
        return;
    };
    let mut conn = db.connect();
    conn.begin().unwrap();
    conn.execute("CREATE TABLE gone (id int)").unwrap();
    assert!(conn.table_exists(None, "gone").unwrap());
    conn.rollback().unwrap();
    assert!(!conn.table_exists(None, "gone").unwrap());

    conn.begin().unwrap();
    conn.execute("CREATE SCHEMA app").unwrap();
    conn.execute("CREATE TABLE app.kept (id int)").unwrap();
    conn.commit().unwrap();
    assert!(conn.table_exists(Some("app"), "kept").unwrap());
    assert!(!conn.table_exists(Some("public"), "kept").unwrap());
    assert!(
        !conn.table_exists(None, "kept").unwrap(),
        "not on the search path"
    );
    // An index is not a table.
    conn.execute("CREATE INDEX kept_idx ON app.kept (id)")
        .unwrap();
    assert!(!conn.table_exists(Some("app"), "kept_idx").unwrap());
}

#[test]
fn mysql_ddl_commits_implicitly_but_data_rolls_back() {
    let Some(db) = TestDatabase::create(Dialect::Mysql, "mysql_txn") else {
        return;
    };
    let mut conn = db.connect();
    assert!(!conn.dialect().transactional_ddl());
    conn.begin().unwrap();
    conn.execute("CREATE TABLE stays (id INT)").unwrap();
    conn.rollback().unwrap();
    assert!(
        conn.table_exists(None, "stays").unwrap(),
        "DDL committed implicitly"
    );
    assert!(conn.table_exists(Some(&db.name), "stays").unwrap());
    assert!(!conn.table_exists(Some("mysql"), "stays").unwrap());

    conn.begin().unwrap();
    conn.execute("INSERT INTO stays VALUES (1)").unwrap();
    conn.rollback().unwrap();
    assert_eq!(
        conn.query("SELECT COUNT(*) FROM stays").unwrap(),
        vec![vec![Value::Int(0)]]
    );
}

#[test]
fn a_second_runner_waits_for_the_lock_and_times_out_clearly() {
    on_each_server("lock_timeout", |db| {
        let mut first = db.connect();
        let mut second = db.connect();
        assert!(
            first
                .try_lock("retort_version", Duration::from_secs(5))
                .unwrap(),
            "a free lock is taken without waiting"
        );

        assert!(
            !second
                .try_lock("retort_version", Duration::from_millis(300))
                .unwrap(),
            "a held lock is not taken without waiting"
        );
        let err = second
            .lock("retort_version", Duration::from_millis(300))
            .unwrap_err();
        assert!(err.is_lock_timeout, "{err}");
        assert!(err.message.contains("timed out"), "{err}");

        // Another key (another version table) is a different lock.
        second
            .lock("other_version", Duration::from_secs(1))
            .unwrap();
        second.unlock("other_version").unwrap();

        first.unlock("retort_version").unwrap();
        second
            .lock("retort_version", Duration::from_secs(5))
            .unwrap();
        assert!(first.unlock("retort_version").is_err(), "not held any more");
        second.unlock("retort_version").unwrap();
    });
}

/// A holder whose lock session is gone while its transaction is still open (a runner killed
/// during its COMMIT): the next runner gets the lock only once that transaction is over, and
/// a wait that runs out first says what it waited for and leaves the lock free.
#[test]
fn the_lock_waits_for_the_transaction_of_a_holder_whose_lock_session_ended() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pg_commit_wait") else {
        return;
    };
    let mut first = db.connect();
    let mut second = db.connect();
    let mut admin = db.connect();
    first
        .lock("retort_version", Duration::from_secs(5))
        .unwrap();
    first.begin().unwrap();
    assert!(!second
        .try_lock("retort_version", Duration::from_secs(1))
        .unwrap());
    // The first runner's lock session, as a kill would end it.
    let holder = second.lock_holder("retort_version").unwrap();
    let pid: i64 = holder
        .trim_start_matches("PostgreSQL session ")
        .split(' ')
        .next()
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {holder}"));
    admin
        .execute(&format!("SELECT pg_terminate_backend({pid})"))
        .unwrap();

    let err = second
        .lock("retort_version", Duration::from_millis(300))
        .unwrap_err();
    assert!(err.is_lock_timeout, "{err}");
    assert!(
        err.message
            .contains("waiting for the transaction of a killed runner to end"),
        "{err}"
    );
    first.commit().unwrap();
    second
        .lock("retort_version", Duration::from_secs(5))
        .unwrap();
    second.unlock("retort_version").unwrap();
}

#[test]
fn dropping_a_connection_releases_its_lock() {
    on_each_server("lock_drop", |db| {
        let mut first = db.connect();
        first
            .lock("retort_version", Duration::from_secs(5))
            .unwrap();
        drop(first);
        let mut second = db.connect();
        second
            .lock("retort_version", Duration::from_secs(10))
            .unwrap();
    });
}

/// `CREATE INDEX CONCURRENTLY` waits for every transaction open when it starts. A runner that
/// waited for the lock inside one statement would deadlock with it; polling does not.
#[test]
fn create_index_concurrently_while_another_runner_waits_for_the_lock() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pg_cic") else {
        return;
    };
    let mut holder = db.connect();
    holder.execute("CREATE TABLE big (id int)").unwrap();
    holder
        .execute("INSERT INTO big SELECT generate_series(1, 1000)")
        .unwrap();
    holder
        .lock("retort_version", Duration::from_secs(5))
        .unwrap();
    let url = db.url.clone();
    let waiter = std::thread::spawn(move || {
        let mut conn = server::connect(&url);
        let timeout = Duration::from_secs(60);
        let waited = !conn.try_lock("retort_version", timeout).unwrap();
        let result = match waited {
            true => conn.lock("retort_version", timeout),
            false => Ok(()),
        };
        (result.map_err(|e| e.message), waited)
    });
    // Give the waiter time to start polling; correctness does not depend on it.
    std::thread::sleep(Duration::from_millis(300));
    holder
        .execute("CREATE INDEX CONCURRENTLY big_id ON big (id)")
        .unwrap();
    holder.unlock("retort_version").unwrap();
    let (result, _) = waiter.join().unwrap();
    result.unwrap();
    assert!(holder.query("SELECT 'big_id'::regclass").is_ok());
}

#[test]
fn connection_errors_never_show_the_password() {
    for dialect in SERVERS {
        let Some(admin) = server_url(dialect) else {
            continue;
        };
        let (scheme, rest) = admin.split_once("://").unwrap();
        let (userinfo, host_and_path) = rest.rsplit_once('@').unwrap();
        let user = userinfo.split(':').next().unwrap();
        let secret = "Sup3r%40Secret";
        // The local servers trust this user, so the password is accepted and the missing
        // database is what fails.
        let with_password = format!("{scheme}://{user}:{secret}@{host_and_path}");
        // A missing database on the real server, and a port nothing listens on.
        let missing_db = with_database(&with_password, "retort_no_such_database");
        let wrong_port = with_database(&format!("{scheme}://{user}:{secret}@127.0.0.1:1"), "x");
        for url in [missing_db, wrong_port] {
            let message = connect_error(&url);
            assert!(!message.contains("Sup3r"), "{dialect:?}: {message}");
            assert!(!message.contains("Secret"), "{dialect:?}: {message}");
            assert!(message.contains("cannot connect"), "{dialect:?}: {message}");
        }
    }
}

#[test]
fn postgres_sslmode_and_unix_sockets() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pg_url_forms") else {
        return;
    };
    // TLS itself is tested in `tls.rs`; here every mode that needs no certificate connects.
    for mode in ["disable", "allow", "prefer", "require"] {
        let mut conn = server::connect(&format!("{}?sslmode={mode}", db.url));
        assert_eq!(conn.query("SELECT 1").unwrap(), vec![vec![Value::Int(1)]]);
    }
    if std::path::Path::new("/var/run/postgresql/.s.PGSQL.5432").exists() {
        let user = db.user();
        for url in [
            format!("postgresql://{user}@%2Fvar%2Frun%2Fpostgresql/{}", db.name),
            format!("postgresql://{user}@/{}?host=/var/run/postgresql", db.name),
        ] {
            let mut conn = server::connect(&url);
            assert_eq!(
                conn.query("SELECT current_database()").unwrap(),
                vec![vec![Value::Text(db.name.clone())]],
                "{url}"
            );
        }
    }
}

#[test]
fn current_user_is_reported() {
    on_each_server("current_user", |db| {
        let user = db.connect().current_user().unwrap();
        let expected = db.user();
        assert!(user.starts_with(expected), "{user} vs {expected}");
    });
}

/// MariaDB checks passwords (the local PostgreSQL trusts every one): a user whose password
/// needs percent-encoding connects, and a wrong password fails without being shown.
#[test]
fn mysql_percent_encoded_password_round_trip() {
    let Some(db) = TestDatabase::create(Dialect::Mysql, "mysql_password") else {
        return;
    };
    let user = format!("rt_pw_{}", std::process::id());
    let mut admin = db.connect();
    admin
        .execute(&format!("DROP USER IF EXISTS '{user}'@'%'"))
        .unwrap();
    admin
        .execute(&format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 'p@ss:w/rd%1'"
        ))
        .unwrap();
    admin
        .execute(&format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", db.name))
        .unwrap();
    let host_and_path = db.url.rsplit_once('@').unwrap().1;
    let good = format!("mysql://{user}:p%40ss%3Aw%2Frd%251@{host_and_path}");
    let result = std::panic::catch_unwind(|| {
        let mut conn = server::connect(&good);
        assert_eq!(conn.current_user().unwrap(), format!("{user}@%"));
        let message = connect_error(&format!("mysql://{user}:wr%40ng%3Apass@{host_and_path}"));
        assert!(message.contains("Access denied"), "{message}");
        assert!(
            !message.contains("wr@ng") && !message.contains("wr%40ng"),
            "{message}"
        );
    });
    let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
