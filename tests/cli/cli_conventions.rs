//! CLI conventions: shell completions, the man page, `--help` with an example for every
//! command, and no colour when the output is not a terminal.

use assert_cmd::Command;

/// Every subcommand a user can type.
const SUBCOMMANDS: &[&str] = &[
    "init",
    "revision",
    "merge",
    "upgrade",
    "downgrade",
    "stamp",
    "current",
    "heads",
    "branches",
    "history",
    "show",
    "status",
    "check",
    "lint",
    "graph",
    "log",
    "accept",
    "backup",
    "backups",
    "restore",
    "verify",
    "schema",
    "drift",
    "test",
    "completions",
    "man",
];

fn retort(args: &[&str]) -> (String, String) {
    let out = Command::cargo_bin("retort")
        .unwrap()
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "retort {args:?}: {out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let (script, _) = retort(&["completions", shell]);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completions lack `{sub}`");
        }
        // Options of subcommands are completed too.
        assert!(script.contains("migration-lock-wait"), "{shell}");
    }
    let (bash, _) = retort(&["completions", "bash"]);
    assert!(bash.contains("complete -F _retort"), "{bash}");
    let (zsh, _) = retort(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef retort"), "{zsh}");
    let (fish, _) = retort(&["completions", "fish"]);
    assert!(fish.contains("complete -c retort"), "{fish}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    Command::cargo_bin("retort")
        .unwrap()
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn the_man_page_documents_every_subcommand() {
    let (page, _) = retort(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "roff expected: {}",
        &page[..80]
    );
    assert!(page.contains(".TH retort 1"), "{}", &page[..200]);
    for sub in SUBCOMMANDS {
        let section = format!(".SH \"RETORT {}\"", sub.to_uppercase());
        assert!(page.contains(&section), "the man page lacks {section}");
    }
    // Each section carries the subcommand's options and example.
    assert!(page.contains("Examples: retort upgrade heads"));
    assert!(page.contains("\\-\\-migration\\-lock\\-wait"));
}

#[test]
fn every_command_help_has_an_example_and_is_stable() {
    for sub in SUBCOMMANDS {
        let (help, _) = retort(&[sub, "--help"]);
        assert!(
            help.contains("Example: retort") || help.contains("Examples: retort"),
            "`retort {sub} --help` has no example:\n{help}"
        );
        insta::assert_snapshot!(format!("help_{sub}"), help);
    }
}

#[test]
fn output_that_is_not_a_terminal_has_no_colour() {
    let out = Command::cargo_bin("retort")
        .unwrap()
        .env_remove("NO_COLOR")
        .args(["-c", "/nonexistent/migrate.toml", "heads"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    let (help, _) = retort(&["--help"]);
    assert!(!help.contains('\x1b'), "{help:?}");
}
