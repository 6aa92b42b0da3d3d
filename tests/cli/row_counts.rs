//! Row counts around a run (issue 12): `upgrade --report` and `--rehearse` count each table's
//! rows before the first step and after the last, name the tables whose count changed, and
//! leave out the version tables and `[schema] ignore`; a rehearsal counts what it produced,
//! then rolls it back. On SQLite, PostgreSQL and MariaDB (no rehearsal: no transactional DDL).

use retort::Dialect;

use crate::schema::Engine;

const SEED: &str = r#"-- revision = "a1"
-- message = "seed"

-- migrate:upgrade
CREATE TABLE orders (id INTEGER PRIMARY KEY);
INSERT INTO orders (id) VALUES (1), (2), (3);
CREATE TABLE legacy (id INTEGER PRIMARY KEY);
INSERT INTO legacy (id) VALUES (1), (2);
CREATE TABLE tmp_cache (id INTEGER PRIMARY KEY);
INSERT INTO tmp_cache (id) VALUES (1);

-- migrate:downgrade
DROP TABLE tmp_cache;
DROP TABLE legacy;
DROP TABLE orders;
"#;

const PRUNE: &str = r#"-- revision = "b2"
-- down_revision = "a1"
-- message = "prune"

-- migrate:upgrade
DELETE FROM orders WHERE id > 1;
DELETE FROM tmp_cache;
DROP TABLE legacy;
CREATE TABLE invoices (id INTEGER PRIMARY KEY);

-- migrate:downgrade
DROP TABLE invoices;
CREATE TABLE legacy (id INTEGER PRIMARY KEY);
"#;

const CHANGES: [&str; 3] = [
    "new table invoices: 0 rows",
    "dropped table legacy: had 2 rows",
    "rows: orders 3 -> 1 (-2)",
];

/// The engine's project at `a1` (seeded) with `b2` pending, `tmp_*` ignored.
fn seeded(dialect: Dialect, test: &str) -> Option<Engine> {
    let engine = Engine::new(dialect, &format!("{test}_{dialect}"))?;
    engine.configure("\n[schema]\nignore = [\"tmp_*\"]\n");
    engine.project.file("migrations/versions/a1_seed.sql", SEED);
    let (code, _, stderr) = engine.run(&["upgrade", "a1", "--no-backup", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    engine
        .project
        .file("migrations/versions/b2_prune.sql", PRUNE);
    Some(engine)
}

fn orders(engine: &Engine) -> String {
    let rows = engine
        .connect()
        .query("SELECT COUNT(*) FROM orders")
        .unwrap();
    rows[0][0].as_text().unwrap()
}

/// The `row_counts` of the report at `report.json`.
fn reported(engine: &Engine) -> serde_json::Value {
    let text = std::fs::read_to_string(engine.project.path().join("report.json")).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    document["row_counts"].clone()
}

fn expected_counts() -> serde_json::Value {
    serde_json::json!({
        "before": {"legacy": 2, "orders": 3},
        "after": {"invoices": 0, "orders": 1},
    })
}

fn report_names_the_changed_tables(dialect: Dialect) {
    let Some(engine) = seeded(dialect, "row_counts_report") else {
        return;
    };
    let (code, _, stderr) =
        engine.run(&["upgrade", "heads", "--no-backup", "--report", "report.json"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| CHANGES.contains(l)).collect();
    assert_eq!(lines, CHANGES, "{stderr}");
    assert_eq!(reported(&engine), expected_counts());
    assert_eq!(orders(&engine), "1");

    // Nothing to do: nothing counted.
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--report", "report.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("rows:"), "{stderr}");
    assert_eq!(reported(&engine), serde_json::Value::Null);
}

fn rehearsal_counts_what_it_produced_and_changes_nothing(dialect: Dialect) {
    let Some(engine) = seeded(dialect, "row_counts_rehearsal") else {
        return;
    };
    let (code, stdout, stderr) =
        engine.run(&["upgrade", "heads", "--rehearse", "--report", "report.json"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().filter(|l| CHANGES.contains(l)).collect();
    assert_eq!(lines, CHANGES, "{stdout}");
    assert_eq!(reported(&engine), expected_counts());
    assert_eq!(orders(&engine), "3");
    assert_eq!(engine.run(&["current"]).1.trim(), "a1");
}

#[test]
fn report_sqlite() {
    report_names_the_changed_tables(Dialect::Sqlite);
}

#[test]
fn report_postgresql() {
    report_names_the_changed_tables(Dialect::Postgresql);
}

#[test]
fn report_mariadb() {
    report_names_the_changed_tables(Dialect::Mysql);
}

#[test]
fn rehearsal_sqlite() {
    rehearsal_counts_what_it_produced_and_changes_nothing(Dialect::Sqlite);
}

#[test]
fn rehearsal_postgresql() {
    rehearsal_counts_what_it_produced_and_changes_nothing(Dialect::Postgresql);
}
