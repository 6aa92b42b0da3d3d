//! `retort lint`: every rule on its fixture and its safe form, transaction awareness, applied
//! revisions skipped, `--git-base`, suppressions, the JSON/SARIF shapes, the `--lint` gates of
//! `check` and `upgrade`, server versions read from real PostgreSQL and MariaDB, and squawk's
//! verdicts on the same fixtures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::server::TestDatabase;
use crate::support::TestProject;
use retort::Dialect;

/// The fixtures: plain SQL files, shared with the squawk comparison.
fn fixture(name: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/cli/fixtures/lint/{name}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes revision `id` (parent `down`) with `extra` header lines and `sql` as its upgrade.
fn revision(p: &TestProject, id: &str, down: Option<&str>, extra: &str, sql: &str) -> PathBuf {
    let down = down.map_or(String::new(), |d| format!("-- down_revision = \"{d}\"\n"));
    p.file(
        &format!("migrations/versions/{id}_rev.sql"),
        &format!("-- revision = \"{id}\"\n{down}{extra}\n-- migrate:upgrade\n{sql}\n"),
    )
}

/// A project with the `base` fixture as revision `a0` and `sql` as revision `b1`.
fn on_base(sql: &str, transactional: bool) -> TestProject {
    let p = TestProject::new();
    // No project-wide lock timeout, so each fixture is judged on its own SQL, as squawk judges it.
    p.file(
        "migrate.toml",
        "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\nlock_timeout = \"0\"\n",
    );
    revision(&p, "a0", None, "", &fixture("base"));
    let header = if transactional {
        ""
    } else {
        "-- transactional = false\n"
    };
    revision(&p, "b1", Some("a0"), header, sql);
    p
}

/// `retort lint --json` with `args`: the exit code and the document.
fn lint_json(p: &TestProject, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["lint", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = p.run(&all);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, doc)
}

/// The codes of the unsuppressed findings about revision `rev`.
fn codes_of(doc: &Value, rev: &str) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["revision"] == rev)
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

/// One rule's case: its fixture, how the revision runs, and the server it is judged for.
struct Case {
    code: &'static str,
    fixture: &'static str,
    dialect: &'static str,
    server: &'static str,
    transactional: bool,
    /// The safe form, and whether it runs in a transaction.
    safe: Option<(&'static str, bool)>,
}

const fn case(code: &'static str, fixture: &'static str, server: &'static str) -> Case {
    Case {
        code,
        fixture,
        dialect: "postgresql",
        server,
        transactional: true,
        safe: None,
    }
}

const fn safe(mut c: Case, fixture: &'static str, transactional: bool) -> Case {
    c.safe = Some((fixture, transactional));
    c
}

const fn mysql(mut c: Case) -> Case {
    c.dialect = "mysql";
    c
}

const fn outside_transaction(mut c: Case) -> Case {
    c.transactional = false;
    c
}

const CASES: &[Case] = &[
    safe(
        case("RT101", "index_not_concurrent", "15"),
        "index_not_concurrent.safe",
        false,
    ),
    // Transaction awareness: the same statement is refused in a transaction, fine outside one.
    safe(
        case("RT102", "concurrently_in_transaction", "15"),
        "concurrently_in_transaction",
        false,
    ),
    safe(case("RT111", "foreign_key", "15"), "foreign_key.safe", true),
    safe(case("RT112", "check", "15"), "check.safe", true),
    safe(
        case("RT113", "set_not_null", "15"),
        "set_not_null.safe",
        true,
    ),
    // retort read `email VARCHAR(40)` in revision a0: widening it is no rewrite.
    safe(case("RT121", "type_change", "15"), "type_change.safe", true),
    safe(
        case("RT131", "volatile_default", "15"),
        "volatile_default.safe",
        true,
    ),
    // The same file, judged for PostgreSQL 10 and for 11.
    case("RT132", "default_before_11", "10"),
    safe(case("RT141", "unique", "15"), "unique.safe", false),
    safe(
        case("RT151", "rename_table", "15"),
        "rename_table.safe",
        true,
    ),
    safe(
        case("RT152", "rename_column", "15"),
        "rename_column.safe",
        true,
    ),
    safe(case("RT153", "drop_table", "15"), "drop_table.safe", true),
    safe(case("RT154", "drop_column", "15"), "drop_column.safe", true),
    safe(
        case("RT161", "no_lock_timeout", "15"),
        "no_lock_timeout.safe",
        true,
    ),
    // The same file outside a transaction: the UPDATE no longer holds the ALTER's lock.
    safe(
        case("RT171", "ddl_with_bulk_dml", "15"),
        "ddl_with_bulk_dml",
        false,
    ),
    // Parsed by token rules only, still caught.
    case("RT102", "not_parsed", "15"),
    safe(
        mysql(case("RT181", "mysql_alter_copies", "mariadb-10.11")),
        "mysql_alter_copies.safe",
        true,
    ),
    mysql(case("RT182", "mysql_alter_rebuilds", "5.7")),
    outside_transaction(mysql(case("RT182", "mysql_alter_rebuilds", "mariadb-10.2"))),
];

/// RT161 only fires when nothing bounds the wait: retort's own `lock_timeout` (2 s by default,
/// or the revision header's) is set before every revision runs.
#[test]
fn configured_lock_timeouts_satisfy_rt161() {
    let unbounded = on_base(&fixture("no_lock_timeout"), true);
    let args = [
        "--no-db",
        "--dialect",
        "postgresql",
        "--server-version",
        "15",
    ];
    assert!(codes_of(&lint_json(&unbounded, &args).1, "b1").contains("RT161"));
    let by_default = TestProject::new();
    revision(&by_default, "a0", None, "", &fixture("base"));
    revision(
        &by_default,
        "b1",
        Some("a0"),
        "",
        &fixture("no_lock_timeout"),
    );
    assert!(!codes_of(&lint_json(&by_default, &args).1, "b1").contains("RT161"));
    let by_header = on_base("", true);
    revision(
        &by_header,
        "b1",
        Some("a0"),
        "-- lock_timeout = \"5s\"\n",
        &fixture("no_lock_timeout"),
    );
    assert!(!codes_of(&lint_json(&by_header, &args).1, "b1").contains("RT161"));
}

fn lint_case(sql: &str, transactional: bool, dialect: &str, server: &str) -> BTreeSet<String> {
    let p = on_base(sql, transactional);
    let (_, doc) = lint_json(
        &p,
        &["--no-db", "--dialect", dialect, "--server-version", server],
    );
    codes_of(&doc, "b1")
}

#[test]
fn every_rule_fires_on_its_fixture_and_stays_quiet_on_the_safe_form() {
    for c in CASES {
        let found = lint_case(&fixture(c.fixture), c.transactional, c.dialect, c.server);
        assert!(
            found.contains(c.code),
            "{} on {}: {found:?}",
            c.code,
            c.fixture
        );
        if let Some((safe, transactional)) = c.safe {
            let found = lint_case(&fixture(safe), transactional, c.dialect, c.server);
            assert!(!found.contains(c.code), "{} on {safe}: {found:?}", c.code);
        }
    }
    // The server version decides: a constant default is free from PostgreSQL 11, and adding a
    // column is instant from MySQL 8.0.12 / MariaDB 10.3.
    let quiet = |fixture_name, dialect, server, code| {
        !lint_case(&fixture(fixture_name), true, dialect, server).contains(code)
    };
    assert!(quiet("default_before_11", "postgresql", "11", "RT132"));
    assert!(quiet("mysql_alter_rebuilds", "mysql", "8.0.12", "RT182"));
    assert!(quiet(
        "mysql_alter_rebuilds",
        "mysql",
        "mariadb-10.3",
        "RT182"
    ));
}

#[test]
fn a_statement_the_parser_rejects_is_named_and_checked_by_token_rules() {
    let p = on_base(&fixture("not_parsed"), true);
    let (code, stdout, stderr) = p.run(&["lint", "--no-db", "--dialect", "postgresql"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("b1_rev.sql:5:1: RT102 concurrently-in-transaction")
            && stdout.contains("(statement not parsed, checked by token rules)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("b1_rev.sql:5:1: RT000 not-parsed: not parsed (sql parser error"),
        "{stderr}"
    );
    // Nothing said which server: the note says what was assumed.
    assert!(
        stderr.contains("judged for PostgreSQL 10.0, the oldest the rules know"),
        "{stderr}"
    );
}

#[test]
fn text_output_has_file_line_column_code_and_help() {
    let p = on_base(
        "SET statement_timeout = '5s';\nALTER TABLE users\n  ADD COLUMN note TEXT,\n  ALTER COLUMN email SET NOT NULL;",
        true,
    );
    insta::assert_snapshot!(p.snapshot(&[
        "lint",
        "--no-db",
        "--dialect",
        "postgresql",
        "--server-version",
        "15"
    ]));
}

/// A project on SQLite whose revision `b` drops a table `a` made, applied, and `c` (not applied)
/// drops another.
fn applied_project() -> TestProject {
    let p = TestProject::new();
    revision(
        &p,
        "a",
        None,
        "",
        "CREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);",
    );
    revision(&p, "b", Some("a"), "", "DROP TABLE t1;");
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    revision(&p, "c", Some("b"), "", "DROP TABLE t2;");
    p
}

#[test]
fn applied_revisions_are_skipped_unless_all_is_asked() {
    let p = applied_project();
    let (code, doc) = lint_json(&p, &[]);
    assert_eq!(code, 1);
    assert_eq!(doc["linted"], serde_json::json!(["c"]));
    assert_eq!(doc["skipped_applied"], 2);
    assert_eq!(doc["server_version"]["source"], "database");
    assert_eq!(codes_of(&doc, "b"), BTreeSet::new());
    assert_eq!(codes_of(&doc, "c"), BTreeSet::from(["RT153".to_string()]));
    let (_, doc) = lint_json(&p, &["--all"]);
    assert_eq!(doc["linted"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(codes_of(&doc, "b"), BTreeSet::from(["RT153".to_string()]));
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn git_base_lints_the_revisions_changed_since_the_reference() {
    let p = TestProject::new();
    revision(&p, "a", None, "", "CREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);\nCREATE TABLE t3 (id INTEGER);");
    revision(&p, "b", Some("a"), "", "DROP TABLE t1;");
    git(p.path(), &["init", "-q"]);
    git(p.path(), &["add", "."]);
    git(p.path(), &["commit", "-qm", "base"]);
    // Changed since HEAD: `b` edited, `c` new and untracked; `a` untouched.
    revision(&p, "b", Some("a"), "", "DROP TABLE t1;\nDROP TABLE t3;");
    revision(&p, "c", Some("b"), "", "DROP TABLE t2;");
    let (code, doc) = lint_json(
        &p,
        &["--git-base", "HEAD", "--no-db", "--dialect", "sqlite"],
    );
    assert_eq!(code, 1);
    assert_eq!(doc["linted"], serde_json::json!(["b", "c"]));
    let (code, stdout, stderr) = p.run(&[
        "lint",
        "--git-base",
        "no-such-ref",
        "--no-db",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("cannot list the files changed since `no-such-ref` with git"),
        "{stderr}"
    );
}

#[test]
fn a_suppression_needs_a_reason_and_is_reported_with_it() {
    let p = TestProject::new();
    revision(
        &p,
        "a",
        None,
        "",
        "CREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);",
    );
    revision(
        &p,
        "b",
        Some("a"),
        "",
        "-- retort:allow RT153 reason=\"t1 is unused since v2.3\"\nDROP TABLE t1;",
    );
    let (code, doc) = lint_json(&p, &["--no-db", "--dialect", "sqlite"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["allowed"][0]["code"], "RT153");
    assert_eq!(doc["allowed"][0]["reason"], "t1 is unused since v2.3");
    assert_eq!(doc["allowed"][0]["allow_line"], 5);
    // In the header it covers the whole file.
    revision(
        &p,
        "b",
        Some("a"),
        "-- retort:allow drop-table reason=\"both retired\"\n",
        "DROP TABLE t1;\nDROP TABLE t2;",
    );
    let (code, doc) = lint_json(&p, &["--no-db", "--dialect", "sqlite"]);
    assert_eq!(
        (code, doc["allowed"].as_array().map(Vec::len)),
        (0, Some(2))
    );
    // Without a reason: an error of its own, naming the file and line, and no suppression.
    revision(
        &p,
        "b",
        Some("a"),
        "",
        "-- retort:allow RT153\nDROP TABLE t1;",
    );
    let (code, stdout, _) = p.run(&["lint", "--no-db", "--dialect", "sqlite"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("b_rev.sql:5:1: RT001 allow-without-reason")
            && stdout.contains("b_rev.sql:6:1: RT153 drop-table"),
        "{stdout}"
    );
}

/// A project with one finding and one allowed finding, for the document shapes.
fn shapes_project() -> TestProject {
    let p = TestProject::new();
    revision(
        &p,
        "a",
        None,
        "",
        "CREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);",
    );
    revision(
        &p,
        "b",
        Some("a"),
        "",
        "DROP TABLE t1;\n-- retort:allow RT153 reason=\"empty since 2024\"\nDROP TABLE t2;",
    );
    p
}

#[test]
fn json_shape() {
    let p = shapes_project();
    let (code, stdout, _) = p.run(&["lint", "--json", "--no-db", "--dialect", "sqlite"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn sarif_shape() {
    let p = shapes_project();
    let (code, stdout, _) = p.run(&[
        "lint",
        "--format",
        "sarif",
        "--no-db",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    // The allowed finding is there, suppressed in source with its justification.
    assert_eq!(
        results[1]["suppressions"][0]["justification"],
        "empty since 2024"
    );
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let index = results[0]["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(rules[index]["id"], results[0]["ruleId"]);
    // The rule table is long and stable; the snapshot holds the results.
    insta::assert_json_snapshot!(doc["runs"][0]["results"]);
}

#[test]
fn upgrade_with_lint_deny_refuses_and_changes_nothing() {
    let p = TestProject::new();
    revision(&p, "a", None, "", "CREATE TABLE t1 (id INTEGER);");
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    revision(&p, "b", Some("a"), "", "DROP TABLE t1;");
    let before = std::fs::read(p.path().join("app.db")).expect("database");
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--lint=deny"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("b_rev.sql:5:1: RT153 drop-table")
            && stderr.contains("upgrade refused: lint found 1 finding(s) in the revisions it would run; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(p.path().join("app.db")).expect("database"),
        before
    );
    assert!(!p.path().join("backups").exists(), "no backup was taken");
    // `--sql` is gated the same way, for the dialect it renders.
    let (code, stdout, _) = p.run(&["upgrade", "a:heads", "--sql", "--lint=deny"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    // warn: the findings are printed and the run goes on.
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--lint=warn"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("RT153 drop-table"), "{stderr}");
    let (_, stdout, _) = p.run(&["current"]);
    assert!(stdout.contains('b'), "{stdout}");
}

#[test]
fn check_with_lint_reports_findings_as_problems_or_warnings() {
    let p = TestProject::new();
    revision(&p, "a", None, "", "CREATE TABLE t1 (id INTEGER);");
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    revision(&p, "b", Some("a"), "", "DROP TABLE t1;");
    let (code, stdout, _) = p.run(&["check", "--lint=deny"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("problem: migrations/versions/b_rev.sql:5:1: RT153"),
        "{stdout}"
    );
    let (code, stdout, _) = p.run(&["check", "--lint=warn"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("warning: migrations/versions/b_rev.sql:5:1: RT153"),
        "{stdout}"
    );
    // Without the database every revision is linted, for the URL's dialect.
    let (code, stdout, stderr) = p.run(&["check", "--no-db", "--lint=deny"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("problem: migrations/versions/b_rev.sql:5:1: RT153"),
        "{stdout}"
    );
}

/// `migrate.toml` pointing at `url`.
fn on_server(url: &str) -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrate.toml",
        &format!("[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n"),
    );
    p
}

#[test]
fn postgresql_server_version_is_read_from_the_database() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lint_version") else {
        return;
    };
    let p = on_server(&db.url);
    revision(&p, "a0", None, "", &fixture("base"));
    revision(
        &p,
        "b1",
        Some("a0"),
        "",
        &format!("SET lock_timeout = '2s';\n{}", fixture("default_before_11")),
    );
    let (code, doc) = lint_json(&p, &[]);
    assert_eq!(doc["server_version"]["engine"], "PostgreSQL");
    assert_eq!(doc["server_version"]["source"], "database");
    assert_eq!((code, codes_of(&doc, "b1")), (0, BTreeSet::new()), "{doc}");
    // The database wins over the flag; without it, the flag decides.
    let (_, doc) = lint_json(&p, &["--server-version", "10"]);
    assert_eq!(doc["server_version"]["source"], "database");
    let (code, doc) = lint_json(&p, &["--no-db", "--server-version", "10"]);
    assert_eq!(
        (code, codes_of(&doc, "b1")),
        (1, BTreeSet::from(["RT132".to_string()]))
    );
}

#[test]
fn mariadb_server_version_is_read_from_the_database() {
    let Some(db) = TestDatabase::create(Dialect::Mysql, "lint_version") else {
        return;
    };
    let p = on_server(&db.url);
    revision(&p, "a0", None, "", &fixture("base"));
    let sql = format!(
        "SET SESSION lock_wait_timeout = 5;\n{}",
        fixture("mysql_alter_rebuilds")
    );
    revision(&p, "b1", Some("a0"), "", &sql);
    let (code, doc) = lint_json(&p, &[]);
    assert_eq!(doc["server_version"]["engine"], "MariaDB");
    assert_eq!(doc["server_version"]["source"], "database");
    assert_eq!((code, codes_of(&doc, "b1")), (0, BTreeSet::new()), "{doc}");
    let (code, doc) = lint_json(&p, &["--no-db", "--server-version", "mariadb-10.2"]);
    assert_eq!(
        (code, codes_of(&doc, "b1")),
        (1, BTreeSet::from(["RT182".to_string()]))
    );
}

/// squawk's rule for each retort code, where it has one.
fn squawk_rule(code: &str) -> Option<&'static str> {
    Some(match code {
        "RT101" => "require-concurrent-index-creation",
        "RT102" => "ban-concurrent-index-creation-in-transaction",
        "RT111" => "adding-foreign-key-constraint",
        "RT112" => "constraint-missing-not-valid",
        "RT113" => "adding-not-nullable-field",
        "RT121" => "changing-column-type",
        "RT131" | "RT132" => "adding-field-with-default",
        "RT141" => "disallowed-unique-constraint",
        "RT151" => "renaming-table",
        "RT152" => "renaming-column",
        "RT153" => "ban-drop-table",
        "RT154" => "ban-drop-column",
        "RT161" => "require-lock-timeout",
        _ => return None,
    })
}

/// The squawk binary (`.ci/run` installs it from PyPI); `None`, said once, when it is missing
/// outside CI.
fn squawk() -> Option<PathBuf> {
    let found = Command::new("squawk")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("squawk"));
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "squawk must be installed when CI=true (.ci/run installs squawk-cli)"
    );
    eprintln!("skipped: squawk not installed, so the comparison passes without running");
    None
}

/// The rules squawk reports on `fixture` for PostgreSQL `server`.
fn squawk_rules(squawk: &Path, fixture_name: &str, server: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/cli/fixtures/lint/{fixture_name}.sql"));
    let out = Command::new(squawk)
        .args(["--reporter", "json", &format!("--pg-version={server}.0")])
        .arg(&path)
        .output()
        .expect("squawk runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("squawk prints JSON");
    doc.as_array()
        .expect("an array of violations")
        .iter()
        .filter_map(|v| v["rule_name"].as_str().map(String::from))
        .collect()
}

/// docs/lint.md's comparison table, as verdicts: (fixture, transactional, retort code,
/// does retort fire, does squawk fire). Where they differ, the table says why.
const AGAINST_SQUAWK: &[(&str, bool, &str, bool, bool)] = &[
    ("index_not_concurrent", true, "RT101", true, true),
    ("index_not_concurrent.safe", false, "RT101", false, false),
    ("concurrently_in_transaction", true, "RT102", true, false),
    ("concurrently_in_transaction", false, "RT102", false, false),
    ("foreign_key", true, "RT111", true, true),
    ("foreign_key.safe", true, "RT111", false, false),
    ("check", true, "RT112", true, true),
    ("check.safe", true, "RT112", false, false),
    ("set_not_null", true, "RT113", true, true),
    ("set_not_null.safe", true, "RT113", false, false),
    ("type_change", true, "RT121", true, true),
    ("type_change.safe", true, "RT121", false, true),
    ("volatile_default", true, "RT131", true, true),
    ("volatile_default.safe", true, "RT131", false, false),
    ("unique", true, "RT141", true, true),
    ("unique.safe", false, "RT141", false, false),
    ("rename_table", true, "RT151", true, true),
    ("rename_table.safe", true, "RT151", false, true),
    ("rename_column", true, "RT152", true, true),
    ("rename_column.safe", true, "RT152", false, true),
    ("drop_table", true, "RT153", true, true),
    ("drop_table.safe", true, "RT153", false, true),
    ("drop_column", true, "RT154", true, true),
    ("drop_column.safe", true, "RT154", false, true),
    ("no_lock_timeout", true, "RT161", true, true),
    ("no_lock_timeout.safe", true, "RT161", false, false),
    ("not_parsed", true, "RT102", true, false),
];

#[test]
fn squawk_agrees_except_where_retort_knows_more() {
    let Some(squawk) = squawk() else {
        return;
    };
    for &(name, transactional, code, retort_fires, squawk_fires) in AGAINST_SQUAWK {
        let found = lint_case(&fixture(name), transactional, "postgresql", "15");
        assert_eq!(
            found.contains(code),
            retort_fires,
            "retort {code} on {name}: {found:?}"
        );
        let rule = squawk_rule(code).expect("a squawk rule");
        let squawk_found = squawk_rules(&squawk, name, "15");
        assert_eq!(
            squawk_found.contains(rule),
            squawk_fires,
            "squawk {rule} on {name}: {squawk_found:?}"
        );
    }
    // Both see the default that PostgreSQL 10 rewrites for.
    let found = lint_case(&fixture("default_before_11"), true, "postgresql", "10");
    assert!(found.contains("RT132"));
    assert!(squawk_rules(&squawk, "default_before_11", "10").contains("adding-field-with-default"));
}

#[test]
fn a_run_records_the_reasons_of_its_suppressions_in_the_audit_row() {
    let p = TestProject::new();
    revision(
        &p,
        "a",
        None,
        "",
        "CREATE TABLE t1 (id INTEGER);\nCREATE TABLE t2 (id INTEGER);",
    );
    revision(
        &p,
        "b",
        Some("a"),
        "-- retort:allow RT161 reason=\"SQLite has no lock timeout\"\n",
        "-- retort:allow RT153,drop-column reason=\"t1 retired in v3\"\nDROP TABLE t1;\n-- retort:allow RT154\nSELECT 1;",
    );
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = crate::audit_details::log(&p);
    assert_eq!(
        rows[0]["details"].get("lint_allowed"),
        None,
        "{:?}",
        rows[0]
    );
    // One entry per code of each directive with a reason; the one without a reason is none.
    assert_eq!(
        rows[1]["details"]["lint_allowed"],
        serde_json::json!([
            {"code": "RT161", "reason": "SQLite has no lock timeout", "line": 3},
            {"code": "RT153", "reason": "t1 retired in v3", "line": 6},
            {"code": "drop-column", "reason": "t1 retired in v3", "line": 6},
        ])
    );
}
