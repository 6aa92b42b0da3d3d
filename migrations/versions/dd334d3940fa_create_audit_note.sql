-- revision = "dd334d3940fa"
-- down_revision = "3ad4dd9b8938"
-- message = "create audit note"
-- create_date = "2026-11-07T09:00:00Z"

-- migrate:upgrade
CREATE TABLE audit_note (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (account_id) REFERENCES account (id)
);
CREATE INDEX ix_audit_note_created_at ON audit_note (created_at);

-- migrate:verify
-- The new table exists and starts empty.
SELECT COUNT(*) = 0 FROM audit_note;

-- migrate:downgrade
DROP TABLE audit_note;
