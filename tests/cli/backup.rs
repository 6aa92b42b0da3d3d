//! `backup`, `backups`, `restore` and `verify` driven through the real binary.
#![cfg(feature = "sqlite")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// A project with `migrate.toml` pointing at `app.db` beside it, plus extra config lines.
fn project(extra_config: &str) -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("migrations/versions")).unwrap();
    std::fs::write(
        tmp.path().join("migrate.toml"),
        format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n\
             version_table = \"retort_version\"\n{extra_config}"
        ),
    )
    .unwrap();
    tmp
}

fn retort(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("retort").unwrap();
    cmd.current_dir(dir).env_remove("DATABASE_URL");
    cmd
}

/// Writes `app.db` with a marker row saying `state`, `rows` filler rows and a version row.
fn write_db(path: &Path, state: &str, rows: usize) {
    let _ = std::fs::remove_file(path);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE state (name TEXT NOT NULL);
         CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
         CREATE TABLE retort_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
         INSERT INTO retort_version VALUES ('1975ea83b712');
         BEGIN;",
    )
    .unwrap();
    conn.execute("INSERT INTO state VALUES (?1)", [state])
        .unwrap();
    for i in 0..rows {
        conn.execute(
            "INSERT INTO filler (id, data) VALUES (?1, randomblob(4000))",
            [i as i64],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
}

fn state_of(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", path.display());
    conn.query_row("SELECT name FROM state", [], |r| r.get(0))
        .unwrap()
}

fn backup_json(dir: &Path) -> serde_json::Value {
    let out = retort(dir).args(["backup", "--json"]).assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn backup_writes_a_private_file_and_metadata_beside_the_database() {
    let tmp = project("");
    write_db(&tmp.path().join("app.db"), "original", 3);
    let meta = backup_json(tmp.path());

    let path = PathBuf::from(meta["backup_path"].as_str().unwrap());
    assert_eq!(
        path.parent().unwrap(),
        tmp.path().canonicalize().unwrap().join("backups")
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("app_") && name.ends_with(".db"), "{name}");
    assert_eq!(name.len(), "app_20261123_101502.db".len(), "{name}");
    assert_eq!(
        meta["original_path"],
        tmp.path()
            .join("app.db")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    assert_eq!(meta["version_rows"], serde_json::json!(["1975ea83b712"]));
    assert_eq!(meta["command"], "backup");
    assert_eq!(meta["dialect"], "sqlite");
    assert_eq!(meta["size"], std::fs::metadata(&path).unwrap().len());
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    assert!(meta["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(meta["retort_version"], env!("CARGO_PKG_VERSION"));
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}.json", path.display())).unwrap())
            .unwrap();
    assert_eq!(on_disk, meta);
    for file in [
        path.clone(),
        PathBuf::from(format!("{}.json", path.display())),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    assert_eq!(state_of(&path), "original");

    // Text mode prints the path on stdout.
    retort(tmp.path())
        .arg("backup")
        .assert()
        .success()
        .stdout(predicate::str::contains("backups/app_"));
}

#[test]
fn backups_lists_newest_first() {
    let tmp = project("");
    write_db(&tmp.path().join("app.db"), "original", 1);
    let first = backup_json(tmp.path());
    let second = backup_json(tmp.path());
    let out = retort(tmp.path())
        .args(["backups", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let paths: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["backup_path"].clone())
        .collect();
    // Same second: the suffixed name sorts as the newer one.
    assert_eq!(
        paths,
        vec![second["backup_path"].clone(), first["backup_path"].clone()]
    );
    retort(tmp.path())
        .arg("backups")
        .assert()
        .success()
        .stdout(predicate::str::contains("version 1975ea83b712").count(2));
}

#[test]
fn restore_latest_brings_the_backup_back_and_saves_the_current_database() {
    let tmp = project("");
    let db = tmp.path().join("app.db");
    write_db(&db, "original", 2);
    backup_json(tmp.path());
    write_db(&db, "changed", 2);

    retort(tmp.path())
        .args(["restore", "--latest"])
        .assert()
        .success()
        .stderr(predicate::str::contains("saved the current database to"))
        .stderr(predicate::str::contains("restored"))
        .stderr(predicate::str::contains("checksum and integrity verified"));
    assert_eq!(state_of(&db), "original");

    // The pre-restore backup is the newest now; restoring it undoes the restore.
    retort(tmp.path())
        .args(["restore", "--latest"])
        .assert()
        .success();
    assert_eq!(state_of(&db), "changed");
}

#[test]
fn restore_refuses_a_backup_with_one_flipped_byte() {
    let tmp = project("");
    let db = tmp.path().join("app.db");
    write_db(&db, "original", 5);
    let meta = backup_json(tmp.path());
    write_db(&db, "changed", 1);
    let path = PathBuf::from(meta["backup_path"].as_str().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();

    retort(tmp.path())
        .arg("restore")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not match its checksum"))
        .stderr(predicate::str::contains(format!(
            "expected {}",
            meta["sha256"].as_str().unwrap()
        )))
        .stderr(predicate::str::contains("nothing was restored"));
    assert_eq!(state_of(&db), "changed");
}

#[test]
fn restore_without_any_backup_says_so() {
    let tmp = project("");
    write_db(&tmp.path().join("app.db"), "original", 1);
    retort(tmp.path())
        .args(["restore", "--latest"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("there is no backup of"));
}

#[test]
fn unwritable_backup_dir_fails_with_a_clear_message() {
    // Root ignores permission bits, but nobody can create a directory below a regular file.
    let tmp = project("[backup]\ndir = \"blocker/sub\"\n");
    write_db(&tmp.path().join("app.db"), "original", 1);
    std::fs::write(tmp.path().join("blocker"), "a file").unwrap();
    retort(tmp.path())
        .arg("backup")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot write a backup into"))
        .stderr(predicate::str::contains("blocker/sub"));
}

#[test]
fn full_disk_fails_and_leaves_no_partial_backup() {
    let tmp = project("");
    write_db(&tmp.path().join("app.db"), "original", 100);
    // A file-size limit makes writes fail like a full disk (EFBIG, with SIGXFSZ ignored).
    let bin = assert_cmd::cargo::cargo_bin("retort");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 64; exec '{}' backup",
            bin.display()
        ))
        .current_dir(tmp.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write a backup into"), "{stderr}");
    assert!(stderr.contains("backups"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn retention_keeps_only_the_configured_number() {
    let tmp = project("[backup]\nkeep = 2\n");
    write_db(&tmp.path().join("app.db"), "original", 1);
    let made: Vec<_> = (0..4).map(|_| backup_json(tmp.path())).collect();
    let out = retort(tmp.path())
        .args(["backups", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let paths: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["backup_path"].clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            made[3]["backup_path"].clone(),
            made[2]["backup_path"].clone()
        ]
    );
}

fn file_sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tiny deterministic-per-run pseudo-random numbers, enough to spread kill times.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn restore_killed_at_any_moment_leaves_a_whole_database() {
    let tmp = project("");
    let db = tmp.path().join("app.db");
    // About 20 MB, so that checking, copying and syncing take a while.
    write_db(&db, "backup", 5_000);
    let meta = backup_json(tmp.path());
    let backup = PathBuf::from(meta["backup_path"].as_str().unwrap());
    let pristine = tmp.path().join("pristine.db");
    write_db(&pristine, "original", 5_000);

    let bin = assert_cmd::cargo::cargo_bin("retort");
    let run_restore = || {
        std::process::Command::new(&bin)
            .arg("restore")
            .arg(&backup)
            .current_dir(tmp.path())
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let reset = || {
        std::fs::copy(&pristine, &db).unwrap();
        // Drop the pre-restore backups of earlier rounds (20 MB each).
        for entry in std::fs::read_dir(tmp.path().join("backups")).unwrap() {
            let path = entry.unwrap().path();
            if !path
                .to_string_lossy()
                .starts_with(&*backup.to_string_lossy())
            {
                std::fs::remove_file(path).unwrap();
            }
        }
    };

    // One undisturbed run tells how long a restore takes here, to spread the kills over it.
    reset();
    let started = Instant::now();
    assert!(run_restore().wait().unwrap().success());
    let full = started.elapsed().max(Duration::from_millis(20));
    assert_eq!(state_of(&db), "backup");

    let (original_sha, backup_sha) = (file_sha256(&pristine), file_sha256(&backup));
    let mut seed = u64::from(std::process::id()) | 1;
    let mut outcomes = Vec::new();
    for round in 0..10u64 {
        reset();
        let mut child = run_restore();
        // Spread over 0..120% of a full run, one tenth per round, jittered within it.
        let permille = round * 120 + next_random(&mut seed) % 120;
        std::thread::sleep(full * u32::try_from(permille).unwrap() / 1000);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whatever the moment, the file is byte for byte one of the two whole databases.
        let now = file_sha256(&db);
        let state = if now == original_sha {
            "original"
        } else if now == backup_sha {
            "backup"
        } else {
            panic!("killed at {permille} permille, the database is neither version")
        };
        assert_eq!(state_of(&db), state);
        outcomes.push((permille, state));
    }
    // The backup itself is untouched.
    retort(tmp.path())
        .arg("restore")
        .arg(&backup)
        .assert()
        .success();
    assert_eq!(state_of(&db), "backup");
    eprintln!("full run {full:?}; kill outcomes: {outcomes:?}");
}

fn orphaned_db(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE author (id INTEGER PRIMARY KEY);
         CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id));
         INSERT INTO author VALUES (1);
         INSERT INTO book VALUES (1, 1), (2, 1);",
    )
    .unwrap();
}

#[test]
fn verify_passes_a_sound_database() {
    let tmp = project("");
    orphaned_db(&tmp.path().join("app.db"));
    retort(tmp.path())
        .arg("verify")
        .assert()
        .success()
        .stdout("integrity_check: ok\norphaned rows: none\n");
}

#[test]
fn verify_lists_orphaned_rows_by_table_and_rowid() {
    let tmp = project("");
    let db = tmp.path().join("app.db");
    orphaned_db(&db);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO book VALUES (7, 42);")
        .unwrap();
    retort(tmp.path())
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "orphaned rows: 1\n  `book`: 1 row(s) without a parent in `author` (book(author_id) \
             -> author(id))\n    rowid 7\n",
        ))
        .stderr(predicate::str::contains("verify found 1 problem(s)"));
    let out = retort(tmp.path())
        .args(["verify", "--json"])
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["orphans"][0]["table"], "book");
    assert_eq!(report["orphans"][0]["parent_table"], "author");
    assert_eq!(report["orphans"][0]["rows"], serde_json::json!(["rowid 7"]));
}

#[test]
fn verify_refuses_a_missing_database_file() {
    let tmp = project("");
    retort(tmp.path())
        .arg("verify")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist"));
    assert!(!tmp.path().join("app.db").exists());
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::support::server;

/// Runs each statement on `db`; one ending in `-- fails` must fail, the others succeed.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn run_all(db: &server::TestDatabase, statements: &[&str]) {
    let mut conn = db.connect();
    for sql in statements {
        let result = conn.execute(sql);
        if sql.ends_with("-- fails") {
            assert!(result.is_err(), "{sql} should have failed");
        } else if let Err(e) = result {
            panic!("{sql}: {e}");
        }
    }
}

/// On a fresh database: runs `setup`, checks that `verify` passes, runs `damage`, and returns
/// the failing `verify`'s text report and JSON report (`None` when the server is not set).
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn verify_after_damage(
    dialect: retort::Dialect,
    setup: &[&str],
    damage: &[&str],
) -> Option<(String, serde_json::Value)> {
    let db = server::TestDatabase::create(dialect, &format!("verify_{dialect}"))?;
    let tmp = project("");
    run_all(&db, setup);
    retort(tmp.path())
        .args(["--url", &db.url, "verify"])
        .assert()
        .success()
        .stdout("invalid constraints: none\norphaned rows: none\n");
    run_all(&db, damage);
    let text = retort(tmp.path())
        .args(["--url", &db.url, "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("verify found"));
    let json = retort(tmp.path())
        .args(["--url", &db.url, "verify", "--json"])
        .assert()
        .code(1);
    Some((
        String::from_utf8_lossy(&text.get_output().stdout).into_owned(),
        serde_json::from_slice(&json.get_output().stdout).unwrap(),
    ))
}

#[cfg(feature = "postgres")]
#[test]
fn verify_on_postgresql_reports_invalid_constraints_and_orphans() {
    let Some((text, json)) = verify_after_damage(
        retort::Dialect::Postgresql,
        &[
            "CREATE TABLE author (id INTEGER PRIMARY KEY)",
            "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER, pages INTEGER)",
            "INSERT INTO author VALUES (1)",
            "INSERT INTO book VALUES (1, 1, 10), (2, NULL, 20), (3, 42, -5)",
        ],
        &[
            "ALTER TABLE book ADD CONSTRAINT book_author_fk FOREIGN KEY (author_id) REFERENCES \
             author (id) NOT VALID",
            "ALTER TABLE book ADD CONSTRAINT book_pages_positive CHECK (pages > 0) NOT VALID",
            "CREATE TABLE tag (label TEXT)",
            "INSERT INTO tag VALUES ('x'), ('x')",
            // Fails on the duplicates and leaves the index behind, invalid.
            "CREATE UNIQUE INDEX CONCURRENTLY tag_label_unique ON tag (label) -- fails",
        ],
    ) else {
        return;
    };
    assert_eq!(
        text,
        "invalid constraints: 3\n  book_author_fk on `book` is not valid (foreign key)\n  \
         book_pages_positive on `book` is not valid (check)\n  \
         tag_label_unique on `tag` is not valid (index)\n\
         orphaned rows: 1\n  `book`: 1 row(s) without a parent in `author` \
         (book_author_fk: book(author_id) -> author(id))\n    author_id=42\n"
    );
    assert_eq!(json["dialect"], "postgresql");
    assert_eq!(json["orphans"][0]["count"], 1);
    assert_eq!(json["invalid_constraints"][1]["kind"], "check");
}

#[cfg(feature = "mysql")]
#[test]
fn verify_on_mariadb_reports_orphans_inserted_without_checks() {
    let Some((text, json)) = verify_after_damage(
        retort::Dialect::Mysql,
        &[
            "CREATE TABLE author (id INTEGER PRIMARY KEY)",
            "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER, \
             CONSTRAINT book_author_fk FOREIGN KEY (author_id) REFERENCES author (id))",
            "INSERT INTO author VALUES (1)",
            "INSERT INTO book VALUES (1, 1), (2, NULL)",
        ],
        &[
            "SET foreign_key_checks = 0",
            "INSERT INTO book VALUES (3, 42), (4, 43)",
        ],
    ) else {
        return;
    };
    assert_eq!(
        text,
        "invalid constraints: none\n\
         orphaned rows: 2\n  `book`: 2 row(s) without a parent in `author` \
         (book_author_fk: book(author_id) -> author(id))\n    author_id=42\n    author_id=43\n"
    );
    assert_eq!(json["dialect"], "mysql");
    assert_eq!(
        json["orphans"][0]["rows"],
        serde_json::json!(["author_id=42", "author_id=43"])
    );
}

#[cfg(feature = "postgres")]
#[test]
fn backup_of_postgresql_uses_pg_dump_with_the_password_in_the_environment() {
    let Some(db) = server::TestDatabase::create(retort::Dialect::Postgresql, "dump_pg") else {
        return;
    };
    let tmp = project("");
    run_all(
        &db,
        &[
            "CREATE TABLE retort_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
            "INSERT INTO retort_version VALUES ('1975ea83b712')",
            "CREATE TABLE dumped (note TEXT)",
            "INSERT INTO dumped VALUES ('this row is in the dump')",
        ],
    );
    let out = retort(tmp.path())
        .args(["--url", &db.url, "backup", "--json"])
        .assert()
        .success();
    let meta: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(meta["dialect"], "postgresql");
    assert_eq!(meta["version_rows"], serde_json::json!(["1975ea83b712"]));
    let path = PathBuf::from(meta["backup_path"].as_str().unwrap());
    assert!(path.starts_with(tmp.path().canonicalize().unwrap().join("backups")));
    let dump = std::fs::read_to_string(&path).unwrap();
    assert!(dump.contains("CREATE TABLE public.dumped"), "{dump}");
    assert!(dump.contains("this row is in the dump"), "{dump}");
    assert_eq!(meta["sha256"], file_sha256(&path));

    // No pg_dump and no command: the backup cannot be made, and says why.
    retort(tmp.path())
        .args(["--url", &db.url, "backup"])
        .env("PATH", "/nonexistent")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`pg_dump` is not on PATH"));
}

#[cfg(feature = "mysql")]
#[test]
fn backup_of_mariadb_uses_mysqldump() {
    let Some(db) = server::TestDatabase::create(retort::Dialect::Mysql, "dump_my") else {
        return;
    };
    let tmp = project("[backup]\ndir = \"dumps\"\n");
    run_all(
        &db,
        &[
            "CREATE TABLE dumped (note TEXT)",
            "INSERT INTO dumped VALUES ('this row is in the dump')",
        ],
    );
    retort(tmp.path())
        .args(["--url", &db.url, "backup"])
        .assert()
        .success()
        .stdout(predicate::str::contains("/dumps/retort_t_dump_my"));
    let out = retort(tmp.path())
        .args(["--url", &db.url, "backups", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let path = PathBuf::from(listed[0]["backup_path"].as_str().unwrap());
    let dump = std::fs::read_to_string(&path).unwrap();
    assert!(dump.contains("CREATE TABLE `dumped`"), "{dump}");
    assert!(dump.contains("this row is in the dump"), "{dump}");
    assert_eq!(listed[0]["dialect"], "mysql");
}

#[test]
fn restoring_another_databases_backup_warns() {
    let tmp = project("");
    write_db(&tmp.path().join("app.db"), "app", 1);
    write_db(&tmp.path().join("other.db"), "other", 1);
    let out = retort(tmp.path())
        .args(["--url", "sqlite:///other.db", "backup"])
        .assert()
        .success();
    let file = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_string();
    retort(tmp.path())
        .args(["restore", &file])
        .assert()
        .success()
        .stderr(predicate::str::contains("other.db`, not of `app.db`"));
    assert_eq!(state_of(&tmp.path().join("app.db")), "other");
}

#[cfg(feature = "postgres")]
#[test]
fn verify_on_postgresql_checks_composite_keys_into_partitioned_tables_once() {
    let Some((text, json)) = verify_after_damage(
        retort::Dialect::Postgresql,
        &[
            "CREATE TABLE event (id INTEGER, region TEXT, PRIMARY KEY (id, region)) PARTITION BY \
             LIST (region)",
            "CREATE TABLE event_eu PARTITION OF event FOR VALUES IN ('eu')",
            "CREATE TABLE event_us PARTITION OF event FOR VALUES IN ('us')",
            "CREATE TABLE ticket (id INTEGER PRIMARY KEY, event_id INTEGER, region TEXT, \
             CONSTRAINT ticket_event_fk FOREIGN KEY (event_id, region) REFERENCES event (id, \
             region))",
            "INSERT INTO event VALUES (1, 'eu'), (2, 'us')",
            "INSERT INTO ticket VALUES (1, 1, 'eu'), (2, 2, 'us'), (3, NULL, 'us')",
        ],
        &[
            // Foreign-key triggers do not fire for a replica (superuser only).
            "SET session_replication_role = replica",
            "INSERT INTO ticket VALUES (4, 1, 'us'), (5, 9, 'eu')",
        ],
    ) else {
        return;
    };
    assert_eq!(
        text,
        "invalid constraints: none\n\
         orphaned rows: 2\n  `ticket`: 2 row(s) without a parent in `event` \
         (ticket_event_fk: ticket(event_id, region) -> event(id, region))\n    \
         event_id=1, region=us\n    event_id=9, region=eu\n"
    );
    assert_eq!(json["orphans"].as_array().unwrap().len(), 1);
}
