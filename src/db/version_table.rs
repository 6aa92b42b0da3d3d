//! SQL for the version table and the audit table, per dialect (shared by live and offline runs).
