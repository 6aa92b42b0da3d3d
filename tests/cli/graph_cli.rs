//! The commands that read or write the graph, driven through the real binary.

use crate::support::{branched_project, TestProject};

#[test]
fn heads_history_branches_show_in_alembics_format() {
    let p = branched_project();
    insta::assert_snapshot!(p.snapshot(&["heads"]), @r"
    exit: 0
    ----- stdout -----
    dddd0004 (left) (head)
    ffff0006 (right) (head)
    ----- stderr -----
    ");
    insta::assert_snapshot!(p.snapshot(&["history"]), @r"
    exit: 0
    ----- stdout -----
    cccc0003 -> dddd0004 (left) (head), rev dddd0004
    bbbb0002 -> cccc0003 (left), rev cccc0003
    eeee0005 -> ffff0006 (right) (head), rev ffff0006
    bbbb0002 -> eeee0005 (right), rev eeee0005
    aaaa0001 -> bbbb0002 (branchpoint), rev bbbb0002
    <base> -> aaaa0001, rev aaaa0001
    ----- stderr -----
    ");
    insta::assert_snapshot!(p.snapshot(&["branches"]), @r"
    exit: 0
    ----- stdout -----
    bbbb0002 (branchpoint)
             -> cccc0003 (left)
             -> eeee0005 (right)

    ----- stderr -----
    ");
    insta::assert_snapshot!(p.snapshot(&["show", "right@head"]), @r"
    exit: 0
    ----- stdout -----
    Rev: ffff0006 (head)
    Parent: eeee0005
    Branch names: right
    Path: [TMP]/migrations/versions/ffff0006_rev.sql

        rev ffff0006
        
        Revision ID: ffff0006
        Revises: eeee0005

    ----- stderr -----
    ");
    let (code, stdout, _) = p.run(&["history", "-r", "bbbb:ffff"]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = stdout
        .lines()
        .map(|l| {
            l.split(" -> ")
                .nth(1)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(ids, vec!["ffff0006", "eeee0005", "bbbb0002"]);
}

#[test]
fn json_documents_follow_the_spec() {
    let p = branched_project();
    let (code, stdout, _) = p.run(&["history", "--json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let revs = doc.as_array().unwrap();
    assert_eq!(revs.len(), 6);
    for key in [
        "revision",
        "down_revisions",
        "branch_labels",
        "depends_on",
        "message",
        "path",
        "is_head",
        "is_base",
        "is_merge",
        "is_branch_point",
    ] {
        assert!(revs[0].get(key).is_some(), "missing {key}");
    }
    // Same order as the text output, newest first.
    let order: Vec<&str> = revs
        .iter()
        .map(|r| r["revision"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec!["dddd0004", "cccc0003", "ffff0006", "eeee0005", "bbbb0002", "aaaa0001"]
    );
    assert_eq!(revs[4]["is_branch_point"], true);
    assert_eq!(revs[5]["is_base"], true);
    let (_, stdout, _) = p.run(&["show", "heads", "--json"]);
    let heads: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(heads.as_array().unwrap().len(), 2);
    assert_eq!(heads[0]["is_head"], true);
    let (_, stdout, _) = p.run(&["heads", "--json"]);
    let heads: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(heads[1]["branch_labels"], serde_json::json!(["right"]));
}

#[test]
fn resolution_errors_exit_1_with_alembics_text_and_a_hint() {
    let p = branched_project();
    insta::assert_snapshot!(p.snapshot(&["show", "head"]), @r"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    error: Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads

    hint: the heads are `dddd0004`, `ffff0006`; use `heads` for all of them or `<label>@head` for one branch
    ");
    let (code, _, stderr) = p.run(&["show", "zzzzzz"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Can't locate revision identified by 'zzzzzz'"),
        "{stderr}"
    );
    let (code, _, stderr) = p.run(&["history", "-r", "dddd:ffff"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("does not refer to ancestor/descendant revisions"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn usage_errors_exit_2() {
    let p = branched_project();
    let (code, _, stderr) = p.run(&["heads", "--no-such-flag"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = p.run(&["history", "-r", "nocolon"]);
    assert_eq!(code, 2);
}

#[test]
fn bad_files_name_the_file_and_line() {
    let p = branched_project();
    p.file(
        "migrations/versions/9999_bad.sql",
        "-- revision = \"9999\"\n\
         -- down_revision = \"ffff0006\"\n\
         -- colour = \"blue\"\n\n\
         -- migrate:upgrade\n\
         SELECT 1;\n",
    );
    let (code, _, stderr) = p.run(&["heads"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("[TMP]/migrations/versions/9999_bad.sql:3:"),
        "{stderr}"
    );
    assert!(stderr.contains("colour"), "{stderr}");
    let (code, stdout, stderr) = p.run(&["check"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("9999_bad.sql:3"), "{stdout}");
    assert!(stderr.contains("check found 1 problem(s)"), "{stderr}");
}

#[test]
fn graph_problems_are_reported_with_files() {
    let p = TestProject::new();
    p.revision("aaaa0001", &["cccc0003"], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    p.revision("cccc0003", &["bbbb0002"], "");
    p.revision("dddd0004", &[], "");
    let (code, _, stderr) = p.run(&["history"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "Cycle is detected in revisions: aaaa0001 -> cccc0003 -> bbbb0002 -> aaaa0001"
        ),
        "{stderr}"
    );
    let q = TestProject::new();
    q.revision("aaaa0001", &[], "");
    q.file(
        "migrations/versions/aaaa0001_copy.sql",
        &std::fs::read_to_string(q.path().join("migrations/versions/aaaa0001_rev.sql")).unwrap(),
    );
    let (code, _, stderr) = q.run(&["heads"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("aaaa0001_copy.sql") && stderr.contains("aaaa0001_rev.sql"),
        "{stderr}"
    );
}

#[test]
fn check_passes_on_a_clean_project_and_warns_about_several_heads() {
    let p = branched_project();
    let (code, stdout, _) = p.run(&["check", "--no-db"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("warning: 2 heads (dddd0004, ffff0006)"),
        "{stdout}"
    );
    assert!(stdout.contains("ok: 6 revision(s), 2 head(s)"), "{stdout}");
    let (_, stdout, _) = p.run(&["check", "--no-db", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["heads"], serde_json::json!(["dddd0004", "ffff0006"]));
}

#[test]
fn revision_and_merge_write_files_the_graph_reads_back() {
    let p = branched_project();
    let (code, _, stderr) = p.run(&["revision", "-m", "x"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Multiple heads are present; please specify the head revision"),
        "{stderr}"
    );
    let (code, stdout, stderr) =
        p.run(&["merge", "heads", "-m", "join both", "--rev-id", "1111aaaa"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "[TMP]/migrations/versions/1111aaaa_join_both.sql"
    );
    let (_, stdout, _) = p.run(&["heads"]);
    assert_eq!(stdout, "1111aaaa (left, right) (head)\n");
    let (code, stdout, _) = p.run(&[
        "revision",
        "-m",
        "Add invoice table!",
        "--branch-label",
        "billing",
        "--depends-on",
        "left",
    ]);
    assert_eq!(code, 0);
    let path = stdout
        .trim()
        .replace("[TMP]", &p.path().display().to_string());
    assert!(path.ends_with("_add_invoice_table.sql"), "{path}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("-- down_revision = \"1111aaaa\""), "{text}");
    assert!(text.contains("-- branch_labels = [\"billing\"]"), "{text}");
    assert!(text.contains("-- depends_on = [\"left\"]"), "{text}");
    let (_, stdout, _) = p.run(&["show", "billing@head", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc[0]["down_revisions"], serde_json::json!(["1111aaaa"]));
    // Existing ids and non-heads are refused without writing anything.
    let before = std::fs::read_dir(p.path().join("migrations/versions"))
        .unwrap()
        .count();
    let (code, _, stderr) = p.run(&[
        "revision", "-m", "dup", "--rev-id", "aaaa0001", "--head", "base",
    ]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = p.run(&["revision", "-m", "old", "--head", "bbbb0002"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Revision bbbb0002 is not a head revision; please specify --splice"),
        "{stderr}"
    );
    let (code, _, stderr) = p.run(&["revision", "-m", "bad", "--rev-id", "no-dash"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Character(s) '-' not allowed in revision identifier 'no-dash'"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations/versions"))
            .unwrap()
            .count(),
        before
    );
    let (code, _, _) = p.run(&["revision", "-m", "side", "--head", "bbbb0002", "--splice"]);
    assert_eq!(code, 0);
}

#[test]
fn graph_prints_dot_and_mermaid_with_every_edge() {
    let p = branched_project();
    p.revision("9999abcd", &[], "-- depends_on = [\"left\"]\n");
    let (code, stdout, _) = p.run(&["graph"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("digraph revisions {"), "{stdout}");
    assert!(stdout.contains("\"dddd0004\" -> \"cccc0003\";"), "{stdout}");
    assert!(
        stdout.contains("\"9999abcd\" -> \"cccc0003\" [style=dashed"),
        "{stdout}"
    );
    let (_, stdout, _) = p.run(&["graph", "--format", "mermaid"]);
    assert!(stdout.starts_with("flowchart BT"), "{stdout}");
    assert!(stdout.contains("ffff0006 --> eeee0005"), "{stdout}");
    assert!(
        stdout.contains("9999abcd -. depends on .-> cccc0003"),
        "{stdout}"
    );
}

#[test]
fn the_revision_cache_follows_edits_and_can_be_turned_off() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    let cache = p.path().join("migrations/.retort-cache");
    p.retort()
        .env("RETORT_NO_CACHE", "1")
        .arg("heads")
        .assert()
        .success();
    assert!(
        !cache.exists(),
        "RETORT_NO_CACHE=1 wrote {}",
        cache.display()
    );

    // Files written in the file system's current clock tick are not stored yet: run until
    // the cache holds the second revision.
    let stored = || {
        std::fs::read(cache.join("revisions.bin"))
            .is_ok_and(|bytes| bytes.windows(8).any(|w| w == b"bbbb0002"))
    };
    for _ in 0..150 {
        p.retort()
            .arg("heads")
            .assert()
            .success()
            .stdout("bbbb0002 (head)\n");
        if stored() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(stored(), "the cache never stored the revisions");
    let gitignore = std::fs::read_to_string(cache.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "*"), "{gitignore}");

    // An edit after caching is seen: bbbb0002 becomes a second base, so a second head.
    p.revision("bbbb0002", &[], "");
    p.retort()
        .arg("heads")
        .assert()
        .success()
        .stdout("aaaa0001 (head)\nbbbb0002 (head)\n");
}

/// One unreadable file is one problem: the revisions whose parent it declares do not add a
/// "no revision file declares" problem of their own.
#[test]
fn check_reports_an_unreadable_file_once_not_its_children_as_well() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    p.revision("cccc0003", &["bbbb0002"], "");
    p.file(
        "migrations/versions/bbbb0002_rev.sql",
        "-- revision = \"bbbb0002\"\n-- down_revision = \"aaaa0001\"\n-- bogus_key = 1\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    let (code, stdout, _) = p.run(&["check", "--no-db"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("bbbb0002_rev.sql:3"), "{stdout}");
    assert!(
        !stdout.contains("which no revision file declares"),
        "{stdout}"
    );
}
