//! `import TOOL DIR`: fixtures written the way each tool's documentation shows, imported and
//! run on SQLite, compared with the originals run in order by the `sqlite3` shell.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::TestProject;

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(tool)
}

/// The SQL each tool sends for `files` of its fixture, in order: the part of each file after
/// `start` (if given) and before `end` (if given).
fn originals(tool: &str, files: &[&str], start: Option<&str>, end: Option<&str>) -> String {
    let mut sql = String::new();
    for file in files {
        let text = std::fs::read_to_string(fixture(tool).join(file)).unwrap();
        let from = start
            .and_then(|s| text.find(s).map(|i| i + s.len()))
            .unwrap_or(0);
        let rest = &text[from..];
        let to = end.and_then(|e| rest.find(e)).unwrap_or(rest.len());
        sql.push_str(&rest[..to]);
        sql.push('\n');
    }
    sql
}

fn sqlite3(db: &Path, sql: &str) -> String {
    let mut cmd = Command::new("sqlite3");
    cmd.arg(db);
    piped(cmd, sql)
}

/// Runs `cmd` with `sql` on its stdin; its stdout (it must succeed).
fn piped(mut cmd: Command, sql: &str) -> String {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the database client");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), sql.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The catalog of a SQLite database without retort's tables, and every row of its tables.
fn catalog(db: &Path) -> String {
    let schema = sqlite3(
        db,
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE tbl_name NOT LIKE 'retort%' ORDER BY type, name",
    );
    let tables = sqlite3(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'retort%' ORDER BY name",
    );
    let mut dump = schema;
    for table in tables.lines() {
        dump.push_str(&sqlite3(
            db,
            &format!("SELECT '{table}', * FROM \"{table}\" ORDER BY 1"),
        ));
    }
    dump
}

/// Imports `tool`'s fixture, upgrades an empty database and compares it with `originals`
/// run by `sqlite3`; returns the import's stdout.
fn round_trip(tool: &str, originals: &str) -> String {
    let p = TestProject::new();
    let dir = fixture(tool);
    let (code, out, err) = p.run(&["import", tool, dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let expected = p.path().join("expected.db");
    sqlite3(&expected, originals);
    let got = catalog(&p.path().join("app.db"));
    assert!(got.contains("CREATE"), "{got}");
    assert_eq!(got, catalog(&expected));
    // Idempotent: a second import writes nothing, and says so.
    let before = std::fs::read_dir(p.path().join("migrations/versions"))
        .unwrap()
        .count();
    let (code, again, err) = p.run(&["import", tool, dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(again.contains("nothing to import: all"), "{again}");
    assert!(!again.contains("\nimported "), "{again}");
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations/versions"))
            .unwrap()
            .count(),
        before
    );
    // Every revision that has a down section reverts.
    let (code, _, err) = p.run(&["heads"]);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn flyway_versions_undo_and_conf_with_repeatables_reported() {
    let sql = originals(
        "flyway",
        &[
            "V1__Create_person_table.sql",
            "V1.1__Add_people.sql",
            "V2__Add_email.sql",
            "V3__Person_name_index.sql",
        ],
        None,
        None,
    );
    insta::assert_snapshot!(round_trip("flyway", &sql));
}

#[test]
fn dbmate_blocks_and_transaction_option() {
    let files = [
        "20240101120000_create_users.sql",
        "20240102093000_add_users_email_index.sql",
        "20240103080000_seed_users.sql",
    ];
    let sql = originals("dbmate", &files, None, Some("-- migrate:down"));
    let sql = sql
        .replace("-- migrate:up transaction:false", "")
        .replace("-- migrate:up", "");
    insta::assert_snapshot!(round_trip("dbmate", &sql));
}

#[test]
fn goose_annotations() {
    let files = [
        "00001_create_users_table.sql",
        "00002_users_touch_trigger.sql",
        "00003_users_username_index.sql",
    ];
    let sql = originals(
        "goose",
        &files,
        Some("-- +goose Up"),
        Some("-- +goose Down"),
    );
    insta::assert_snapshot!(round_trip("goose", &sql));
}

#[test]
fn golang_migrate_up_and_down_pairs() {
    let files = [
        "000001_create_users_table.up.sql",
        "000002_add_mood_to_users.up.sql",
        "000003_seed_moods.up.sql",
    ];
    insta::assert_snapshot!(round_trip(
        "golang-migrate",
        &originals("golang-migrate", &files, None, None)
    ));
}

#[test]
fn sqlx_simple_and_reversible_migrations() {
    let files = [
        "20240101000000_users.sql",
        "20240102000000_todos.up.sql",
        "20240103000000_todos_user_index.sql",
    ];
    insta::assert_snapshot!(round_trip("sqlx", &originals("sqlx", &files, None, None)));
}

#[test]
fn numbered_files() {
    let files = [
        "001_create_accounts.sql",
        "002_add_accounts_balance.sql",
        "003_create_transfers.sql",
    ];
    insta::assert_snapshot!(round_trip(
        "numbered",
        &originals("numbered", &files, None, None)
    ));
}

#[test]
fn the_files_keep_order_messages_downs_and_transaction_flags() {
    let p = TestProject::new();
    let (code, _, err) = p.run(&["import", "goose", fixture("goose").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let third = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/goose_3_users_username_index.sql"),
    )
    .unwrap();
    assert_eq!(
        third,
        "-- revision = \"goose_3\"\n-- down_revision = \"goose_2\"\n-- message = \"users username index\"\n\
         -- transactional = false\n\n-- migrate:upgrade\nCREATE INDEX users_username ON users (username);\n\n\
         -- migrate:downgrade\nDROP INDEX users_username;\n"
    );
    let (_, history, _) = p.run(&["history"]);
    assert_eq!(
        history,
        "goose_2 -> goose_3 (head), users username index\ngoose_1 -> goose_2, users touch trigger\n\
         <base> -> goose_1, create users table\n"
    );
    // The whole chain reverts: every goose file had a Down section.
    let (code, _, err) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = p.run(&["downgrade", "base", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
}

/// A source folder that fails: exit 1 naming the culprit, and nothing written.
fn refused(files: &[(&str, &str)], tool: &str, expected: &str) {
    let p = TestProject::new();
    for (name, text) in files {
        p.file(&format!("src/{name}"), text);
    }
    let (code, out, err) = p.run(&["import", tool, "src"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(expected), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let written: Vec<_> = std::fs::read_dir(p.path().join("migrations/versions"))
        .unwrap()
        .collect();
    assert!(written.is_empty(), "{written:?}");
    let leftovers: Vec<_> = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".retort-import")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bad_sources_are_refused_naming_the_file_or_version() {
    let ok = ("001_a.sql", "SELECT 1;");
    refused(
        &[ok, ("001_b.sql", "SELECT 2;")],
        "numbered",
        "version 1 is defined twice",
    );
    refused(
        &[ok, ("003_c.sql", "SELECT 3;")],
        "numbered",
        "no migration numbered between 1 and",
    );
    refused(
        &[
            (
                "20240101000000_a.sql",
                "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
            ),
            ("20240102000000_b.sql", "SELECT 1;\n"),
        ],
        "dbmate",
        "20240102000000_b.sql`: line 1: SQL before the `-- migrate:up` block",
    );
    refused(
        &[
            ("00001_a.sql", "-- +goose Up\nSELECT 1;\n"),
            ("00002_b.go", "package migrations\n"),
        ],
        "goose",
        "00002_b.go`: a Go migration",
    );
    refused(
        &[("V1__a.sql", "SELECT 1;"), ("V1_0__b.sql", "SELECT 2;")],
        "flyway",
        "version 1 is defined twice",
    );
    refused(
        &[("U4__a.sql", "SELECT 1;")],
        "flyway",
        "an undo migration for version 4, which no `V4__` file has",
    );
    refused(
        &[("1_a.down.sql", "SELECT 1;")],
        "golang-migrate",
        "1_a.down.sql`: a down migration without its up migration",
    );
    // SQL retort cannot read back as a revision file.
    refused(
        &[("001_a.sql", "SELECT 1;\n-- migrate:verify nonsense\n")],
        "numbered",
        "001_a.sql`: as a revision file:",
    );
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let p = TestProject::new();
    p.revision("n_2", &[], "");
    let (code, _, err) = p.run(&["import", "numbered", fixture("numbered").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("as `n_2`: `[TMP]/migrations/versions/n_2_rev.sql` already has that id on another parent"), "{err}");
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations/versions"))
            .unwrap()
            .count(),
        1
    );
}

/// `sql` run by the server's own client (`psql`, `mariadb`) on the database at `url`; its
/// output, tab-separated.
fn client(dialect: retort::Dialect, url: &str, sql: &str) -> String {
    let cmd = match dialect {
        retort::Dialect::Postgresql => {
            let mut cmd = Command::new("psql");
            cmd.args([
                url,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-F",
                "\t",
            ]);
            cmd
        }
        _ => {
            // mysql://user@host:port/db
            let rest = url.split_once("://").unwrap().1;
            let (auth, rest) = rest.split_once('@').unwrap();
            let (host_port, db) = rest.split_once('/').unwrap();
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
            let mut cmd = Command::new("mariadb");
            cmd.args([
                "-h",
                host,
                "-P",
                port,
                "-u",
                auth.split(':').next().unwrap(),
                "-N",
                "-B",
                db,
            ]);
            cmd
        }
    };
    piped(cmd, sql)
}

/// Columns, indexes and the rows of `tables` of a server database, retort's tables left out.
fn server_catalog(dialect: retort::Dialect, url: &str, tables: &[&str]) -> String {
    let (schema, indexes) = match dialect {
        retort::Dialect::Postgresql => (
            "table_schema = 'public'",
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' \
             AND tablename NOT LIKE 'retort%' ORDER BY 1, 2;",
        ),
        _ => (
            "table_schema = DATABASE()",
            "SELECT table_name, index_name, column_name, non_unique FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name NOT LIKE 'retort%' ORDER BY 1, 2, 3;",
        ),
    };
    let mut sql = format!(
        "SELECT table_name, column_name, data_type, is_nullable, column_default \
         FROM information_schema.columns WHERE {schema} AND table_name NOT LIKE 'retort%' \
         ORDER BY 1, 2;\n{indexes}\n"
    );
    for table in tables {
        sql.push_str(&format!("SELECT * FROM {table} ORDER BY 1;\n"));
    }
    client(dialect, url, &sql)
}

#[test]
fn imports_run_like_the_originals_on_the_servers() {
    use crate::support::server::TestDatabase;
    let cases = [
        (
            "dbmate",
            originals(
                "dbmate",
                &[
                    "20240101120000_create_users.sql",
                    "20240102093000_add_users_email_index.sql",
                    "20240103080000_seed_users.sql",
                ],
                None,
                Some("-- migrate:down"),
            ),
            "users",
        ),
        (
            "flyway",
            originals(
                "flyway",
                &[
                    "V1__Create_person_table.sql",
                    "V1.1__Add_people.sql",
                    "V2__Add_email.sql",
                    "V3__Person_name_index.sql",
                ],
                None,
                None,
            ),
            "person",
        ),
    ];
    for dialect in [retort::Dialect::Postgresql, retort::Dialect::Mysql] {
        for (tool, originals, table) in &cases {
            let (Some(ours), Some(theirs)) = (
                TestDatabase::create(dialect, "import_ours"),
                TestDatabase::create(dialect, "import_theirs"),
            ) else {
                return;
            };
            let p = TestProject::new();
            let (code, _, err) = p.run(&["import", tool, fixture(tool).to_str().unwrap()]);
            assert_eq!(code, 0, "{err}");
            let (code, _, err) = p.run(&["--url", &ours.url, "upgrade", "heads", "--no-backup"]);
            assert_eq!(code, 0, "{tool} {dialect:?}: {err}");
            client(dialect, &theirs.url, originals);
            let got = server_catalog(dialect, &ours.url, &[table]);
            assert!(got.contains(table), "{got}");
            assert_eq!(
                got,
                server_catalog(dialect, &theirs.url, &[table]),
                "{tool} {dialect:?}"
            );
        }
    }
}
