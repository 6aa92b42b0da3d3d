//! `import alembic DIR`: the graph of an Alembic versions folder (a branch with a label, a
//! depends_on, a merge and a second head), read without Python, gives retort the heads, history
//! and upgrade order that real Alembic (`RETORT_TEST_ALEMBIC`, installed by .ci/run) gives.

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn imported() -> TestProject {
    let p = TestProject::new();
    let versions = fixture().join("versions");
    let (code, out, err) = p.run(&["import", "alembic", versions.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 6 revision(s)"), "{out}");
    assert!(out.contains("SQL is left for you"), "{out}");
    p
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
    assert_eq!(heads, ["4f2e1c0d9b8a", "5a9d3e7f6c21"]);
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
    assert_eq!(theirs.len(), 6);
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
