//! Which statements of a drifted revision changed: the statement checksums its applying (or
//! last `accept`) audit row recorded, aligned with the file's statements now.

use similar::{capture_diff_slices, Algorithm, DiffOp};

use crate::db::audit_details::StatementChecksum;
use crate::error::StatementChange;
use crate::script::checksum::{checksum, SqlStatement};

/// The changes from the statements `recorded` to `current`, in file order. Statements are
/// aligned by checksum (a Myers diff), so an insertion does not make every statement after it
/// "changed"; where a run of recorded statements gives way to a run of current ones, they pair
/// up as changed and the rest are added or removed.
pub(crate) fn statement_changes(
    recorded: &[StatementChecksum],
    current: &[SqlStatement],
) -> Vec<StatementChange> {
    let old: Vec<&str> = recorded.iter().map(|s| s.checksum.as_str()).collect();
    let new_checksums: Vec<String> = current.iter().map(|s| checksum([s.sql.as_str()])).collect();
    let new: Vec<&str> = new_checksums.iter().map(String::as_str).collect();
    let mut changes = Vec::new();
    let removed = |i: usize| StatementChange::Removed {
        index: recorded[i].index,
        was_line: recorded[i].line,
    };
    let added = |i: usize| StatementChange::Added {
        index: i + 1,
        line: current[i].line,
    };
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => changes.extend((old_index..old_index + old_len).map(removed)),
            DiffOp::Insert {
                new_index, new_len, ..
            } => changes.extend((new_index..new_index + new_len).map(added)),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let paired = old_len.min(new_len);
                changes.extend((0..paired).map(|k| StatementChange::Changed {
                    index: new_index + k + 1,
                    line: current[new_index + k].line,
                    was_line: recorded[old_index + k].line,
                }));
                changes.extend((old_index + paired..old_index + old_len).map(removed));
                changes.extend((new_index + paired..new_index + new_len).map(added));
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::audit_details::AuditDetails;

    fn statements(sqls: &[(&str, usize)]) -> Vec<SqlStatement> {
        sqls.iter()
            .map(|(sql, line)| SqlStatement {
                sql: sql.to_string(),
                line: *line,
            })
            .collect()
    }

    fn changes(was: &[(&str, usize)], now: &[(&str, usize)]) -> Vec<String> {
        let recorded = AuditDetails::of_statements(was.iter().copied());
        statement_changes(&recorded, &statements(now))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn changed_added_and_removed_statements_are_named_with_their_lines() {
        let was = [("A", 5), ("B", 9), ("C", 14)];
        assert!(changes(&was, &[("A", 5), ("B", 9), ("C", 14)]).is_empty());
        // Moving a statement to another line without changing it is no change.
        assert!(changes(&was, &[("A", 6), ("B", 10), ("C", 16)]).is_empty());
        assert_eq!(
            changes(&was, &[("A", 5), ("B", 9), ("C2", 14)]),
            ["statement 3 (line 14) changed"]
        );
        assert_eq!(
            changes(&was, &[("A", 5), ("B", 9), ("C", 14), ("D", 20)]),
            ["a statement was added at line 20 (statement 4)"]
        );
        assert_eq!(
            changes(&was, &[("A", 5), ("C", 12)]),
            ["statement 2 (was line 9) was removed"]
        );
        // An insertion does not make the statements after it "changed".
        assert_eq!(
            changes(&was, &[("A", 5), ("X", 7), ("B", 9), ("C", 14)]),
            ["a statement was added at line 7 (statement 2)"]
        );
        assert_eq!(
            changes(&was, &[("A2", 5), ("B", 11), ("C", 16)]),
            ["statement 1 (line 5) changed"]
        );
        assert_eq!(
            changes(&was, &[("A", 5), ("B2", 10), ("B3", 12), ("C", 14)]),
            [
                "statement 2 (line 10, was line 9) changed",
                "a statement was added at line 12 (statement 3)"
            ]
        );
        assert_eq!(
            changes(&was, &[]),
            [
                "statement 1 (was line 5) was removed",
                "statement 2 (was line 9) was removed",
                "statement 3 (was line 14) was removed"
            ]
        );
    }
}
