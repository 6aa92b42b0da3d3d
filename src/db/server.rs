//! What the server drivers share: password scrubbing of driver messages and the lock key.

/// Removes every secret of the URL from a driver's message; one implementation for every path
/// that shows text to the user lives with the URL type.
pub(crate) use crate::config::url::scrub_secrets as scrub_password;

/// The id of the migration lock (PostgreSQL advisory lock id, MySQL lock name): the first 8 bytes (big-endian) of
/// SHA-256(`<database>` NUL `<key>`). Stable across releases and platforms, and distinct per
/// database and version table, so two projects sharing a server do not block each other.
pub(crate) fn lock_id(database: &str, key: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(database.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod scrub_tests {
    use super::scrub_password;

    #[test]
    fn removes_encoded_and_decoded_passwords_and_userinfo() {
        let url = "postgresql://app:s%40cr%3At@db.example:5432/prod";
        let message =
            "connect to postgresql://app:s%40cr%3At@db.example failed; password s@cr:t rejected";
        let scrubbed = scrub_password(message, url);
        assert!(!scrubbed.contains("s@cr:t"), "{scrubbed}");
        assert!(!scrubbed.contains("s%40cr%3At"), "{scrubbed}");
        assert_eq!(
            scrubbed,
            "connect to postgresql://app:***@db.example failed; password *** rejected"
        );
    }

    #[test]
    fn handles_unencoded_at_signs_and_urls_without_password() {
        let scrubbed = scrub_password("bad pa@ss here", "mysql://root:pa@ss@localhost/db");
        assert_eq!(scrubbed, "bad *** here");
        assert_eq!(
            scrub_password("see mysql://root@localhost/db", "mysql://root@localhost/db"),
            "see mysql://root@localhost/db"
        );
    }

    #[test]
    fn lock_id_is_stable_and_distinct() {
        // Pinned (computed apart, with Python's hashlib): changing the derivation would let old
        // and new retort runners miss each other.
        assert_eq!(
            super::lock_id("app", "retort_version"),
            1_262_302_176_390_550_603
        );
        assert_eq!(
            super::lock_id("other", "retort_version"),
            6_003_244_120_702_233_583
        );
    }
}
