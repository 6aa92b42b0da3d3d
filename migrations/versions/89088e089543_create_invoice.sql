-- revision = "89088e089543"
-- down_revision = "3ad4dd9b8938"
-- branch_labels = ["billing"]
-- message = "create invoice"
-- create_date = "2026-11-05T09:00:00Z"

-- migrate:upgrade
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    total NUMERIC(12, 2) NOT NULL,
    issued_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (account_id) REFERENCES account (id)
);

-- migrate:downgrade
DROP TABLE invoice;
