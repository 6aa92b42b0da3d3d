//! Environments (`[env.NAME]`, `--env`, `RETORT_ENV`) and fleets (`[fleet.NAME]`, `--fleet`):
//! SQLite tenant files, PostgreSQL schema-per-tenant and MariaDB databases; failures on one
//! target's row while the rest continue; canary, failure budget, Ctrl-C, SIGKILL and
//! `--resume`.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use retort::Dialect;
use serde_json::Value;

use crate::support::server::TestDatabase;
use crate::support::TestProject;

/// A project with revisions `a1 -> b2 -> c3` and `[fleet.tenants]` over `tenants/*.db`.
fn tenants_project(tenants: usize) -> TestProject {
    let p = TestProject::new();
    p.revision("a1", &[], "");
    p.revision("b2", &["a1"], "");
    p.revision("c3", &["b2"], "");
    append_config(&p, "[fleet.tenants]\nsqlite_glob = \"tenants/*.db\"\n");
    for i in 0..tenants {
        create_sqlite(&p.path().join(format!("tenants/t{i:02}.db")));
    }
    p
}

fn append_config(p: &TestProject, text: &str) {
    let path = p.path().join("migrate.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(text);
    std::fs::write(path, config).unwrap();
}

fn create_sqlite(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("CREATE TABLE tenant_data (x INTEGER);")
        .unwrap();
}

/// The version rows and the successful upgrade audit rows of an SQLite file.
fn versions_and_audit(path: &Path) -> (Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let column = |sql: &str| -> Vec<String> {
        let mut statement = conn.prepare(sql).unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    (
        column("SELECT version_num FROM retort_version ORDER BY 1"),
        column(
            "SELECT revision FROM retort_version_log WHERE direction = 'upgrade' \
             AND outcome = 'success' ORDER BY id",
        ),
    )
}

fn json(stdout: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
        .as_array()
        .expect("an array")
        .clone()
}

fn by_target<'a>(docs: &'a [Value], ends_with: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["target"].as_str().unwrap().ends_with(ends_with))
        .unwrap_or_else(|| panic!("no target ending in {ends_with}: {docs:?}"))
}

#[test]
fn environments_override_the_top_level_and_an_unknown_one_lists_the_defined() {
    let p = TestProject::new();
    p.revision("a1", &[], "");
    append_config(
        &p,
        "[env.staging]\ndatabase_url = \"sqlite:///staging.db\"\nversion_table = \"staging_version\"\n\
         [env.prod]\ndatabase_url = \"sqlite:///prod.db\"\n",
    );
    let (code, _, err) = p.run(&["--env", "staging", "upgrade", "heads"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("staging.db"), "{err}");
    let conn = rusqlite::Connection::open(p.path().join("staging.db")).unwrap();
    let version: String = conn
        .query_row("SELECT version_num FROM staging_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, "a1");
    assert!(
        !p.path().join("app.db").exists(),
        "the default environment was not touched"
    );
    // RETORT_ENV names it too; `--env` wins over it.
    let out = p
        .retort()
        .env("RETORT_ENV", "prod")
        .args(["current"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !p.path().join("prod.db").exists(),
        "current creates nothing"
    );
    let out = p
        .retort()
        .env("RETORT_ENV", "prod")
        .args(["--env", "staging", "current"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "a1 (head)");
    let (code, _, err) = p.run(&["--env", "qa", "status"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no environment `qa` (from --env or RETORT_ENV); the environments defined are `prod`, `staging`"),
        "{err}"
    );
}

#[test]
fn a_sqlite_fleet_upgrades_every_tenant_and_reports_bad_ones_on_their_rows() {
    let p = tenants_project(5);
    // t01 names a revision no file defines; t02 is ahead of the files; t03 is not a database.
    p.run(&["--url", "sqlite:///tenants/t01.db", "stamp", "a1"]);
    let stamp_unknown = |file: &str, revision: &str| {
        rusqlite::Connection::open(p.path().join(file))
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS retort_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);\
                 DELETE FROM retort_version; INSERT INTO retort_version VALUES ('{revision}');"
            ))
            .unwrap();
    };
    stamp_unknown("tenants/t01.db", "zz9");
    stamp_unknown("tenants/t02.db", "d4");
    std::fs::write(
        p.path().join("tenants/t03.db"),
        "not a database at all, but long enough to be read as a header of sixteen bytes or more",
    )
    .unwrap();

    let (code, out, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--jobs", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("TARGET"), "{out}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"))
            .to_string()
    };
    for ok in ["t00.db", "t04.db"] {
        assert!(row(ok).contains("base    c3"), "{}", row(ok));
        assert!(row(ok).contains("migrated"), "{}", row(ok));
    }
    assert!(
        row("t01.db").contains("failed") && row("t01.db").contains("zz9"),
        "{}",
        row("t01.db")
    );
    assert!(
        row("t02.db").contains("failed") && row("t02.db").contains("'d4'"),
        "{}",
        row("t02.db")
    );
    assert!(row("t03.db").contains("failed"), "{}", row("t03.db"));
    assert!(out.contains("5 target(s): 2 migrated, 3 failed"), "{out}");
    assert!(
        err.contains("3 of 5 target(s) of fleet `tenants` failed"),
        "{err}"
    );
    assert!(
        err.contains("manifest: [TMP]/.retort/fleet-tenants-"),
        "{err}"
    );
    for ok in ["t00", "t04"] {
        let (versions, audit) = versions_and_audit(&p.path().join(format!("tenants/{ok}.db")));
        assert_eq!(
            (versions, audit),
            (
                vec!["c3".to_string()],
                vec!["a1".into(), "b2".into(), "c3".into()]
            )
        );
    }

    // Fleet-wide status: who is behind, and by what.
    p.run(&["--url", "sqlite:///tenants/t04.db", "downgrade", "a1"]);
    let (code, out, err) = p.run(&["status", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 1, "{err}");
    let docs = json(&out);
    assert_eq!(docs.len(), 5);
    let t04 = by_target(&docs, "t04.db");
    assert_eq!(t04["current"], serde_json::json!(["a1"]));
    assert_eq!(t04["pending"], 2);
    assert_eq!(t04["pending_revisions"], serde_json::json!(["b2", "c3"]));
    assert_eq!(t04["outcome"], "behind");
    assert_eq!(by_target(&docs, "t00.db")["outcome"], "up-to-date");
    assert_eq!(by_target(&docs, "t00.db")["pending"], 0);
    assert_eq!(by_target(&docs, "t01.db")["outcome"], "failed");
    assert!(by_target(&docs, "t01.db")["error"]
        .as_str()
        .unwrap()
        .contains("zz9"));
    let (_, out, _) = p.run(&["status", "--fleet", "tenants"]);
    let t04 = out.lines().find(|l| l.contains("t04.db")).unwrap();
    assert!(t04.contains("behind by 2: b2, c3"), "{out}");
}

#[test]
fn a_second_run_skips_up_to_date_targets_without_their_locks() {
    let p = tenants_project(3);
    let (code, _, err) = p.run(&["upgrade", "heads", "--fleet", "tenants"]);
    assert_eq!(code, 0, "{err}");
    // Another writer holds t01's write lock, which is the migration lock on SQLite: a run that
    // took it would wait, then fail with a lock timeout. Readers are not blocked.
    let held = rusqlite::Connection::open(p.path().join("tenants/t01.db")).unwrap();
    held.execute_batch("BEGIN IMMEDIATE; INSERT INTO tenant_data VALUES (1);")
        .unwrap();
    let (code, out, err) = p.run(&[
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--migration-lock-wait",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 target(s): 3 up-to-date"), "{out}");
    held.execute_batch("ROLLBACK;").unwrap();
}

#[test]
fn a_failed_canary_stops_the_run_and_the_budget_stops_new_targets() {
    let p = tenants_project(6);
    // Every tenant but the first has a table that makes b2 fail.
    for i in 1..6 {
        rusqlite::Connection::open(p.path().join(format!("tenants/t{i:02}.db")))
            .unwrap()
            .execute_batch("CREATE TABLE t_b2 (x INTEGER);")
            .unwrap();
    }
    let (code, out, err) = p.run(&[
        "upgrade", "heads", "--fleet", "tenants", "--canary", "2", "--jobs", "1",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("6 target(s): 1 migrated, 1 failed, 4 not-started"),
        "{out}"
    );
    assert!(
        err.contains("stopped with 4 target(s) not started: a canary target failed"),
        "{err}"
    );
    let (code, out, err) = p.run(&[
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--max-failures",
        "2",
        "--jobs",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("1 up-to-date, 2 failed, 3 not-started"),
        "{out}"
    );
    assert!(
        err.contains("2 target(s) failed (--max-failures 2)"),
        "{err}"
    );
    assert!(
        err.contains("--resume [TMP]/.retort/fleet-tenants-"),
        "{err}"
    );
}

#[test]
fn a_urls_file_lists_targets_relative_to_the_config_and_passwords_stay_hidden() {
    let p = TestProject::new();
    p.revision("a1", &[], "");
    create_sqlite(&p.path().join("dbs/one.db"));
    p.file(
        "tenants.txt",
        "# one URL per line\nsqlite:///dbs/one.db\n\nsqlite:///dbs/two.db  # created by the run\n\
         postgresql://app:S3CRETpw@127.0.0.1:1/nowhere\n",
    );
    append_config(&p, "[fleet.listed]\nurls_file = \"tenants.txt\"\n");
    let sub = p.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let out = p
        .retort()
        .current_dir(&sub)
        .args([
            "-c",
            "../migrate.toml",
            "upgrade",
            "heads",
            "--fleet",
            "listed",
            "--json",
        ])
        .output()
        .unwrap();
    let docs = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(by_target(&docs, "/dbs/one.db")["outcome"], "migrated");
    assert!(
        !sub.join("dbs").exists(),
        "paths are the config's, not the working directory's"
    );
    // Again from the project's folder, on fresh files.
    std::fs::remove_dir_all(p.path().join(".retort")).unwrap();
    std::fs::remove_dir_all(p.path().join("dbs")).unwrap();
    create_sqlite(&p.path().join("dbs/one.db"));
    let (code, out, err) = p.run(&["upgrade", "heads", "--fleet", "listed"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        !out.contains("S3CRET") && !err.contains("S3CRET"),
        "{out}{err}"
    );
    assert!(
        out.contains("postgresql://app:***@127.0.0.1:1/nowhere"),
        "{out}"
    );
    let unreachable = out.lines().find(|l| l.contains(":1/nowhere")).unwrap();
    assert!(
        unreachable.contains("failed") && unreachable.contains("cannot connect"),
        "{unreachable}"
    );
    assert!(p.path().join("dbs/two.db").exists());
    assert_eq!(versions_and_audit(&p.path().join("dbs/one.db")).0, ["a1"]);
    let manifests: Vec<PathBuf> = std::fs::read_dir(p.path().join(".retort"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(manifests.len(), 1);
    let text = std::fs::read_to_string(&manifests[0]).unwrap();
    assert!(!text.contains("S3CRET"), "{text}");
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["state"], "finished");
    assert_eq!(manifest["command"], "upgrade heads");
    assert_eq!(manifest["targets"].as_array().unwrap().len(), 3);
    let (code, _, err) = p.run(&["upgrade", "heads", "--fleet", "listed", "--sql"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`--sql` works on one database; it cannot be used with `--fleet`"),
        "{err}"
    );
    let (code, _, err) = p.run(&["status", "--fleet", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no fleet `nope`; the fleets defined are `listed`"),
        "{err}"
    );
}

/// A project whose `b2` takes a few seconds on SQLite, on `tenants` tenants.
fn slow_tenants(tenants: usize) -> TestProject {
    let p = TestProject::new();
    p.revision("a1", &[], "");
    p.file(
        "migrations/versions/b2_slow.sql",
        "-- revision = \"b2\"\n-- down_revision = \"a1\"\n\n-- migrate:upgrade\n\
         CREATE TABLE t_b2 (x INTEGER);\n\
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 4000000) \
         INSERT INTO t_b2 SELECT count(*) FROM c;\n",
    );
    p.revision("c3", &["b2"], "");
    append_config(&p, "[fleet.tenants]\nsqlite_glob = \"tenants/*.db\"\n");
    for i in 0..tenants {
        create_sqlite(&p.path().join(format!("tenants/t{i:02}.db")));
    }
    p
}

/// Starts `upgrade heads --fleet tenants --jobs JOBS --manifest <project>/run.json` and waits
/// until it writes to the first tenant; returns the runner and the manifest's path.
fn start_fleet_run(p: &TestProject, jobs: &str) -> (std::process::Child, String) {
    let manifest = p.path().join("run.json").display().to_string();
    let args = [
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--jobs",
        jobs,
        "--manifest",
        &manifest,
    ];
    let runner = StdCommand::new(assert_cmd::cargo::cargo_bin("retort"))
        .args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn retort");
    wait_for_write(p);
    (runner, manifest)
}

/// Waits until a journal shows a transaction writing to the first tenant.
fn wait_for_write(p: &TestProject) {
    let journal = p.path().join("tenants/t00.db-journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !journal.exists() {
        assert!(Instant::now() < deadline, "the run never started writing");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_every_tenant_at_c3_once(p: &TestProject, tenants: usize) {
    for i in 0..tenants {
        let (versions, audit) = versions_and_audit(&p.path().join(format!("tenants/t{i:02}.db")));
        assert_eq!(versions, ["c3"], "t{i:02}");
        assert_eq!(
            audit,
            ["a1", "b2", "c3"],
            "t{i:02}: each revision applied once"
        );
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_lets_the_running_target_finish_its_revision_and_resume_completes() {
    let p = slow_tenants(3);
    let (runner, manifest_arg) = start_fleet_run(&p, "1");
    // `a1` is quick: the write that lasts is `b2`'s.
    std::thread::sleep(Duration::from_millis(300));
    let pid = runner.id().to_string();
    assert!(StdCommand::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = runner.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("interrupted (Ctrl-C)"), "{stderr}");
    let first = versions_and_audit(&p.path().join("tenants/t00.db"));
    assert_eq!(first.0, ["b2"], "b2 finished, c3 never started: {stdout}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(stdout.contains("not-started"), "{stdout}");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_arg).unwrap()).unwrap();
    assert_eq!(recorded["state"], "stopped");
    let (code, out, err) = p.run(&[
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--resume",
        &manifest_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_every_tenant_at_c3_once(&p, 3);
}

#[cfg(unix)]
#[test]
fn a_runner_killed_mid_run_is_completed_by_resume_with_each_revision_once() {
    let p = slow_tenants(4);
    let (mut runner, manifest_arg) = start_fleet_run(&p, "2");
    std::thread::sleep(Duration::from_millis(200));
    runner.kill().expect("SIGKILL");
    runner.wait().unwrap();
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&manifest_arg).unwrap())
        .expect("the manifest is whole after a SIGKILL");
    assert_eq!(recorded["state"], "running");
    let (code, out, err) = p.run(&[
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--resume",
        &manifest_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_every_tenant_at_c3_once(&p, 4);
    // And a plain rerun finds nothing to do.
    let (code, out, _) = p.run(&["upgrade", "heads", "--fleet", "tenants"]);
    assert_eq!(code, 0);
    assert!(out.contains("4 target(s): 4 up-to-date"), "{out}");
}

#[test]
fn postgres_schema_per_tenant_keeps_each_schemas_own_version_table() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "fleet_schemas") else {
        return;
    };
    let mut conn = db.connect();
    for schema in ["tenant_a", "tenant_b", "tenant_c", "other"] {
        conn.execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    }
    let p = TestProject::new();
    p.revision("a1", &[], "");
    p.revision("b2", &["a1"], "");
    append_config(
        &p,
        &format!(
            "[fleet.tenants]\nschemas = {{ url = \"{}\", glob = \"tenant_*\" }}\n\
             [fleet.listed]\nschemas = {{ url = \"{0}\", list = [\"tenant_a\", \"missing\"] }}\n",
            db.url
        ),
    );
    let (code, out, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--jobs", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 target(s): 3 migrated"), "{out}");
    for schema in ["tenant_a", "tenant_b", "tenant_c"] {
        let rows = conn
            .query(&format!("SELECT version_num FROM {schema}.retort_version"))
            .unwrap();
        assert_eq!(rows.len(), 1, "{schema}");
        let tables = conn
            .query(&format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' \
                 AND table_name IN ('t_a1', 't_b2', 'retort_version_log')"
            ))
            .unwrap();
        assert_eq!(
            tables[0][0].as_text().as_deref(),
            Some("3"),
            "{schema}: tables in the tenant's schema"
        );
    }
    let public = conn
        .query("SELECT count(*) FROM information_schema.tables WHERE table_name = 't_a1' AND table_schema NOT LIKE 'tenant_%'")
        .unwrap();
    assert_eq!(public[0][0].as_text().as_deref(), Some("0"));
    conn.execute("DELETE FROM tenant_b.retort_version").unwrap();
    conn.execute("INSERT INTO tenant_b.retort_version VALUES ('a1')")
        .unwrap();
    let (code, out, err) = p.run(&["status", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 0, "{err}");
    let docs = json(&out);
    assert_eq!(by_target(&docs, "#tenant_b")["pending"], 1);
    assert_eq!(by_target(&docs, "#tenant_a")["pending"], 0);
    assert!(!out.contains("#other"));
    // A schema that does not exist fails on its row.
    let (code, out, _) = p.run(&["upgrade", "heads", "--fleet", "listed"]);
    assert_eq!(code, 1);
    let missing = out.lines().find(|l| l.contains("#missing")).unwrap();
    assert!(missing.contains("failed"), "{out}");
    let (code, out, err) = p.run(&["check", "--fleet", "tenants"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 target(s): 3 ok"), "{out}");
}

#[test]
fn mariadb_databases_from_a_control_query_and_a_wrong_password() {
    let (Some(one), Some(two)) = (
        TestDatabase::create(Dialect::Mysql, "fleet_one"),
        TestDatabase::create(Dialect::Mysql, "fleet_two"),
    ) else {
        return;
    };
    let wrong = one.url.replacen("://root@", "://root:WR0NGpw@", 1);
    assert_ne!(
        wrong, one.url,
        "the test server's URL is root without a password"
    );
    let mut control = one.connect();
    control
        .execute("CREATE TABLE tenants (url VARCHAR(500))")
        .unwrap();
    for url in [&one.url, &two.url, &wrong] {
        control
            .execute(&format!("INSERT INTO tenants VALUES ('{url}')"))
            .unwrap();
    }
    let p = TestProject::new();
    p.revision("a1", &[], "");
    p.revision("b2", &["a1"], "");
    append_config(
        &p,
        "[fleet.shards]\nquery = { url = \"${CONTROL_URL}\", sql = \"SELECT url FROM tenants\" }\n",
    );
    let run = |args: &[&str]| {
        let out = p
            .retort()
            .env("CONTROL_URL", &one.url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["upgrade", "heads", "--fleet", "shards", "--jobs", "2"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        !out.contains("WR0NG") && !err.contains("WR0NG"),
        "{out}{err}"
    );
    assert!(out.contains("3 target(s): 2 migrated, 1 failed"), "{out}");
    let bad = out.lines().find(|l| l.contains("root:***@")).unwrap();
    assert!(bad.contains("Access denied"), "{bad}");
    let (code, out, _) = run(&["current", "--fleet", "shards", "--json"]);
    assert_eq!(code, Some(1));
    let docs = json(&out);
    let at_b2 = docs
        .iter()
        .filter(|d| d["current"] == serde_json::json!(["b2"]))
        .count();
    assert_eq!(at_b2, 2, "{docs:?}");
    let (code, _, err) = run(&["verify", "--fleet", "shards"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("1 of 3 target(s)"), "{err}");
}

#[test]
fn url_is_refused_with_a_fleet_and_database_url_is_not_used() {
    let p = tenants_project(2);
    let (code, out, err) = p.run(&[
        "--url",
        "sqlite:///other.db",
        "status",
        "--fleet",
        "tenants",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("`--url` works on one database; it cannot be used with `--fleet`"),
        "{err}"
    );
    assert!(out.is_empty(), "nothing ran: {out}");
    let out = p
        .retort()
        .env("DATABASE_URL", "sqlite:///other.db")
        .args(["upgrade", "heads", "--fleet", "tenants"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 target(s): 2 migrated"));
    assert!(
        !p.path().join("other.db").exists(),
        "DATABASE_URL names no target of a fleet"
    );
}

/// `tenants_project` whose `c3` drops `t_a1` (a lint finding, RT153), with t00 at c3, t01 at
/// b2 and t02 at base.
fn tenants_at_different_revisions() -> TestProject {
    let p = tenants_project(3);
    p.file(
        "migrations/versions/c3_rev.sql",
        "-- revision = \"c3\"\n-- down_revision = \"b2\"\n\n-- migrate:upgrade\nDROP TABLE t_a1;\n",
    );
    for (tenant, revision) in [("t00", "c3"), ("t01", "b2")] {
        let url = format!("sqlite:///tenants/{tenant}.db");
        let (code, _, err) = p.run(&["--url", &url, "upgrade", revision, "--no-backup"]);
        assert_eq!(code, 0, "{err}");
    }
    p
}

#[test]
fn lint_on_a_fleet_lints_what_each_target_has_not_applied() {
    let p = tenants_at_different_revisions();
    let (code, out, err) = p.run(&["lint", "--fleet", "tenants"]);
    assert_eq!(code, 1, "{out}{err}");
    let row = |name: &str| out.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(row("t00.db").contains(" ok"), "{out}");
    assert!(row("t01.db").contains("b2"), "CURRENT: {out}");
    assert!(
        row("t01.db").contains("problems") && row("t01.db").contains("RT153 in c3 line 5"),
        "{out}"
    );
    assert!(out.contains("3 target(s): 1 ok, 2 problems"), "{out}");
    assert!(
        err.contains("2 of 3 target(s) of fleet `tenants` failed or found problems"),
        "{err}"
    );
    let (code, out, _) = p.run(&["lint", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 1);
    let docs = json(&out);
    let linted = |t: &str| by_target(&docs, t)["detail"]["linted"].clone();
    assert_eq!(linted("t00.db"), serde_json::json!([]));
    assert_eq!(linted("t01.db"), serde_json::json!(["c3"]));
    assert_eq!(linted("t02.db"), serde_json::json!(["a1", "b2", "c3"]));
    assert_eq!(by_target(&docs, "t02.db")["outcome"], "problems");
    assert_eq!(
        by_target(&docs, "t01.db")["detail"]["findings"][0]["code"],
        "RT153"
    );
    // What only means one database is refused.
    let (code, _, err) = p.run(&["lint", "--fleet", "tenants", "--no-db"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--no-db`"), "{err}");
    // Read-only: no manifest unless asked.
    assert!(!p.path().join(".retort").exists());
    // `upgrade --lint deny` lints what each target would apply and refuses only those.
    let (code, out, err) = p.run(&["upgrade", "b2", "--fleet", "tenants", "--lint", "deny"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(row_of(&out, "t02.db").contains("migrated"), "{out}");
    let (code, out, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--lint", "deny"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        row_of(&out, "t01.db")
            .contains("refused by --lint deny, nothing changed: 1 finding(s): RT153 in c3"),
        "{out}"
    );
    assert!(
        out.contains("3 target(s): 1 up-to-date, 2 problems"),
        "{out}"
    );
    for tenant in ["t01", "t02"] {
        let (versions, _) = versions_and_audit(&p.path().join(format!("tenants/{tenant}.db")));
        assert_eq!(versions, ["b2"], "{tenant}");
    }
    let (code, _, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--lint", "warn"]);
    assert_eq!(code, 2, "{err}");
}

fn row_of(out: &str, name: &str) -> String {
    out.lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row for {name}: {out}"))
        .to_string()
}

#[test]
fn drift_and_check_schema_on_a_fleet_report_each_target() {
    let p = tenants_project(3);
    let (code, _, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    // The tenants' own table is no revision's: leave it out of the comparison.
    append_config(&p, "[schema]\nignore = [\"tenant_data\"]\n");
    rusqlite::Connection::open(p.path().join("tenants/t01.db"))
        .unwrap()
        .execute_batch("CREATE TABLE hand_made (x INTEGER);")
        .unwrap();
    let (code, out, err) = p.run(&["drift", "--fleet", "tenants"]);
    assert_eq!(code, 1, "{out}{err}");
    let row = |out: &str, name: &str| out.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(
        row(&out, "t01.db").contains("drifted")
            && row(&out, "t01.db").contains("schema drift: + table hand_made"),
        "{out}"
    );
    assert!(row(&out, "t00.db").contains(" ok"), "{out}");
    assert!(out.contains("3 target(s): 2 ok, 1 drifted"), "{out}");
    let (code, out, err) = p.run(&["check", "--schema", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let docs = json(&out);
    let t01 = by_target(&docs, "t01.db");
    assert_eq!(t01["outcome"], "drifted");
    assert_eq!(t01["detail"]["schema"]["ok"], false);
    assert_eq!(t01["current"], serde_json::json!(["c3"]));
    assert_eq!(by_target(&docs, "t02.db")["outcome"], "ok");
    // Without --schema, check and verify still show where each target is.
    for command in ["check", "verify"] {
        let (code, out, err) = p.run(&[command, "--fleet", "tenants", "--json"]);
        assert_eq!(code, 0, "{command}: {out}{err}");
        let docs = json(&out);
        assert!(
            docs.iter()
                .all(|d| d["current"] == serde_json::json!(["c3"])),
            "{command}: {out}"
        );
    }
    // And an upgrade that requires no drift refuses on that target only.
    p.revision("d4", &["c3"], "");
    let (code, out, err) = p.run(&[
        "upgrade",
        "heads",
        "--fleet",
        "tenants",
        "--require-no-drift",
        "--no-backup",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("3 target(s): 2 migrated, 1 failed"), "{out}");
    assert!(row(&out, "t01.db").contains("failed"), "{out}");
    assert_eq!(
        versions_and_audit(&p.path().join("tenants/t01.db")).0,
        ["c3"]
    );
}

#[test]
fn a_changing_fleet_run_prints_one_json_object_per_target() {
    let p = tenants_project(2);
    p.run(&["--url", "sqlite:///tenants/t01.db", "upgrade", "c3"]);
    let (code, out, err) = p.run(&["upgrade", "heads", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 0, "{err}");
    let docs = json(&out);
    let t00 = by_target(&docs, "t00.db");
    assert_eq!(t00["outcome"], "migrated");
    assert_eq!(t00["before"], serde_json::json!([]));
    assert_eq!(t00["after"], serde_json::json!(["c3"]));
    assert_eq!(t00["steps"], 3);
    assert!(
        t00["duration_ms"].is_u64() && t00["error"].is_null(),
        "{t00}"
    );
    assert_eq!(by_target(&docs, "t01.db")["outcome"], "up-to-date");
    let (code, out, _) = p.run(&["downgrade", "b2", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 0);
    let docs = json(&out);
    assert!(docs.iter().all(|d| d["after"] == serde_json::json!(["b2"])
        && d["steps"] == 1
        && d["outcome"] == "migrated"));
    let (code, out, _) = p.run(&["stamp", "a1", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 0);
    assert!(json(&out)
        .iter()
        .all(|d| d["after"] == serde_json::json!(["a1"])));
    // A changing run's default manifest folder keeps itself out of git.
    let ignore = std::fs::read_to_string(p.path().join(".retort/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    // `--json` is for fleets only.
    let (code, _, _) = p.run(&["upgrade", "heads", "--json"]);
    assert_eq!(code, 2);
}

#[test]
fn read_only_fleet_commands_write_a_manifest_only_when_asked() {
    let p = tenants_project(2);
    for command in [&["status"][..], &["current"], &["check"], &["verify"]] {
        let mut args = command.to_vec();
        args.extend(["--fleet", "tenants"]);
        let (code, out, err) = p.run(&args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }
    assert!(!p.path().join(".retort").exists(), "no manifest by default");
    let (code, _, err) = p.run(&["status", "--fleet", "tenants", "--manifest", "status.json"]);
    assert_eq!(code, 0, "{err}");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("status.json")).unwrap())
            .unwrap();
    assert_eq!(recorded["command"], "status");
    assert_eq!(recorded["state"], "finished");
    assert_eq!(recorded["targets"][0]["outcome"], "behind");
}

#[test]
fn an_environment_gives_every_fleet_target_its_settings() {
    let p = tenants_project(2);
    append_config(
        &p,
        "[env.prod]\nversion_table = \"prod_version\"\nbackup = { enabled = false }\n",
    );
    let (code, out, err) = p.run(&["--env", "prod", "upgrade", "heads", "--fleet", "tenants"]);
    assert_eq!(code, 0, "{out}{err}");
    for tenant in ["t00", "t01"] {
        let conn =
            rusqlite::Connection::open(p.path().join(format!("tenants/{tenant}.db"))).unwrap();
        let version: String = conn
            .query_row("SELECT version_num FROM prod_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, "c3", "{tenant}");
        let default_table: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'retort_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            default_table, 0,
            "{tenant}: the environment's version table only"
        );
    }
    assert!(
        !p.path().join("tenants/backups").exists(),
        "the environment turned backups off"
    );
    // The manifest records the environment; a resume in another one is refused.
    let manifest = std::fs::read_dir(p.path().join(".retort"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(recorded["environment"], "prod");
    let manifest = manifest.display().to_string();
    let (code, _, err) = p.run(&[
        "upgrade", "heads", "--fleet", "tenants", "--resume", &manifest,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("environment `prod`"), "{err}");
    // The default environment's status sees its own (missing) version table: all pending.
    let (_, out, _) = p.run(&["status", "--fleet", "tenants", "--json"]);
    assert!(json(&out).iter().all(|d| d["pending"] == 3), "{out}");
    let (_, out, _) = p.run(&["--env", "prod", "status", "--fleet", "tenants", "--json"]);
    assert!(json(&out).iter().all(|d| d["pending"] == 0), "{out}");
}

#[test]
fn postgres_schema_per_tenant_drift_and_lint_look_at_each_tenants_own_schema() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "fleet_schema_drift") else {
        return;
    };
    let mut conn = db.connect();
    for schema in ["tenant_a", "tenant_b", "tenant_c"] {
        conn.execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    }
    let p = TestProject::new();
    p.revision("a1", &[], "");
    p.revision("b2", &["a1"], "");
    // Not concurrent: a lint finding (RT101) where c3 is still to run.
    p.file(
        "migrations/versions/c3_rev.sql",
        "-- revision = \"c3\"\n-- down_revision = \"b2\"\n\n-- migrate:upgrade\n\
         CREATE INDEX t_a1_id ON t_a1 (id);\n",
    );
    append_config(
        &p,
        &format!(
            "[fleet.tenants]\nschemas = {{ url = \"{}\", glob = \"tenant_*\" }}\n\
             [fleet.first]\nschemas = {{ url = \"{0}\", list = [\"tenant_a\"] }}\n",
            db.url
        ),
    );
    let (code, out, err) = p.run(&["upgrade", "b2", "--fleet", "tenants", "--no-backup"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = p.run(&["upgrade", "c3", "--fleet", "first", "--no-backup"]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, err) = p.run(&["lint", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let docs = json(&out);
    assert_eq!(by_target(&docs, "#tenant_a")["outcome"], "ok");
    assert_eq!(
        by_target(&docs, "#tenant_a")["current"],
        serde_json::json!(["c3"])
    );
    let b = by_target(&docs, "#tenant_b");
    assert_eq!(b["outcome"], "problems", "{b}");
    assert_eq!(b["detail"]["linted"], serde_json::json!(["c3"]));
    assert_eq!(b["detail"]["findings"][0]["code"], "RT101");
    assert!(b["error"].as_str().unwrap().contains("RT101 in c3"), "{b}");

    // Each tenant is compared with its own schema only: the others' tables are not drift.
    let (code, out, err) = p.run(&["drift", "--fleet", "tenants"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 target(s): 3 ok"), "{out}");
    conn.execute("CREATE TABLE tenant_b.hand_made (x int)")
        .unwrap();
    let (code, out, err) = p.run(&["check", "--schema", "--fleet", "tenants", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let docs = json(&out);
    let b = by_target(&docs, "#tenant_b");
    assert_eq!(b["outcome"], "drifted", "{b}");
    let differences = b["detail"]["schema"]["differences"].to_string();
    assert!(differences.contains("tenant_b.hand_made"), "{differences}");
    assert_eq!(by_target(&docs, "#tenant_a")["outcome"], "ok");
    assert_eq!(by_target(&docs, "#tenant_c")["outcome"], "ok");
    // One dev database for all targets: they take turns in it, and it is left empty.
    let Some(dev) = TestDatabase::create(Dialect::Postgresql, "fleet_dev") else {
        return;
    };
    let args = [
        "drift",
        "--fleet",
        "tenants",
        "--jobs",
        "3",
        "--dev-url",
        &dev.url,
    ];
    let (code, out, err) = p.run(&args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("3 target(s): 2 ok, 1 drifted"), "{out}{err}");
    let left = dev
        .connect()
        .query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_%'")
        .unwrap();
    assert_eq!(left[0][0].as_text().as_deref(), Some("0"));
}
