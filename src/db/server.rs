//! What the server drivers share: password scrubbing of driver messages and the lock key.

/// Removes the password of `raw_url` from a driver's message: drivers may echo a connection
/// string or a password back (e.g. in a URL parse error). Both the percent-encoded form written
/// in the URL and the decoded form are replaced, and so is any `scheme://user:secret@` in the text.
pub(crate) fn scrub_password(message: &str, raw_url: &str) -> String {
    let mut scrubbed = message.to_string();
    for secret in password_forms(raw_url) {
        scrubbed = scrubbed.replace(&secret, "***");
    }
    redact_userinfo(&scrubbed)
}

/// The password as written in `raw_url` and percent-decoded; both the first and the last `@`
/// are tried as the end of the user info, since drivers differ on an unencoded `@`.
fn password_forms(raw_url: &str) -> Vec<String> {
    let Some((_, rest)) = raw_url.split_once("://") else {
        return Vec::new();
    };
    let mut forms: Vec<String> = [rest.find('@'), rest.rfind('@')]
        .into_iter()
        .flatten()
        .filter_map(|at| rest[..at].split_once(':').map(|(_, pass)| pass))
        .flat_map(|pass| [pass.to_string(), crate::config::url::percent_decode(pass)])
        .filter(|form| !form.is_empty())
        .collect();
    // Longest first, so a password that contains another form is replaced whole.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    forms
}

/// Replaces the password in every `scheme://user:password@` of `text`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let userinfo_end = after
            .find(|c: char| c == '@' || c == '/' || c.is_whitespace())
            .filter(|&end| after[end..].starts_with('@'));
        match userinfo_end.and_then(|end| after[..end].find(':').map(|colon| (colon, end))) {
            Some((colon, end)) => {
                out.push_str(&after[..=colon]);
                out.push_str("***");
                rest = &after[end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

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
