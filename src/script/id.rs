//! Revision ids: validation and generation.

use crate::error::InvalidId;

/// A new revision id: the last 12 hex characters of a random UUID v4, as Alembic makes them.
pub(crate) fn generate() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex[hex.len() - 12..].to_string()
}

/// Checks an id: 1 to 32 characters of letters, digits and `_`. `-`, `+`, `@` and `:` are target
/// syntax, reported first as Alembic does.
pub(crate) fn validate(id: &str) -> Result<(), InvalidId> {
    let mut chars: Vec<char> = id.chars().filter(|c| "-+@:".contains(*c)).collect();
    chars.sort_unstable();
    chars.dedup();
    if !chars.is_empty() {
        return Err(InvalidId::TargetSyntax {
            id: id.into(),
            chars,
        });
    }
    if id.is_empty() || id.len() > 32 {
        return Err(InvalidId::Length { id: id.into() });
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        Some(bad) => Err(InvalidId::Character { id: id.into(), bad }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_12_lower_hex_and_valid() {
        for _ in 0..100 {
            let id = generate();
            assert_eq!(id.len(), 12);
            assert!(id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            validate(&id).unwrap();
        }
    }

    #[test]
    fn target_syntax_characters_are_rejected_with_alembics_text() {
        let err = validate("no@atsigns-ordashes").unwrap_err().to_string();
        assert_eq!(
            err,
            "Character(s) '-, @' not allowed in revision identifier 'no@atsigns-ordashes'"
        );
        assert!(validate("bad:id").unwrap_err().to_string().contains("':'"));
    }

    #[test]
    fn length_and_charset_are_enforced() {
        assert!(validate("").is_err());
        assert!(validate(&"a".repeat(33)).is_err());
        validate(&"a".repeat(32)).unwrap();
        assert!(validate("has space").is_err());
        validate("Legacy_Id_42").unwrap();
    }
}
