//! `retort schema` and schema drift (`drift`, `check --schema`) on SQLite, PostgreSQL and
//! MariaDB: a fixture covering every modeled object kind, the text and `--sql` renderings,
//! byte-identical output for two builds of the same migrations, drift of each kind of hand
//! change, and scratch databases never left behind.

use retort::{Connection, DatabaseUrl, Dialect};

use crate::support::server::TestDatabase;
use crate::support::TestProject;

/// A project on a database of its own for `dialect` (SQLite: `app.db` in the project); also
/// used by `row_counts`.
pub(crate) struct Engine {
    pub(crate) dialect: Dialect,
    pub(crate) project: TestProject,
    /// Dropped after the project (declared after it).
    db: Option<TestDatabase>,
}

impl Engine {
    /// `None` when the server of `dialect` is not configured (outside CI).
    pub(crate) fn new(dialect: Dialect, test: &str) -> Option<Engine> {
        let project = TestProject::new();
        let db = match dialect {
            Dialect::Sqlite => None,
            _ => Some(TestDatabase::create(dialect, test)?),
        };
        let engine = Engine {
            dialect,
            project,
            db,
        };
        engine.configure("");
        Some(engine)
    }

    /// Writes migrate.toml for this database, with `extra` TOML after `[migrate]`.
    pub(crate) fn configure(&self, extra: &str) {
        let url = self.url();
        self.project.file(
            "migrate.toml",
            &format!(
                "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n{extra}"
            ),
        );
    }

    fn url(&self) -> String {
        match &self.db {
            Some(db) => db.url.clone(),
            None => "sqlite:///app.db".into(),
        }
    }

    pub(crate) fn connect(&self) -> Box<dyn Connection> {
        match &self.db {
            Some(db) => db.connect(),
            None => {
                let url = format!("sqlite:///{}", self.project.path().join("app.db").display());
                retort::__test_support::connect(&DatabaseUrl::parse(&url).unwrap()).unwrap()
            }
        }
    }

    /// Runs hand-written statements on the database, as someone with a console would.
    fn by_hand(&self, statements: &[&str]) {
        let mut conn = self.connect();
        for sql in statements {
            conn.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.project.run(args)
    }

    /// Writes the fixture revision and upgrades to it.
    fn build_fixture(&self) {
        self.project
            .file("migrations/versions/a1_fixture.sql", fixture(self.dialect));
        let (code, _, stderr) = self.run(&["upgrade", "heads", "--no-backup", "-q"]);
        assert_eq!(code, 0, "{stderr}");
    }

    /// The scratch databases on this database's server that a check of it would create.
    fn scratch_databases(&self) -> Vec<String> {
        let Some(db) = &self.db else {
            return Vec::new();
        };
        let tail: String = db
            .name
            .chars()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let prefix = format!("retort_scratch_{tail}_");
        let sql = match self.dialect {
            Dialect::Postgresql => "SELECT datname FROM pg_database".to_string(),
            _ => "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA".to_string(),
        };
        let rows = db.connect().query(&sql).unwrap();
        rows.into_iter()
            .filter_map(|row| row[0].as_text())
            .filter(|name| name.starts_with(&prefix))
            .collect()
    }
}

/// One revision creating every object kind the engine has.
fn fixture(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => SQLITE_FIXTURE,
        Dialect::Postgresql => PG_FIXTURE,
        Dialect::Mysql => MYSQL_FIXTURE,
    }
}

const SQLITE_FIXTURE: &str = r#"-- revision = "a1"
-- down_revision = ""
-- message = "fixture"

-- migrate:upgrade
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, name TEXT DEFAULT 'x' CHECK (length(name) < 50), nickname TEXT, deleted_at TEXT, full_name TEXT GENERATED ALWAYS AS (name || ' ' || email) VIRTUAL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT, CONSTRAINT title_len CHECK (length(title) > 0));
CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL COLLATE NOCASE, weight INTEGER DEFAULT 1, heavy INTEGER GENERATED ALWAYS AS (weight > 5) STORED, post_id INTEGER REFERENCES posts(id) DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX ix_posts_user ON posts (user_id DESC);
CREATE UNIQUE INDEX ix_users_lower ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;
CREATE VIEW active_emails AS SELECT email FROM active_users;
CREATE TRIGGER posts_touch AFTER INSERT ON posts BEGIN UPDATE users SET name = name WHERE id = NEW.user_id; END;

-- migrate:downgrade
DROP VIEW active_emails;
DROP VIEW active_users;
DROP TABLE tags;
DROP TABLE posts;
DROP TABLE users;
"#;

const PG_FIXTURE: &str = r#"-- revision = "a1"
-- down_revision = ""
-- message = "fixture"

-- migrate:upgrade
CREATE SCHEMA billing;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer DEFAULT 1 NOT NULL CHECK (VALUE > 0);
CREATE SEQUENCE billing.invoice_no START 100 INCREMENT 5;
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name text COLLATE "C" DEFAULT 'x' CHECK (length(name) < 50), nickname text, m mood, deleted_at timestamptz, lower_email text GENERATED ALWAYS AS (lower(email)) STORED);
CREATE TABLE posts (id serial PRIMARY KEY, user_id bigint NOT NULL, title text, n posint);
CREATE TABLE tags (id integer PRIMARY KEY, label text NOT NULL, weight integer DEFAULT 1);
ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED NOT VALID;
CREATE INDEX ix_posts_user ON posts (user_id DESC);
CREATE UNIQUE INDEX ix_users_lower ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX ix_users_hash ON users USING hash (email);
CREATE INDEX ix_users_name ON users (name text_pattern_ops) INCLUDE (email);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;
CREATE VIEW named_users WITH (security_barrier) AS SELECT id, name FROM users WHERE name IS NOT NULL WITH CASCADED CHECK OPTION;
CREATE MATERIALIZED VIEW post_counts AS SELECT user_id, count(*) AS n FROM posts GROUP BY user_id;
CREATE INDEX ix_post_counts ON post_counts (user_id);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.title := coalesce(NEW.title, ''); RETURN NEW; END $$;
CREATE PROCEDURE noop(a integer) LANGUAGE sql AS $$ SELECT a $$;
CREATE TRIGGER posts_touch BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE billing.invoices (no integer DEFAULT nextval('billing.invoice_no') PRIMARY KEY, amount numeric(10,2));
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- migrate:downgrade
DROP EXTENSION pgcrypto;
DROP SCHEMA billing CASCADE;
DROP MATERIALIZED VIEW post_counts;
DROP VIEW named_users;
DROP VIEW active_users;
DROP TABLE tags;
DROP TABLE posts;
DROP TABLE users;
DROP PROCEDURE noop(integer);
DROP FUNCTION touch();
DROP DOMAIN posint;
DROP TYPE mood;
"#;

const MYSQL_FIXTURE: &str = r#"-- revision = "a1"
-- down_revision = ""
-- message = "fixture"

-- migrate:upgrade
CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name varchar(50) COLLATE utf8mb4_bin DEFAULT 'x' CHECK (length(name) < 50), nickname varchar(50), deleted_at datetime NULL, updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, lower_email varchar(200) AS (lower(email)) STORED, CONSTRAINT email_len CHECK (length(email) > 3));
CREATE TABLE posts (id int AUTO_INCREMENT PRIMARY KEY, user_id bigint NOT NULL, title text, CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE);
CREATE TABLE tags (id int PRIMARY KEY, label varchar(40) NOT NULL, weight int DEFAULT 1);
CREATE INDEX ix_posts_title ON posts (title(20) DESC);
CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;
CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW user_emails AS SELECT email FROM active_users WITH CHECK OPTION;
CREATE TRIGGER posts_touch BEFORE INSERT ON posts FOR EACH ROW SET NEW.title = coalesce(NEW.title, '');
CREATE FUNCTION add1(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE PROCEDURE noop(IN a INT) SELECT a;

-- migrate:downgrade
DROP PROCEDURE noop;
DROP FUNCTION add1;
DROP VIEW user_emails;
DROP VIEW active_users;
DROP TABLE tags;
DROP TABLE posts;
DROP TABLE users;
"#;

/// The hand changes of the drift test, and the line each must produce.
fn hand_changes(dialect: Dialect) -> (Vec<&'static str>, Vec<&'static str>) {
    match dialect {
        // SQLite alters nullability and defaults only by rebuilding the table.
        Dialect::Sqlite => (
            vec![
                "CREATE INDEX ix_hand ON users (name)",
                // Also drops the collation, changes the generation expression and makes the
                // foreign key immediate.
                "CREATE TABLE tags_new (id INTEGER PRIMARY KEY, label TEXT, weight INTEGER DEFAULT 2, heavy INTEGER GENERATED ALWAYS AS (weight > 9) STORED, post_id INTEGER REFERENCES posts(id))",
                "INSERT INTO tags_new (id, label, weight, post_id) SELECT id, label, weight, post_id FROM tags",
                "DROP TABLE tags",
                "ALTER TABLE tags_new RENAME TO tags",
                "ALTER TABLE users DROP COLUMN nickname",
                "CREATE TABLE extra (a INTEGER)",
            ],
            vec![
                "+ index ix_hand on users(name)",
                "+ table extra",
                "- column users.nickname TEXT NULL",
                "~ column tags.label: NOT NULL -> NULL",
                "~ column tags.weight: default 1 -> 2",
                "~ column tags.label: collation NOCASE -> none",
                "~ column tags.heavy: generated weight > 5 STORED -> weight > 9 STORED",
                "- constraint on tags: FOREIGN KEY (post_id) REFERENCES posts (id) DEFERRABLE INITIALLY DEFERRED",
                "+ constraint on tags: FOREIGN KEY (post_id) REFERENCES posts (id)",
            ],
        ),
        Dialect::Postgresql => (
            vec![
                "CREATE INDEX ix_hand ON users (name)",
                "ALTER TABLE tags ALTER COLUMN label DROP NOT NULL",
                "ALTER TABLE tags ALTER COLUMN weight SET DEFAULT 2",
                "ALTER TABLE users DROP COLUMN nickname",
                "CREATE TABLE extra (a integer)",
                "DROP INDEX ix_posts_user",
                "CREATE INDEX ix_posts_user ON posts (user_id NULLS FIRST)",
                "ALTER VIEW named_users RESET (check_option)",
                "DROP INDEX ix_users_name",
                "CREATE INDEX ix_users_name ON users (name text_pattern_ops)",
            ],
            vec![
                "+ index ix_hand on users(name) using btree",
                "+ table extra",
                "- column users.nickname text NULL",
                "~ column tags.label: NOT NULL -> NULL",
                "~ column tags.weight: default 1 -> 2",
                "~ index ix_posts_user: columns user_id DESC -> user_id NULLS FIRST",
                "~ view named_users: definition changed",
                "~ index ix_users_name: include email -> none",
            ],
        ),
        Dialect::Mysql => (
            vec![
                "CREATE INDEX ix_hand ON users (nickname)",
                "ALTER TABLE tags MODIFY label varchar(40) NULL",
                "ALTER TABLE tags ALTER COLUMN weight SET DEFAULT 2",
                "CREATE OR REPLACE VIEW active_users AS SELECT id, email FROM users WHERE id > 0",
                "ALTER TABLE users DROP COLUMN deleted_at",
                "CREATE TABLE extra (a int)",
                "DROP TRIGGER posts_touch",
                "CREATE TRIGGER posts_touch BEFORE INSERT ON posts FOR EACH ROW SET NEW.title = coalesce(NEW.title, 'x')",
                "DROP FUNCTION add1",
                "CREATE FUNCTION add1(x INT) RETURNS INT DETERMINISTIC RETURN x + 2",
                // Only `SHOW CREATE` shows a routine's characteristics and a view's options.
                "ALTER PROCEDURE noop SQL SECURITY INVOKER",
                "ALTER ALGORITHM=TEMPTABLE SQL SECURITY INVOKER VIEW user_emails AS SELECT email FROM active_users",
            ],
            vec![
                "+ index ix_hand on users(nickname) using BTREE",
                "+ table extra",
                "- column users.deleted_at datetime NULL",
                "~ column tags.label: NOT NULL -> NULL",
                "~ column tags.weight: default 1 -> 2",
                "~ view active_users: definition changed",
                "~ view user_emails: definition changed",
                "~ trigger posts.posts_touch: definition changed",
                "~ function add1: definition changed",
                "~ procedure noop: definition changed",
            ],
        ),
    }
}

/// For one engine: the text and `--sql` snapshots, `--table`, `--json`, and two builds of the
/// same migrations printing the same bytes.
fn introspects_the_fixture(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_fixture_{dialect}")) else {
        return;
    };
    engine.build_fixture();
    let (code, text, stderr) = engine.run(&["schema"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(format!("schema_text_{dialect}"), text);
    let (code, sql, stderr) = engine.run(&["schema", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(format!("schema_sql_{dialect}"), sql);
    // retort's own tables are not the application's schema.
    assert!(!text.contains("retort_version"), "{text}");

    let Some(again) = Engine::new(dialect, &format!("schema_again_{dialect}")) else {
        return;
    };
    again.build_fixture();
    assert_eq!(
        again.run(&["schema", "--sql"]).1,
        sql,
        "same migrations, same bytes"
    );
    assert_eq!(again.run(&["schema"]).1, text);

    let (code, json, _) = engine.run(&["schema", "--json", "--table", "users"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tables = json["tables"].as_object().unwrap();
    assert_eq!(tables.keys().collect::<Vec<_>>(), ["users"]);
    assert!(tables["users"]["columns"].as_array().unwrap().len() >= 5);

    let (code, _, stderr) = engine.run(&["schema", "--table", "nope"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("there is no table `nope`"), "{stderr}");

    // `[schema] ignore` leaves objects out by glob.
    engine.configure("\n[schema]\nignore = [\"tag*\", \"active_*\"]\n");
    let (_, ignored, _) = engine.run(&["schema"]);
    assert!(!ignored.contains("table tags"), "{ignored}");
    assert!(!ignored.contains("view active_users"), "{ignored}");
    assert!(ignored.contains("table users"), "{ignored}");
}

#[test]
fn schema_introspects_every_object_kind_on_sqlite() {
    introspects_the_fixture(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn schema_introspects_every_object_kind_on_postgresql() {
    introspects_the_fixture(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn schema_introspects_every_object_kind_on_mariadb() {
    introspects_the_fixture(Dialect::Mysql);
}

/// For one engine: no drift on the untouched database, each hand change reported by
/// `drift` and `check --schema` with exit 1, and no scratch database left behind.
fn detects_each_kind_of_drift(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_drift_{dialect}")) else {
        return;
    };
    engine.build_fixture();
    let (code, stdout, stderr) = engine.run(&["drift"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("no schema drift: "), "{stdout}");
    let (code, stdout, stderr) = engine.run(&["check", "--schema"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let (changes, expected) = hand_changes(dialect);
    engine.by_hand(&changes);
    let (code, stdout, stderr) = engine.run(&["drift"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("differs from what its applied revisions build"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().skip(1).map(str::trim).collect();
    for line in &expected {
        assert!(lines.contains(line), "`{line}` missing from:\n{stdout}");
    }
    let (code, stdout, _) = engine.run(&["check", "--schema"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("problem: schema drift: + table extra"),
        "{stdout}"
    );

    let (code, json, _) = engine.run(&["drift", "--json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["heads"], serde_json::json!(["a1"]));
    let added = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "table")
        .unwrap();
    assert_eq!(added["change"], "added");
    assert_eq!(added["name"], "extra");

    assert_eq!(engine.scratch_databases(), Vec::<String>::new());
}

/// MariaDB: a scratch copy built by another user (`DEFINER`) in a database of another name
/// reads the same views, triggers and routines.
#[cfg(feature = "mysql")]
#[test]
fn another_definer_is_no_drift_on_mariadb() {
    let Some(engine) = Engine::new(Dialect::Mysql, "schema_definer") else {
        return;
    };
    let Some(dev) = TestDatabase::create(Dialect::Mysql, "schema_definer_dev") else {
        return;
    };
    engine.build_fixture();
    let user = format!("retort_definer_{}", std::process::id());
    let mut admin = dev.connect();
    let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    admin.execute(&format!("CREATE USER '{user}'@'%'")).unwrap();
    admin
        .execute(&format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", dev.name))
        .unwrap();
    let dev_url = dev.url.replacen("://root@", &format!("://{user}@"), 1);
    let (code, stdout, stderr) = engine.run(&["drift", "--dev-url", &dev_url]);
    let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("no schema drift: "), "{stdout}");
}

#[test]
fn drift_reports_each_hand_change_on_sqlite() {
    detects_each_kind_of_drift(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn drift_reports_each_hand_change_on_postgresql() {
    detects_each_kind_of_drift(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn drift_reports_each_hand_change_on_mariadb() {
    detects_each_kind_of_drift(Dialect::Mysql);
}

/// `upgrade --require-no-drift` refuses on a drifted database, naming the difference, and
/// changes nothing.
#[test]
fn upgrade_requiring_no_drift_refuses_a_drifted_database() {
    let engine = Engine::new(Dialect::Sqlite, "require_no_drift").unwrap();
    engine.build_fixture();
    engine.project.revision("a2", &["a1"], "");
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--require-no-drift", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    engine.project.revision("a3", &["a2"], "");
    engine.by_hand(&["CREATE INDEX ix_hand ON users (nickname)"]);
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--require-no-drift", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(
        stderr.contains("+ index ix_hand on users(nickname)"),
        "{stderr}"
    );
    let (_, current, _) = engine.run(&["current"]);
    assert!(current.starts_with("a2"), "{current}");
}

/// A user who may not create databases gets a message that says to set `dev_url`, nothing is
/// left behind, and with a `dev_url` the check works and leaves that database empty.
fn without_create_database(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_nocreate_{dialect}")) else {
        return;
    };
    let Some(dev) = TestDatabase::create(dialect, &format!("schema_dev_{dialect}")) else {
        return;
    };
    let db = engine.db.as_ref().unwrap();
    let user = format!("retort_nc_{}", std::process::id());
    let mut admin = db.connect();
    let grant = |admin: &mut Box<dyn Connection>, on: &TestDatabase| match dialect {
        Dialect::Postgresql => {
            admin
                .execute(&format!("GRANT ALL ON DATABASE {} TO {user}", on.name))
                .unwrap();
            let mut there = on.connect();
            there
                .execute(&format!("GRANT ALL ON SCHEMA public TO {user}"))
                .unwrap();
        }
        _ => {
            admin
                .execute(&format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", on.name))
                .unwrap();
        }
    };
    match dialect {
        Dialect::Postgresql => {
            let _ = admin.execute(&format!("DROP ROLE IF EXISTS {user}"));
            admin
                .execute(&format!("CREATE ROLE {user} LOGIN NOCREATEDB"))
                .unwrap();
        }
        _ => {
            let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
            admin.execute(&format!("CREATE USER '{user}'@'%'")).unwrap();
        }
    }
    grant(&mut admin, db);
    grant(&mut admin, &dev);
    let as_user = |url: &str| {
        url.replacen("://root@", &format!("://{user}@"), 1)
            .replacen("://postgres@", &format!("://{user}@"), 1)
    };
    engine.configure("");
    engine.project.file(
        "migrate.toml",
        &format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{}\"\n",
            as_user(&db.url)
        ),
    );
    engine.project.file(
        "migrations/versions/a1_t.sql",
        "-- revision = \"a1\"\n-- down_revision = \"\"\n\n-- migrate:upgrade\nCREATE TABLE t (a integer);\n\n-- migrate:downgrade\nDROP TABLE t;\n",
    );
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--no-backup", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = engine.run(&["drift"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot create the scratch database"),
        "{stderr}"
    );
    assert!(stderr.contains("dev_url"), "{stderr}");
    assert_eq!(engine.scratch_databases(), Vec::<String>::new());

    let (code, stdout, stderr) = engine.run(&["drift", "--dev-url", &as_user(&dev.url)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let mut dev_conn = dev.connect();
    let tables = match dialect {
        Dialect::Postgresql => "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        _ => "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    };
    assert_eq!(
        dev_conn.query(tables).unwrap()[0][0].as_text().as_deref(),
        Some("0")
    );
    drop(dev_conn);

    match dialect {
        Dialect::Postgresql => {
            for on in [db, &dev] {
                let _ = on.connect().execute(&format!("DROP OWNED BY {user}"));
            }
            let _ = admin.execute(&format!("DROP ROLE IF EXISTS {user}"));
        }
        _ => {
            let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
        }
    }
}

#[cfg(feature = "postgres")]
#[test]
fn a_role_without_createdb_is_told_to_set_dev_url_on_postgresql() {
    without_create_database(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn a_user_without_create_is_told_to_set_dev_url_on_mariadb() {
    without_create_database(Dialect::Mysql);
}

/// Writes revision `id` after `parents` with `up` and, when given, `down` and `test` sections.
fn write_revision(
    project: &TestProject,
    id: &str,
    parents: &[&str],
    up: &str,
    down: Option<&str>,
    test: Option<&str>,
) {
    let mut text = format!(
        "-- revision = \"{id}\"\n{}\n-- migrate:upgrade\n{up}\n",
        crate::support::down_revision_header(parents)
    );
    if let Some(down) = down {
        text.push_str(&format!("\n-- migrate:downgrade\n{down}\n"));
    }
    if let Some(test) = test {
        text.push_str(&format!("\n-- migrate:test\n{test}\n"));
    }
    project.file(&format!("migrations/versions/{id}_r.sql"), &text);
}

/// A history with a branch and its merge, a data test and an irreversible revision, written
/// in SQL every engine runs.
fn good_history(project: &TestProject) {
    write_revision(
        project,
        "a1",
        &[],
        "CREATE TABLE t (a integer, b integer);",
        Some("DROP TABLE t;"),
        None,
    );
    write_revision(
        project,
        "b1",
        &["a1"],
        "CREATE INDEX ix_t_a ON t (a);",
        Some("DROP INDEX ix_t_a ON t;"),
        None,
    );
    write_revision(project, "c1", &["a1"], "CREATE TABLE u (id integer PRIMARY KEY, n integer NOT NULL);\nINSERT INTO u VALUES (1, 5);", Some("DROP TABLE u;"), Some("SELECT count(*) = 1 FROM u;"));
    write_revision(
        project,
        "d1",
        &["b1", "c1"],
        "ALTER TABLE t ADD COLUMN c integer;",
        Some("ALTER TABLE t DROP COLUMN c;"),
        None,
    );
    write_revision(
        project,
        "e1",
        &["d1"],
        "CREATE TABLE w (x integer);",
        None,
        None,
    );
}

/// `DROP INDEX` is spelled per engine; the history above uses MySQL's form, which only
/// MySQL accepts: SQLite and PostgreSQL get their own section.
fn portable(project: &TestProject, dialect: Dialect) {
    if dialect != Dialect::Mysql {
        write_revision(
            project,
            "b1",
            &["a1"],
            "CREATE INDEX ix_t_a ON t (a);",
            Some("DROP INDEX ix_t_a;"),
            None,
        );
    }
}

fn tests_a_history(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("migration_test_{dialect}")) else {
        return;
    };
    good_history(&engine.project);
    portable(&engine.project, dialect);
    let (code, stdout, stderr) = engine.run(&["test", "--junit", "good.xml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ok      a1 (up, down, up"), "{stdout}");
    // The merge comes after both of its parents.
    let position = |id: &str| {
        lines
            .iter()
            .position(|l| l.contains(&format!(" {id} (")))
            .unwrap()
    };
    assert!(
        position("d1") > position("b1") && position("d1") > position("c1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok      c1 (up, data test, down, up"),
        "{stdout}"
    );
    assert!(stdout.contains("skipped e1 (irreversible"), "{stdout}");
    assert!(
        stdout.contains("ok      final schema equals `upgrade heads` from empty"),
        "{stdout}"
    );
    // The database itself was never touched.
    let (_, current, _) = engine.run(&["current"]);
    assert_eq!(current.trim(), "", "{current}");

    // A downgrade that forgets its index fails, naming it; so does a false data test.
    write_revision(
        &engine.project,
        "f1",
        &["e1"],
        "CREATE INDEX ix_forgotten ON w (x);",
        Some("SELECT 1;"),
        None,
    );
    write_revision(
        &engine.project,
        "g1",
        &["f1"],
        "CREATE TABLE v (x integer);",
        Some("DROP TABLE v;"),
        Some("SELECT count(*) > 0 FROM v;"),
    );
    let (code, stdout, stderr) = engine.run(&["test", "--junit", "bad.xml"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("FAILED  f1 (the downgrade did not restore the schema"),
        "{stdout}"
    );
    assert!(stdout.contains("+ index ix_forgotten on w(x)"), "{stdout}");
    assert!(stdout.contains("not run g1"), "{stdout}");
    assert!(
        stderr.contains("migration tests failed: 1 of 8 test(s)"),
        "{stderr}"
    );

    let (code, json, _) = engine.run(&["test", "--json", "--from", "e1"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tested: Vec<&str> = json["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap())
        .collect();
    assert_eq!(tested, ["f1", "g1"]);
    assert_eq!(json["revisions"][0]["down_check"], "failed");
    assert_eq!(
        json["revisions"][0]["differences"][0]["name"],
        "ix_forgotten"
    );

    // A data test that returns false fails the revision but not the walk.
    write_revision(
        &engine.project,
        "f1",
        &["e1"],
        "CREATE INDEX ix_forgotten ON w (x);",
        Some(if dialect == Dialect::Mysql {
            "DROP INDEX ix_forgotten ON w;"
        } else {
            "DROP INDEX ix_forgotten;"
        }),
        None,
    );
    let (code, stdout, _) = engine.run(&["test", "--from", "e1"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("FAILED  g1 (data test failed"), "{stdout}");
    assert!(
        stdout.contains("test query did not return true"),
        "{stdout}"
    );
    assert!(stdout.contains("ok      final schema"), "{stdout}");

    for (file, failures) in [("good.xml", "0"), ("bad.xml", "1")] {
        let xml = std::fs::read_to_string(engine.project.path().join(file)).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{file}: {e}\n{xml}"));
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("failures"), Some(failures), "{xml}");
        let cases = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        assert_eq!(
            suite.attribute("tests"),
            Some(cases.to_string().as_str()),
            "{xml}"
        );
        if failures == "1" {
            let failure = doc
                .descendants()
                .find(|n| n.has_tag_name("failure"))
                .unwrap();
            assert!(
                failure.text().unwrap().contains("+ index ix_forgotten"),
                "{xml}"
            );
        }
    }
    assert_eq!(engine.scratch_databases(), Vec::<String>::new());
}

#[test]
fn retort_test_walks_the_history_on_sqlite() {
    tests_a_history(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn retort_test_walks_the_history_on_postgresql() {
    tests_a_history(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn retort_test_walks_the_history_on_mariadb() {
    tests_a_history(Dialect::Mysql);
}

/// `check --schema-file`: passes while the migrations build the committed bytes, fails with a
/// unified diff once a revision changes the schema.
fn checks_a_schema_file(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_file_{dialect}")) else {
        return;
    };
    engine.build_fixture();
    let (_, sql, _) = engine.run(&["schema", "--sql"]);
    engine.project.file("schema.sql", &sql);
    let (code, stdout, stderr) = engine.run(&["check", "--schema-file", "schema.sql"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    write_revision(
        &engine.project,
        "a2",
        &["a1"],
        "CREATE INDEX ix_new ON tags (weight);",
        None,
        None,
    );
    let (code, stdout, stderr) = engine.run(&["check", "--schema-file", "schema.sql"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("--- schema.sql\n+++ built from the migrations\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("+CREATE INDEX") && l.contains("ix_new")),
        "{stdout}"
    );
    assert!(
        stdout.contains("the migrations no longer build the schema in `schema.sql`"),
        "{stdout}"
    );
    assert_eq!(engine.scratch_databases(), Vec::<String>::new());
}

#[test]
fn a_schema_file_is_checked_on_sqlite() {
    checks_a_schema_file(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn a_schema_file_is_checked_on_postgresql() {
    checks_a_schema_file(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn a_schema_file_is_checked_on_mariadb() {
    checks_a_schema_file(Dialect::Mysql);
}

/// The objects of `dialect` that retort does not model, and how `schema` lists each.
fn unmodeled(dialect: Dialect) -> (&'static str, Vec<&'static str>) {
    match dialect {
        Dialect::Sqlite => (
            "CREATE TABLE t (a INTEGER);\nCREATE VIRTUAL TABLE notes USING fts5(body);",
            vec!["virtual table notes"],
        ),
        Dialect::Postgresql => (
            "CREATE TABLE docs (id integer PRIMARY KEY, owner text, during tsrange, EXCLUDE USING gist (during WITH &&));
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY docs_owner ON docs USING (owner = current_user);
CREATE RULE docs_keep AS ON DELETE TO docs DO INSTEAD NOTHING;
CREATE TYPE span AS RANGE (subtype = integer);
CREATE TYPE pair AS (a integer, b integer);
CREATE AGGREGATE total(integer) (sfunc = int4pl, stype = integer);
CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER ddl_seen ON ddl_command_end EXECUTE FUNCTION on_ddl();",
            vec![
                "aggregate total(integer)",
                "composite type pair",
                "event trigger ddl_seen",
                "exclusion constraint docs.docs_during_excl",
                "policy docs_owner on docs",
                "range type span",
                "rule docs_keep on docs",
            ],
        ),
        Dialect::Mysql => (
            "CREATE TABLE t (a int);\nCREATE SEQUENCE s;\nCREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM t;",
            vec!["event nightly", "sequence s"],
        ),
    }
}

/// For one engine: what retort finds but does not model is listed as not compared by
/// `schema` (text and JSON) and by `drift`, which still reports no drift.
fn lists_what_it_does_not_compare(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_unmodeled_{dialect}")) else {
        return;
    };
    let (sql, expected) = unmodeled(dialect);
    write_revision(&engine.project, "a1", &[], sql, None, None);
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--no-backup", "-q"]);
    assert_eq!(code, 0, "{stderr}");

    let (code, text, stderr) = engine.run(&["schema"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<&str> = text
        .split_once("not compared:\n")
        .map(|(_, rest)| rest.lines().map(str::trim).collect())
        .unwrap_or_default();
    assert_eq!(listed, expected, "{text}");
    // A range type's constructors are the type's, not functions of their own.
    assert!(!text.contains("function span"), "{text}");
    let (_, json, _) = engine.run(&["schema", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["not_compared"], serde_json::json!(expected));

    let (code, stdout, stderr) = engine.run(&["drift"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("not compared: {}", expected.join(", "))),
        "{stdout}"
    );
}

#[test]
fn unmodeled_objects_are_listed_as_not_compared_on_sqlite() {
    lists_what_it_does_not_compare(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn unmodeled_objects_are_listed_as_not_compared_on_postgresql() {
    lists_what_it_does_not_compare(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn unmodeled_objects_are_listed_as_not_compared_on_mariadb() {
    lists_what_it_does_not_compare(Dialect::Mysql);
}

/// The expected schema files kept in the project's cache folder.
fn kept_builds(project: &TestProject) -> Vec<std::path::PathBuf> {
    let dir = project.path().join("migrations/.retort-cache");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("schema-"))
        })
        .collect()
}

/// A second drift check at the same revisions compares with the schema the first one built
/// (and says so); a changed revision, a damaged file or `RETORT_NO_CACHE` rebuilds.
fn reuses_an_earlier_build(dialect: Dialect) {
    let Some(engine) = Engine::new(dialect, &format!("schema_kept_{dialect}")) else {
        return;
    };
    let revision = |extra: &str| {
        engine.project.file(
            "migrations/versions/a1_t.sql",
            &format!("-- revision = \"a1\"\n-- down_revision = \"\"\n\n-- migrate:upgrade\nCREATE TABLE t (a integer);\n{extra}\n-- migrate:downgrade\nDROP TABLE t;\n"),
        );
    };
    revision("");
    let (code, _, stderr) = engine.run(&["upgrade", "heads", "--no-backup", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    engine.by_hand(&["CREATE TABLE extra (x integer)"]);

    let (code, first, _) = engine.run(&["drift"]);
    assert_eq!(code, 1, "{first}");
    assert!(first.contains("+ table extra"), "{first}");
    assert!(!first.contains("an earlier build"), "{first}");
    assert_eq!(kept_builds(&engine.project).len(), 1);
    let (code, second, _) = engine.run(&["drift"]);
    assert_eq!(code, 1, "{second}");
    assert!(second.contains("+ table extra"), "{second}");
    assert!(second.contains("(an earlier build, kept in "), "{second}");
    assert_eq!(engine.scratch_databases(), Vec::<String>::new());

    // The revision now builds `extra` too: its SQL is part of what a kept build is for.
    revision("CREATE TABLE extra (x integer);\n");
    let built_in = |args: &[&str]| {
        let (code, json, stderr) = engine.run(args);
        assert_eq!(code, 0, "{json}{stderr}");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        report["built_in"].as_str().unwrap().to_string()
    };
    assert!(!built_in(&["drift", "--json"]).contains("an earlier build"));
    assert!(built_in(&["drift", "--json"]).contains("an earlier build"));

    for kept in kept_builds(&engine.project) {
        std::fs::write(kept, "0\n{\"damaged\": true}").unwrap();
    }
    assert!(!built_in(&["drift", "--json"]).contains("an earlier build"));

    std::fs::remove_dir_all(engine.project.path().join("migrations/.retort-cache")).unwrap();
    let out = engine
        .project
        .retort()
        .args(["drift", "--json"])
        .env("RETORT_NO_CACHE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        kept_builds(&engine.project),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn a_repeated_drift_check_reuses_its_build_on_sqlite() {
    reuses_an_earlier_build(Dialect::Sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn a_repeated_drift_check_reuses_its_build_on_postgresql() {
    reuses_an_earlier_build(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn a_repeated_drift_check_reuses_its_build_on_mariadb() {
    reuses_an_earlier_build(Dialect::Mysql);
}
