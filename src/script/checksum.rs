//! The statements of a revision's section, positioned in its file, and the checksum the audit
//! trail records of them.

use sha2::{Digest, Sha256};

use super::split::split_statements;
use super::{Script, SectionKind};
use crate::config::Dialect;
use crate::error::{Error, Result};

/// One statement of a revision, positioned in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqlStatement {
    pub sql: String,
    /// 1-based line in the revision file where the statement starts.
    pub line: usize,
}

/// The checksum recorded in the audit trail and compared by drift detection:
/// `sha256:` followed by the lower-case hex SHA-256 of the statements that ran, in order, each
/// as the splitter returns it (trimmed, without its terminator) with CRLF and lone CR line
/// endings normalised to LF, and each followed by `;\n`. Comments between statements and
/// blank lines therefore do not count; any change to a statement does. An empty section hashes
/// the empty string.
pub(crate) fn checksum<'a>(statements: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for sql in statements {
        hasher.update(sql.replace("\r\n", "\n").replace('\r', "\n").as_bytes());
        hasher.update(b";\n");
    }
    format!("sha256:{}", hex(&hasher.finalize()))
}

/// `bytes` as lower-case hex, two digits a byte (without an allocation each).
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    text
}

/// The statements of `script`'s `kind` section for `dialect`, positioned in the file.
pub(crate) fn section_statements(
    script: &Script,
    kind: SectionKind,
    dialect: Dialect,
) -> Result<Vec<SqlStatement>> {
    let Some(section) = script.sections.get(kind, dialect) else {
        return Ok(Vec::new());
    };
    let statements = split_statements(&section.sql, dialect).map_err(|e| Error::Script {
        path: script.path.clone(),
        line: section.first_line + e.line.saturating_sub(1),
        problem: e.problem,
    })?;
    Ok(statements
        .into_iter()
        .map(|s| SqlStatement {
            sql: s.sql,
            line: section.first_line + s.line.saturating_sub(1),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::checksum;

    #[test]
    fn checksum_is_pinned_and_ignores_line_ending_style() {
        // Pinned: changing the scheme breaks drift detection for every existing database.
        assert_eq!(
            checksum(["CREATE TABLE a (id INTEGER)"]),
            "sha256:55b5db57dee6d81a9fdc1aefc06250ac686ca61587be00ef8a1f6e2510f1f821"
        );
        assert_eq!(
            checksum(["SELECT 1,\r\n 2", "SELECT 3"]),
            checksum(["SELECT 1,\n 2", "SELECT 3"])
        );
        assert_ne!(checksum(["SELECT 1"]), checksum(["SELECT 2"]));
        assert_eq!(
            checksum(std::iter::empty()),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
