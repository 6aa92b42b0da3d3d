//! SQLite backups: online backup API, SHA-256 checksums, JSON metadata, retention, restore.
