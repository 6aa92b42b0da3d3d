//! Revision ids: validation and generation.

use crate::error::{Error, Result};

/// A new revision id: the last 12 hex characters of a random UUID v4, as Alembic makes them.
pub fn generate() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex[hex.len() - 12..].to_string()
}

/// Checks an id: 1 to 32 characters of letters, digits and `_`. `-`, `+`, `@` and `:` are target
/// syntax; the message for those follows Alembic's.
pub fn validate(id: &str) -> Result<()> {
    let mut target_chars: Vec<char> = id.chars().filter(|c| "-+@:".contains(*c)).collect();
    target_chars.sort_unstable();
    target_chars.dedup();
    if !target_chars.is_empty() {
        let chars: Vec<String> = target_chars.iter().map(char::to_string).collect();
        return Err(Error::resolution(format!(
            "Character(s) '{}' not allowed in revision identifier '{id}'",
            chars.join(", ")
        )));
    }
    if id.is_empty() || id.len() > 32 {
        return Err(Error::resolution(format!(
            "revision identifier '{id}' must be 1 to 32 characters long"
        )));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(Error::resolution(format!(
            "character '{bad}' not allowed in revision identifier '{id}'; use letters, digits and `_`"
        )));
    }
    Ok(())
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
