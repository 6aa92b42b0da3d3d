//! The audit table's `details` column: a JSON object of what a row records beyond its fixed
//! columns (the statements a step ran, ...).
//!
//! Every field is optional and left out when empty, and unknown keys are ignored, so fields can
//! be added without a migration of the audit table and a row written by a newer retort still
//! reads. Rows written before the column existed read as empty details.

use serde::{Deserialize, Serialize};

/// What an audit row records beyond its fixed columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditDetails {
    /// For an upgrade or downgrade, the statements that ran, in order; for an `accept`, the
    /// statements of the file accepted. Empty for a stamp and for rows written before
    /// statements were recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementChecksum>,
    /// The attempts of the step that lost a lock conflict (a lock timeout or a deadlock) and
    /// were retried, or all of them when the retries ran out; empty when it ran once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<crate::report::Attempt>,
    /// For an upgrade, the `retort lint` findings its file accepts on purpose
    /// (`-- retort:allow CODE reason="…"`): one entry per code, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lint_allowed: Vec<LintAllowed>,
}

/// A lint finding a revision accepts, as its `retort:allow` directive says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintAllowed {
    /// The rule, as the directive names it (`RT153` or `drop-table`).
    pub code: String,
    pub reason: String,
    /// 1-based file line of the directive.
    pub line: usize,
}

/// One statement of a revision as it was when a step ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementChecksum {
    /// 1-based position among the section's statements.
    pub index: usize,
    /// 1-based line of the revision file where the statement starts.
    pub line: usize,
    /// The checksum of this one statement, in the scheme of the whole-file checksum
    /// (`sha256:<hex>`, see `script::checksum`).
    pub checksum: String,
}

impl AuditDetails {
    /// Nothing recorded: the column is written as NULL.
    pub fn is_empty(&self) -> bool {
        *self == AuditDetails::default()
    }

    /// The column's text, `None` (NULL) when there is nothing to record.
    pub(crate) fn to_json(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// Details read from the column; `None` when the text is not a JSON object of this shape
    /// (edited by hand).
    pub(crate) fn from_json(text: &str) -> Option<AuditDetails> {
        serde_json::from_str(text).ok()
    }

    /// The suppressions with a reason among `allows` (one entry per code).
    pub(crate) fn of_allows(allows: &[crate::script::directive::Allow]) -> Vec<LintAllowed> {
        allows
            .iter()
            .filter_map(|allow| Some((allow, allow.reason.as_ref()?)))
            .flat_map(|(allow, reason)| {
                allow.codes.iter().map(|code| LintAllowed {
                    code: code.clone(),
                    reason: reason.clone(),
                    line: allow.line,
                })
            })
            .collect()
    }

    /// The statements of `statements` (text and line), with their checksums.
    pub(crate) fn of_statements<'a>(
        statements: impl IntoIterator<Item = (&'a str, usize)>,
    ) -> Vec<StatementChecksum> {
        statements
            .into_iter()
            .enumerate()
            .map(|(i, (sql, line))| StatementChecksum {
                index: i + 1,
                line,
                checksum: crate::script::checksum::checksum([sql]),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_details_are_null_and_fields_round_trip() {
        assert_eq!(AuditDetails::default().to_json(), None);
        let details = AuditDetails {
            statements: AuditDetails::of_statements([("SELECT 1", 8), ("SELECT 2", 9)]),
            attempts: vec![crate::report::Attempt {
                attempt: 1,
                cause: "lock timeout".into(),
                line: 8,
                ran_ms: 2001,
                backoff_ms: 97,
                blocker: Some("PostgreSQL session 7 (user `app`)".into()),
            }],
            lint_allowed: vec![LintAllowed {
                code: "RT153".into(),
                reason: "unused".into(),
                line: 5,
            }],
        };
        let text = details.to_json().unwrap();
        assert_eq!(AuditDetails::from_json(&text), Some(details.clone()));
        assert_eq!(details.statements[1].index, 2);
        assert_eq!(
            details.statements[0].checksum,
            crate::script::checksum::checksum(["SELECT 1"])
        );
    }

    #[test]
    fn unknown_keys_are_ignored_and_missing_ones_default() {
        assert_eq!(
            AuditDetails::from_json(r#"{"later": {"x": 1}}"#),
            Some(AuditDetails::default())
        );
        assert_eq!(AuditDetails::from_json("{}"), Some(AuditDetails::default()));
        assert_eq!(AuditDetails::from_json("not json"), None);
        assert_eq!(AuditDetails::from_json("[1]"), None);
    }
}
