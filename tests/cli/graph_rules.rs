//! Graph rules where retort is deliberately stricter or safer than Alembic, driven through the
//! real binary: stamps that keep every applied branch, branch labels Alembic accepts, reserved
//! and shadowing names.

use crate::support::TestProject;

/// Issue 11 item 8's graph: base `aaaa`; `aaaa -> bbbb (billing) -> cccc`; base `mmmm` (main);
/// `dddd` merges `cccc` and `mmmm`; `dddd -> eeee`; `aaaa -> ffff -> gggg` with `gggg`
/// depending on `main`.
fn billing_project() -> TestProject {
    let p = TestProject::new();
    p.revision("aaaa", &[], "");
    p.revision("bbbb", &["aaaa"], "-- branch_labels = [\"billing\"]\n");
    p.revision("cccc", &["bbbb"], "");
    p.revision("mmmm", &[], "-- branch_labels = [\"main\"]\n");
    p.revision("dddd", &["cccc", "mmmm"], "");
    p.revision("eeee", &["dddd"], "");
    p.revision("ffff", &["aaaa"], "");
    p.revision("gggg", &["ffff"], "-- depends_on = [\"main\"]\n");
    p
}

fn ok(p: &TestProject, args: &[&str]) -> String {
    let (code, stdout, stderr) = p.run(args);
    assert_eq!(code, 0, "retort {args:?} failed:\n{stdout}{stderr}");
    stdout
}

#[test]
fn stamp_heads_keeps_the_applied_billing_line() {
    let p = billing_project();
    ok(&p, &["upgrade", "eeee"]);
    ok(&p, &["upgrade", "ffff"]);
    ok(&p, &["stamp", "heads"]);
    let current = ok(&p, &["current"]);
    for head in ["eeee", "gggg"] {
        assert!(
            current.contains(head),
            "current after stamp heads:\n{current}"
        );
    }
    let (code, stdout, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(
        code, 0,
        "upgrade heads after stamp heads:\n{stdout}{stderr}"
    );
    assert!(
        !stdout.contains("Running upgrade") && !stderr.contains("Running upgrade"),
        "upgrade heads after stamp heads ran something:\n{stdout}{stderr}"
    );
}
