//! The renderings of a lint: text for a terminal (`file:line:col: CODE name: message` and a
//! `help:` line, as compilers print), and SARIF 2.1.0 for code-scanning UIs. `--json` is the
//! report itself (see docs/json.md).

use std::path::Path;

use serde_json::{json, Value};

use super::rules::Code;
use super::version::VersionSource;
use super::{Finding, LintReport};

/// `file:line:col: CODE name: message`, the file relative to `base` when under it.
pub(crate) fn located(finding: &Finding, base: &Path) -> String {
    format!(
        "{}:{}:{}: {} {}: {}",
        finding
            .path
            .strip_prefix(base)
            .unwrap_or(&finding.path)
            .display(),
        finding.line,
        finding.column,
        finding.code.id(),
        finding.code.name(),
        finding.message
    )
}

/// The findings, each with its help line (stdout).
pub(crate) fn text_findings(report: &LintReport, base: &Path) -> Vec<String> {
    report
        .result
        .findings
        .iter()
        .map(|f| {
            let parsed = if f.parsed {
                ""
            } else {
                " (statement not parsed, checked by token rules)"
            };
            format!("{}{parsed}\n  help: {}", located(f, base), f.code.help())
        })
        .collect()
}

/// Notes, the statements not parsed, the suppressions used and the summary (stderr).
pub(crate) fn text_notes(report: &LintReport, verbose: bool, base: &Path) -> Vec<String> {
    let mut lines: Vec<String> = report.notes.iter().map(|n| format!("note: {n}")).collect();
    lines.extend(
        report
            .result
            .not_parsed
            .iter()
            .map(|f| format!("note: {}", located(f, base))),
    );
    if verbose {
        lines.extend(report.result.allowed.iter().map(|a| {
            format!(
                "allowed: {} (reason: {})",
                located(&a.finding, base),
                a.reason
            )
        }));
    }
    let source = match report.server_version.source {
        VersionSource::Database => "from the database",
        VersionSource::Flag => "from --server-version",
        VersionSource::Config => "from [lint] server_version",
        VersionSource::Assumed => "assumed",
    };
    lines.push(format!(
        "lint: {} finding(s), {} allowed, in {} revision(s) ({} already applied, not linted); judged for {} ({source})",
        report.result.findings.len(),
        report.result.allowed.len(),
        report.linted.len(),
        report.skipped_applied,
        report.server_version,
    ));
    lines
}

/// A path as a SARIF artifact URI: relative to `base` when under it, with forward slashes.
fn uri(path: &Path, base: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn sarif_result(finding: &Finding, base: &Path, level: &str, reason: Option<&str>) -> Value {
    let rule_index = Code::ALL.iter().position(|c| *c == finding.code);
    let mut result = json!({
        "ruleId": finding.code.id(),
        "ruleIndex": rule_index,
        "level": level,
        "message": { "text": finding.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&finding.path, base) },
                "region": { "startLine": finding.line, "startColumn": finding.column }
            }
        }],
        "properties": { "revision": finding.revision, "parsed": finding.parsed }
    });
    if let Some(reason) = reason {
        result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
    }
    result
}

/// The report as a SARIF 2.1.0 log; artifact paths relative to `base` (the working directory).
pub(crate) fn sarif(report: &LintReport, base: &Path) -> Value {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.name(),
                "shortDescription": { "text": c.summary() },
                "help": { "text": c.help() },
                "defaultConfiguration": {
                    "level": if c.is_finding() { "error" } else { "note" }
                }
            })
        })
        .collect();
    let result = &report.result;
    let results: Vec<Value> = result
        .findings
        .iter()
        .map(|f| sarif_result(f, base, "error", None))
        .chain(
            result
                .allowed
                .iter()
                .map(|a| sarif_result(&a.finding, base, "error", Some(&a.reason))),
        )
        .chain(
            result
                .not_parsed
                .iter()
                .map(|f| sarif_result(f, base, "note", None)),
        )
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "retort",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules
                }
            },
            "results": results,
            "properties": {
                "dialect": report.dialect,
                "serverVersion": report.server_version.to_string(),
                "serverVersionSource": report.server_version.source,
            }
        }]
    })
}
