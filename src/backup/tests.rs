use std::os::unix::fs::PermissionsExt;

use super::*;

fn make_db(path: &Path, rows: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS retort_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
         DELETE FROM retort_version; INSERT INTO retort_version VALUES ('1975ea83b712');",
    )
    .unwrap();
    for i in 0..rows {
        conn.execute("INSERT INTO item (name) VALUES (?1)", [format!("item {i}")])
            .unwrap();
    }
}

fn item_count(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .unwrap()
}

fn rows() -> Vec<String> {
    vec!["1975ea83b712".to_string()]
}

/// Rewrites the creation time in a backup's metadata, as if it had been made then.
fn backdate(record: &BackupRecord, created: DateTime<Utc>) -> BackupRecord {
    let mut record = record.clone();
    record.created_at = created.to_rfc3339_opts(SecondsFormat::Secs, true);
    let meta = BackupRecord::metadata_path(&record.backup_path);
    std::fs::write(&meta, serde_json::to_string(&record).unwrap()).unwrap();
    record
}

#[test]
fn backup_writes_a_private_copy_and_its_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 10);
    let dir = tmp.path().join("backups");
    let record = backup_sqlite(&db, &dir, "upgrade head", &rows()).unwrap();

    let name = record
        .backup_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let stamp = name
        .strip_prefix("app_")
        .unwrap()
        .strip_suffix(".db")
        .unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").is_ok(),
        "{name}"
    );
    assert_eq!(record.backup_path.parent(), Some(dir.as_path()));
    for file in [
        &record.backup_path,
        &BackupRecord::metadata_path(&record.backup_path),
    ] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    assert_eq!(item_count(&record.backup_path), 10);

    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(BackupRecord::metadata_path(&record.backup_path)).unwrap(),
    )
    .unwrap();
    let (sha, size) = sha256_file(&record.backup_path).unwrap();
    assert_eq!(
        meta["original_path"],
        db.canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(meta["backup_path"], record.backup_path.to_str().unwrap());
    assert_eq!(meta["sha256"], sha.as_str());
    assert_eq!(meta["size"], size);
    assert_eq!(meta["version_rows"], serde_json::json!(["1975ea83b712"]));
    assert_eq!(meta["command"], "upgrade head");
    assert_eq!(meta["retort_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(meta["dialect"], "sqlite");
    let created = DateTime::parse_from_rfc3339(meta["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(created.offset().local_minus_utc(), 0);
    assert!(meta["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn backup_is_consistent_while_another_connection_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("live.db");
    make_db(&db, 3);
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer
        .execute_batch("PRAGMA journal_mode=WAL; INSERT INTO item (name) VALUES ('committed');")
        .unwrap();
    writer
        .execute_batch("BEGIN; INSERT INTO item (name) VALUES ('uncommitted');")
        .unwrap();
    let record = backup_sqlite(&db, &tmp.path().join("b"), "backup", &[]).unwrap();
    writer.execute_batch("COMMIT").unwrap();
    drop(writer);
    assert_eq!(item_count(&record.backup_path), 4);
    verify_backup(&record.backup_path).unwrap();
}

#[test]
fn backups_in_the_same_second_get_distinct_names() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let dir = tmp.path().join("backups");
    let names: std::collections::BTreeSet<_> = (0..3)
        .map(|_| backup_sqlite(&db, &dir, "backup", &[]).unwrap().backup_path)
        .collect();
    assert_eq!(names.len(), 3);
    assert_eq!(list_backups(&dir).unwrap().len(), 3);
}

#[test]
fn unwritable_backup_dir_fails_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    // A directory below a regular file cannot exist, not even for root.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let dir = blocker.join("backups");
    let err = backup_sqlite(&db, &dir, "upgrade head", &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("`{}`", dir.display())), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(err.hint().unwrap().contains("--no-backup"));
}

#[test]
fn flipped_byte_is_refused_by_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 20);
    let record = backup_sqlite(&db, &tmp.path().join("b"), "backup", &[]).unwrap();
    let mut bytes = std::fs::read(&record.backup_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&record.backup_path, &bytes).unwrap();
    let (actual, _) = sha256_file(&record.backup_path).unwrap();

    let text = verify_backup(&record.backup_path).unwrap_err().to_string();
    assert!(
        text.contains(&format!("expected {}", record.sha256)),
        "{text}"
    );
    assert!(text.contains(&format!("actual {actual}")), "{text}");
}

#[test]
fn truncated_backup_is_refused_naming_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 20);
    let record = backup_sqlite(&db, &tmp.path().join("b"), "backup", &[]).unwrap();
    let file = OpenOptions::new()
        .write(true)
        .open(&record.backup_path)
        .unwrap();
    file.set_len(record.size / 2).unwrap();
    let text = verify_backup(&record.backup_path).unwrap_err().to_string();
    assert!(
        text.contains(&format!(
            "is {} bytes but its metadata says {} bytes",
            record.size / 2,
            record.size
        )),
        "{text}"
    );
}

#[test]
fn restore_refuses_a_corrupt_backup_and_leaves_the_database_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 5);
    let dir = tmp.path().join("b");
    let record = backup_sqlite(&db, &dir, "backup", &[]).unwrap();
    make_db(&db, 5);
    let mut bytes = std::fs::read(&record.backup_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    std::fs::write(&record.backup_path, &bytes).unwrap();

    assert!(restore(&record.backup_path, &db, &dir, &[]).is_err());
    assert_eq!(item_count(&db), 10);
    // No pre-restore backup either: the check comes first.
    assert_eq!(list_backups(&dir).unwrap().len(), 1);
}

#[test]
fn restore_replaces_the_database_and_keeps_a_pre_restore_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 5);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let dir = tmp.path().join("b");
    let first = backup_sqlite(&db, &dir, "backup", &rows()).unwrap();
    // Later changes sit in the WAL, not yet in the file: they must not reappear over the backup.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
         INSERT INTO item (name) VALUES ('after backup');",
    )
    .unwrap();
    drop(conn);
    make_db(&db, 2);
    assert_eq!(item_count(&db), 8);

    let outcome = restore(&first.backup_path, &db, &dir, &rows()).unwrap();
    assert_eq!(outcome.restored.sha256, first.sha256);
    assert_eq!(item_count(&db), 5);
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let pre = outcome.pre_restore.unwrap();
    assert_eq!(pre.command, "restore (pre-restore backup)");
    assert_eq!(item_count(&pre.backup_path), 8);
    assert!(integrity_problems(&db).unwrap().is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("retort-restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn restore_into_a_missing_database_makes_no_pre_restore_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 4);
    let dir = tmp.path().join("b");
    let record = backup_sqlite(&db, &dir, "backup", &[]).unwrap();
    std::fs::remove_file(&db).unwrap();
    let outcome = restore(&record.backup_path, &db, &dir, &[]).unwrap();
    assert!(outcome.pre_restore.is_none());
    assert_eq!(item_count(&db), 4);
}

#[test]
fn restore_without_metadata_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let stray = tmp.path().join("copy.db");
    std::fs::copy(&db, &stray).unwrap();
    let text = restore(&stray, &db, tmp.path(), &[])
        .unwrap_err()
        .to_string();
    assert!(text.contains("copy.db.json"), "{text}");
}

#[test]
fn retention_keeps_the_newest_and_never_the_one_just_made() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let other_db = tmp.path().join("other.db");
    make_db(&other_db, 1);
    let dir = tmp.path().join("backups");
    // Metadata keeps whole seconds.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    let day = chrono::Duration::days(1);
    let old: Vec<_> = (1..=4)
        .map(|age| {
            backdate(
                &backup_sqlite(&db, &dir, "upgrade", &[]).unwrap(),
                now - day * age,
            )
        })
        .collect();
    let foreign = backup_sqlite(&other_db, &dir, "upgrade", &[]).unwrap();
    let foreign = backdate(&foreign, now - day * 100);
    let stray = dir.join("app_manual_copy.db");
    std::fs::write(&stray, "not a retort backup").unwrap();
    // The new backup is dated long ago too: it must survive every limit all the same.
    let new = backdate(
        &backup_sqlite(&db, &dir, "upgrade", &[]).unwrap(),
        now - day * 50,
    );

    let policy = Retention {
        keep: Some(3),
        keep_days: None,
    };
    let deleted = apply_retention(&dir, policy, &new, now).unwrap();
    // Newest first the others are 1, 2, 3, 4 days old: keep 3 = the new one + 1 and 2 days.
    assert_eq!(
        deleted,
        vec![old[2].backup_path.clone(), old[3].backup_path.clone()]
    );
    assert!(!BackupRecord::metadata_path(&old[2].backup_path).exists());
    assert!(new.backup_path.exists() && old[0].backup_path.exists() && old[1].backup_path.exists());
    assert!(foreign.backup_path.exists() && stray.exists());

    let by_age = Retention {
        keep: None,
        keep_days: Some(1),
    };
    let deleted = apply_retention(&dir, by_age, &new, now).unwrap();
    assert_eq!(deleted, vec![old[1].backup_path.clone()]);
    assert!(new.backup_path.exists() && old[0].backup_path.exists());
    assert!(foreign.backup_path.exists() && stray.exists());

    let keep_none = Retention {
        keep: Some(0),
        keep_days: Some(0),
    };
    let deleted = apply_retention(&dir, keep_none, &new, now).unwrap();
    assert_eq!(deleted, vec![old[0].backup_path.clone()]);
    assert!(new.backup_path.exists());
}

#[test]
fn list_is_newest_first_and_ignores_foreign_files() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let dir = tmp.path().join("backups");
    let now = Utc::now();
    let older = backdate(
        &backup_sqlite(&db, &dir, "a", &[]).unwrap(),
        now - chrono::Duration::hours(2),
    );
    let newer = backdate(
        &backup_sqlite(&db, &dir, "b", &[]).unwrap(),
        now - chrono::Duration::hours(1),
    );
    std::fs::write(dir.join("notes.json"), "{\"hello\": 1}").unwrap();
    std::fs::write(dir.join("notes"), "x").unwrap();
    let listed: Vec<_> = list_backups(&dir)
        .unwrap()
        .into_iter()
        .map(|r| r.backup_path)
        .collect();
    assert_eq!(listed, vec![newer.backup_path, older.backup_path]);
    assert!(list_backups(&tmp.path().join("missing"))
        .unwrap()
        .is_empty());
}

#[test]
fn uri_path_escapes_reserved_characters() {
    assert_eq!(uri_path(Path::new("/a/b?c#d%e.db")), "/a/b%3Fc%23d%25e.db");
}

/// A config with `lines` after a minimal `[migrate]` table.
pub(super) fn config_with(root: &Path, lines: &str) -> Config {
    let text = format!("[migrate]\nscript_location = \"m\"\n{lines}\n");
    Config::parse(&root.join("migrate.toml"), root, &text, &|_| None).unwrap()
}

#[test]
fn a_server_without_any_dump_tool_stops_the_change_unless_not_required() {
    let tmp = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse("postgresql://app:s3cret@db/shop").unwrap();
    let err = without_backup(&config_with(tmp.path(), ""), &url).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no backup of `postgresql://app:"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("`pg_dump` is not on PATH; nothing was changed"),
        "{text}"
    );
    assert!(err.hint().unwrap().contains("`--no-backup`"));

    let relaxed = config_with(tmp.path(), "[backup]\nrequired = false");
    let outcome = without_backup(&relaxed, &url).unwrap();
    assert!(outcome.record.is_none());
    let Some(SkipReason::NotRequired { cause }) = outcome.skipped else {
        panic!("{outcome:?}");
    };
    assert!(
        cause.to_string().ends_with("`pg_dump` is not on PATH"),
        "{cause}"
    );
}

#[test]
fn no_backup_is_made_when_skipped_disabled_in_memory_or_not_created_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let url = DatabaseUrl::parse(&format!("sqlite:///{}", db.display())).unwrap();
    let config = config_with(tmp.path(), "");
    let skipped = |config: &Config, url: &DatabaseUrl, no_backup: bool| {
        let outcome = backup_before_change(config, url, "upgrade head", &[], no_backup).unwrap();
        assert!(outcome.record.is_none() && outcome.removed.is_empty());
        outcome.skipped
    };
    assert!(matches!(
        skipped(&config, &url, true),
        Some(SkipReason::Requested)
    ));
    let disabled = config_with(tmp.path(), "[backup]\nenabled = false");
    assert!(matches!(
        skipped(&disabled, &url, false),
        Some(SkipReason::Disabled)
    ));
    assert!(!tmp.path().join("backups").exists());
    let memory = DatabaseUrl::parse("sqlite://").unwrap();
    assert!(matches!(
        skipped(&config, &memory, false),
        Some(SkipReason::NothingToLose)
    ));
    let missing = DatabaseUrl::parse(&format!(
        "sqlite:///{}",
        tmp.path().join("new.db").display()
    ))
    .unwrap();
    assert!(matches!(
        skipped(&config, &missing, false),
        Some(SkipReason::NothingToLose)
    ));

    let outcome = backup_before_change(&config, &url, "upgrade head", &rows(), false).unwrap();
    assert!(outcome.skipped.is_none());
    let made = outcome.record.unwrap();
    assert_eq!(
        made.backup_path.parent(),
        Some(tmp.path().canonicalize().unwrap().join("backups").as_path())
    );
    assert_eq!(made.command, "upgrade head");
}

#[test]
fn backup_before_change_applies_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    make_db(&db, 1);
    let url = DatabaseUrl::parse(&format!("sqlite:///{}", db.display())).unwrap();
    let config = config_with(tmp.path(), "[backup]\ndir = \"kept\"\nkeep = 1");
    let outcomes: Vec<_> = (0..3)
        .map(|_| backup_before_change(&config, &url, "upgrade", &[], false).unwrap())
        .collect();
    let made: Vec<_> = outcomes.iter().map(|o| o.record.clone().unwrap()).collect();
    let listed = list_backups(&tmp.path().join("kept")).unwrap();
    assert_eq!(listed, vec![made[2].clone()]);
    assert_eq!(outcomes[2].removed, [made[1].backup_path.clone()]);
}

#[test]
fn restore_through_a_symlink_replaces_its_target_with_owner_and_mode_kept() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let real = data.join("app.db");
    make_db(&real, 3);
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o664)).unwrap();
    std::os::unix::fs::chown(&real, Some(4321), Some(4321)).unwrap();
    let link = tmp.path().join("app.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let dir = tmp.path().join("b");
    let record = backup_sqlite(&link, &dir, "backup", &[]).unwrap();
    make_db(&link, 3);

    restore(&record.backup_path, &link, &dir, &[]).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(item_count(&real), 3);
    let meta = std::fs::metadata(&real).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o664);
    assert_eq!((meta.uid(), meta.gid()), (4321, 4321));
}

#[test]
fn backing_up_a_missing_database_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!(
        "sqlite:///{}",
        tmp.path().join("none.db").display()
    ))
    .unwrap();
    let text = existing_sqlite_file(&url).unwrap_err().to_string();
    assert!(text.contains("none.db` does not exist"), "{text}");
    let text = existing_sqlite_file(&DatabaseUrl::parse("sqlite://").unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("in-memory"), "{text}");
}

#[test]
fn a_backup_being_written_is_left_alone_and_a_leftover_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let live = PartialBackup::create(tmp.path().join("app_1.db")).unwrap();
    let abandoned = PartialBackup::create(tmp.path().join("app_2.db")).unwrap();
    let abandoned_path = abandoned.temp_path.clone();
    std::fs::write(format!("{}-journal", abandoned_path.display()), "j").unwrap();
    // A killed run's handle is gone, and with it its lock.
    drop(abandoned);

    remove_stale_partials(tmp.path());
    assert!(live.temp_path.exists());
    let mut left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".app_1.db.retort-partial"]);
    assert!(!abandoned_path.exists());
}
