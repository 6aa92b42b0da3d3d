//! `import alembic DIR`: the graph of an Alembic versions folder (a branch with a label, a
//! depends_on, a merge and a second head), read without Python, gives retort the heads, history
//! and upgrade order that real Alembic (`RETORT_TEST_ALEMBIC`, installed by .ci/run) gives; with
//! Alembic, the SQL its offline mode renders builds the schema Alembic itself builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use retort::Dialect;

use crate::support::server::TestDatabase;
use crate::support::TestProject;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/alembic")
}

/// The alembic script, or `None` (said on stderr; an error under `CI=true`).
fn alembic() -> Option<PathBuf> {
    let path = std::env::var_os("RETORT_TEST_ALEMBIC").map(PathBuf::from);
    if path.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "RETORT_TEST_ALEMBIC must be set when CI=true"
        );
        eprintln!("skipped: RETORT_TEST_ALEMBIC not set, so the real-Alembic comparison passes without running");
    }
    path
}

fn run_alembic(alembic: &Path, args: &[&str]) -> String {
    let out = Command::new(alembic)
        .arg("-c")
        .arg(fixture().join("alembic.ini"))
        .args(args)
        .output()
        .expect("run alembic");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ids that `-- Running upgrade A -> B` comments name as B, in order.
fn upgrade_order(sql: &str) -> Vec<String> {
    sql.lines()
        .filter_map(|l| l.strip_prefix("-- Running upgrade "))
        .map(|l| l.rsplit("-> ").next().unwrap().trim().to_string())
        .collect()
}

fn json_ids(json: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap().to_string())
        .collect()
}

/// The fixture imported where no alembic is on PATH: the graph, with placeholders for the SQL.
fn imported() -> TestProject {
    let p = TestProject::new();
    let versions = fixture().join("versions");
    let out = p
        .retort()
        .env("PATH", p.path())
        .args(["import", "alembic", versions.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("imported 7 revision(s)"), "{stdout}");
    assert!(stdout.contains("SQL is left for you"), "{stdout}");
    assert!(
        stdout.contains("note: alembic was not found on PATH")
            && stdout.contains("pass --alembic PATH"),
        "{stdout}"
    );
    let account = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/1975ea83b712_create_account_table.sql"),
    )
    .unwrap();
    assert!(
        account.contains(
            "-- migrate:upgrade\n-- TODO: the SQL of upgrade() in 1975ea83b712_create_account.py\n"
        ),
        "{account}"
    );
    p
}

/// `project` with `versions` imported by `alembic` (the dialect is the project URL's unless
/// `args` name one): its stdout.
fn import_with(p: &TestProject, alembic: &Path, versions: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "import",
        "alembic",
        versions.to_str().unwrap(),
        "--alembic",
        alembic.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let (code, out, err) = p.run(&all);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 7 revision(s)"), "{out}");
    out
}

/// The tables, indexes and their SQL of the SQLite database at `path`, without version tables.
fn sqlite_schema(path: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'alembic_version%' AND name NOT LIKE 'retort_%' ORDER BY name",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn sql_from_alembic_builds_the_schema_alembic_builds_on_sqlite() {
    let Some(alembic) = alembic() else { return };
    let p = TestProject::new();
    let out = import_with(&p, &alembic, &fixture().join("versions"), &[]);
    assert!(!out.contains("note:"), "{out}");
    let index = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/6b0e4d2c8f13_index_account_emails_audit_columns.sql"),
    )
    .unwrap();
    assert!(
        index.contains(
            "\n-- migrate:upgrade sqlite\nCREATE UNIQUE INDEX ix_account_email ON account (email);\n\n\
             ALTER TABLE audit ADD COLUMN action VARCHAR(20) DEFAULT 'insert' NOT NULL;\n"
        ) && index.contains("\n-- migrate:downgrade sqlite\nDROP TABLE audit_entry;\n"),
        "{index}"
    );
    assert!(!index.contains("alembic_version"), "{index}");
    let (code, out, err) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{out}{err}");

    // Alembic itself, online, on a database file of its own.
    let theirs = p.path().join("alembic.db");
    let ini = p.path().join("alembic.ini");
    std::fs::write(
        &ini,
        format!(
            "[alembic]\nscript_location = {}\nsqlalchemy.url = sqlite:///{}\n",
            fixture().display(),
            theirs.display()
        ),
    )
    .unwrap();
    let done = Command::new(&alembic)
        .arg("-c")
        .arg(&ini)
        .args(["upgrade", "heads"])
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let ours = p.path().join("app.db");
    let schema = sqlite_schema(&ours);
    // Four tables and two indexes, and the row op.execute() wrote.
    assert_eq!(schema.len(), 6, "{schema:?}");
    // SQLite keeps each CREATE as it was sent: online, SQLAlchemy indents with tabs; its
    // offline output (what retort ran) with four spaces. Otherwise the same, byte for byte.
    let theirs_schema: Vec<(String, String)> = sqlite_schema(&theirs)
        .into_iter()
        .map(|(name, sql)| (name, sql.replace('\t', "    ")))
        .collect();
    assert_eq!(schema, theirs_schema);
    let audit = |path: &Path| -> String {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT group_concat(id || ':' || action) FROM audit",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(audit(&ours), "1:created");
    assert_eq!(audit(&ours), audit(&theirs));

    let (code, out, err) = p.run(&["downgrade", "base"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(sqlite_schema(&ours), []);
}

#[test]
fn sql_from_alembic_builds_the_schema_alembic_renders_on_postgresql() {
    same_schema_as_alembics_script(Dialect::Postgresql);
}

#[test]
fn sql_from_alembic_builds_the_schema_alembic_renders_on_mysql() {
    same_schema_as_alembics_script(Dialect::Mysql);
}

/// Runs `sql` in `db` with the database's own client (`psql`, `mysql`), stopping at an error.
fn run_client(db: &TestDatabase, sql: &str) {
    let mut command = match db.dialect {
        Dialect::Postgresql => {
            let mut c = Command::new("psql");
            c.args([db.url.as_str(), "-q", "-v", "ON_ERROR_STOP=1"]);
            c
        }
        _ => {
            // mysql://user[:password]@host[:port]/database
            let rest = db.url.split_once("://").unwrap().1;
            let (auth, rest) = rest.rsplit_once('@').unwrap();
            let (host, _) = rest.split_once('/').unwrap();
            let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
            let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
            let mut c = Command::new("mysql");
            c.args(["--host", host, "--port", port, "--user", user, &db.name]);
            if !password.is_empty() {
                c.arg(format!("--password={password}"));
            }
            c
        }
    };
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the database's client");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "{sql}");
}

/// On `dialect`'s server: the fixture imported with that dialect's SQL (and SQLite's beside it),
/// upgraded by retort, has the schema Alembic's own `upgrade heads --sql` script gives when the
/// database's client runs it; `downgrade base` empties it.
fn same_schema_as_alembics_script(dialect: Dialect) {
    let Some(alembic) = alembic() else { return };
    let Some(ours) = TestDatabase::create(dialect, "alembic_sql_ours") else {
        return;
    };
    let Some(theirs) = TestDatabase::create(dialect, "alembic_sql_theirs") else {
        return;
    };
    let p = TestProject::new();
    // Two dialects at once: each gets its own sections.
    let out = import_with(
        &p,
        &alembic,
        &fixture().join("versions"),
        &["--dialect", dialect.name(), "--dialect", "sqlite"],
    );
    assert!(!out.contains("note:"), "{out}");
    let account = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/1975ea83b712_create_account_table.sql"),
    )
    .unwrap();
    let id = match dialect {
        Dialect::Postgresql => "id SERIAL NOT NULL",
        _ => "id INTEGER NOT NULL AUTO_INCREMENT",
    };
    assert!(
        account.contains(&format!(
            "-- migrate:upgrade {dialect}\nCREATE TABLE account (\n    {id}, \n"
        )) && account.contains(
            "-- migrate:upgrade sqlite\nCREATE TABLE account (\n    id INTEGER NOT NULL, \n"
        ) && !account.contains("BEGIN;")
            && !account.contains("COMMIT;"),
        "{account}"
    );
    let (code, out, err) = p.run(&["--url", &ours.url, "upgrade", "heads"]);
    assert_eq!(code, 0, "{out}{err}");

    let ini = p.path().join("alembic.ini");
    std::fs::write(
        &ini,
        format!(
            "[alembic]\nscript_location = {}\nsqlalchemy.url = {dialect}://\n",
            fixture().display()
        ),
    )
    .unwrap();
    let script = Command::new(&alembic)
        .arg("-c")
        .arg(&ini)
        .args(["upgrade", "heads", "--sql"])
        .output()
        .unwrap();
    assert!(
        script.status.success(),
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
    let script = String::from_utf8(script.stdout).unwrap();
    run_client(&theirs, &format!("{script}DROP TABLE alembic_version;\n"));
    let schema = |db: &TestDatabase| {
        let (code, out, err) = p.run(&["--url", &db.url, "schema", "--sql"]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let ours_schema = schema(&ours);
    assert!(
        ours_schema.contains("ix_account_email") && ours_schema.contains("audit_entry"),
        "{ours_schema}"
    );
    assert_eq!(ours_schema, schema(&theirs));

    let (code, out, err) = p.run(&["--url", &ours.url, "downgrade", "base"]);
    assert_eq!(code, 0, "{out}{err}");
    let empty = schema(&ours);
    assert!(!empty.contains("CREATE"), "{empty}");
}

/// A copy of the fixture's Alembic project in `p`.
fn fixture_copy(p: &TestProject) -> PathBuf {
    let project = p.path().join("alembic-project");
    std::fs::create_dir_all(project.join("versions")).unwrap();
    for name in ["alembic.ini", "env.py", "script.py.mako"] {
        std::fs::copy(fixture().join(name), project.join(name)).unwrap();
    }
    for entry in std::fs::read_dir(fixture().join("versions")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(
                &path,
                project.join("versions").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    project
}

#[test]
fn without_offline_mode_or_alembic_ini_every_revision_keeps_its_placeholder() {
    let Some(alembic) = alembic() else { return };
    let p = TestProject::new();
    let project = fixture_copy(&p);
    std::fs::write(
        project.join("env.py"),
        "from alembic import context\n\nif context.is_offline_mode():\n    raise SystemExit('this project runs online only')\n",
    )
    .unwrap();
    let out = import_with(&p, &alembic, &project.join("versions"), &[]);
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note:")).collect();
    // Each revision, both directions, from one failed run per direction.
    assert_eq!(notes.len(), 14, "{out}");
    assert!(
        notes
            .iter()
            .all(|n| n.contains("failed: this project runs online only)")),
        "{out}"
    );
    assert!(notes[0].contains("revision 1975ea83b712: "), "{out}");
    let account = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/1975ea83b712_create_account_table.sql"),
    )
    .unwrap();
    assert!(
        account.contains("-- migrate:upgrade sqlite\n-- TODO: the SQL of upgrade() in 1975ea83b712_create_account.py\n"),
        "{account}"
    );

    // A versions folder with no alembic.ini above it: Alembic is not asked, and the output says why.
    let p = TestProject::new();
    let project = fixture_copy(&p);
    std::fs::remove_file(project.join("alembic.ini")).unwrap();
    let out = import_with(&p, &alembic, &project.join("versions"), &[]);
    assert!(out.contains("SQL is left for you"), "{out}");
    assert!(
        out.contains("note: no alembic.ini in the folder above [TMP]/alembic-project/versions or the one above that, so the SQL of every revision is left for you to write"),
        "{out}"
    );
}

#[test]
fn a_revision_alembic_cannot_render_keeps_its_placeholder() {
    let Some(alembic) = alembic() else { return };
    let p = TestProject::new();
    // The fixture project, plus two heads whose upgrades need a connection: one raises (a
    // traceback on stderr), one is an SQLite batch operation (Alembic's `FAILED:` on stdout).
    let project = fixture_copy(&p);
    std::fs::write(
        project.join("versions/7c1f_backfill.py"),
        "\"\"\"backfill\"\"\"\nfrom alembic import context, op\n\n\
         revision = '7c1f'\ndown_revision = '6b0e4d2c8f13'\n\n\
         def upgrade():\n    if context.is_offline_mode():\n        raise RuntimeError('this backfill reads rows, so it needs a connection')\n\n\
         def downgrade():\n    op.execute('DELETE FROM audit')\n",
    )
    .unwrap();
    std::fs::write(
        project.join("versions/8d2a_batch.py"),
        "\"\"\"widen email\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = '8d2a'\ndown_revision = '7c1f'\n\n\
         def upgrade():\n    with op.batch_alter_table('account') as batch:\n        batch.alter_column('email', type_=sa.String(300))\n\n\
         def downgrade():\n    pass\n",
    )
    .unwrap();
    let (code, out, err) = p.run(&[
        "import",
        "alembic",
        project.join("versions").to_str().unwrap(),
        "--alembic",
        alembic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 9 revision(s)"), "{out}");
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note:")).collect();
    assert_eq!(notes.len(), 2, "{out}");
    assert!(
        notes[0].starts_with("note: 7c1f_backfill.py: revision 7c1f: Alembic's offline mode gave no sqlite upgrade SQL (`alembic upgrade heads --sql` failed: ")
            && notes[0].contains("RuntimeError: this backfill reads rows, so it needs a connection"),
        "{out}"
    );
    assert!(
        notes[1].starts_with("note: 8d2a_batch.py: revision 8d2a: Alembic's offline mode gave no sqlite upgrade SQL (`alembic upgrade 7c1f:8d2a --sql` failed: FAILED: This operation cannot proceed in --sql mode"),
        "{out}"
    );
    let backfill =
        std::fs::read_to_string(p.path().join("migrations/versions/7c1f_backfill.sql")).unwrap();
    assert!(
        backfill.ends_with(
            "-- migrate:upgrade sqlite\n-- TODO: the SQL of upgrade() in 7c1f_backfill.py\n\n\
             -- migrate:downgrade sqlite\nDELETE FROM audit;\n"
        ),
        "{backfill}"
    );
    // The revisions before it still have their SQL.
    let (code, out, err) = p.run(&["upgrade", "6b0e4d2c8f13", "--sql"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("CREATE UNIQUE INDEX ix_account_email"),
        "{out}"
    );
}

#[test]
fn the_graph_keeps_ids_labels_and_dependencies() {
    let p = imported();
    let merge = std::fs::read_to_string(
        p.path()
            .join("migrations/versions/4f2e1c0d9b8a_merge_billing_into_the_main_line.sql"),
    )
    .unwrap();
    assert!(
        merge.starts_with(
            "-- revision = \"4f2e1c0d9b8a\"\n-- down_revision = [\"ae1027a6acf\", \"3cd6d9a1b2e0\"]\n"
        ),
        "{merge}"
    );
    let (code, out, err) = p.run(&["heads", "--json"]);
    assert_eq!(code, 0, "{err}");
    let mut heads = json_ids(&out);
    heads.sort();
    assert_eq!(heads, ["4f2e1c0d9b8a", "6b0e4d2c8f13"]);
    // `billing@head` resolves through the label the import kept.
    let (code, out, err) = p.run(&["upgrade", "billing@head", "--sql"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3cd6d9a1b2e0"), "{out}");
    // Idempotent: a second import writes nothing.
    let versions = fixture().join("versions");
    let (code, out, _) = p.run(&["import", "alembic", versions.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to import"), "{out}");
}

#[test]
fn heads_history_and_upgrade_order_match_alembic() {
    let Some(alembic) = alembic() else { return };
    let p = imported();
    let theirs_heads: Vec<String> = run_alembic(&alembic, &["heads"])
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let (_, out, _) = p.run(&["heads", "--json"]);
    assert_eq!(json_ids(&out), theirs_heads);
    let theirs_history: Vec<String> = run_alembic(&alembic, &["history"])
        .lines()
        .map(|l| {
            let after = l.split("-> ").nth(1).unwrap();
            after.split([' ', ',']).next().unwrap().to_string()
        })
        .collect();
    let (_, out, _) = p.run(&["history", "--json"]);
    assert_eq!(json_ids(&out), theirs_history);
    let theirs = upgrade_order(&run_alembic(&alembic, &["upgrade", "heads", "--sql"]));
    let (code, out, err) = p.run(&["upgrade", "heads", "--sql"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(theirs.len(), 7);
    assert_eq!(upgrade_order(&out), theirs, "{out}");
}

#[test]
fn bad_modules_name_the_file_and_write_nothing() {
    for (name, text, says) in [
        ("a.py", "down_revision = None\n", "no `revision"),
        (
            "b.py",
            "revision = 'b'\ndown_revision = parent()\n",
            "line 2",
        ),
    ] {
        let p = TestProject::new();
        let dir = p.path().join("src");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.py"), "revision = 'ok'\n").unwrap();
        std::fs::write(dir.join(name), text).unwrap();
        let (code, _, err) = p.run(&["import", "alembic", dir.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(name) && err.contains(says), "{err}");
        let versions = std::fs::read_dir(p.path().join("migrations/versions")).unwrap();
        assert_eq!(versions.count(), 0);
    }
    let p = TestProject::new();
    let dir = p.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("one.py"), "revision = 'x'\n").unwrap();
    std::fs::write(dir.join("two.py"), "revision = 'x'\n").unwrap();
    let (code, _, err) = p.run(&["import", "alembic", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("one.py") && err.contains("two.py"), "{err}");
}

#[test]
fn alembic_flags_are_refused_for_other_tools() {
    let p = TestProject::new();
    let (code, _, err) = p.run(&["import", "dbmate", "db", "--dialect", "sqlite"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--dialect` is for `retort import alembic` only"),
        "{err}"
    );
}
