-- revision = "3ad4dd9b8938"
-- down_revision = "0e6276a96e23"
-- message = "create workspace"
-- create_date = "2026-11-04T09:00:00Z"

-- migrate:upgrade
CREATE TABLE workspace (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    name VARCHAR(100) NOT NULL,
    FOREIGN KEY (account_id) REFERENCES account (id)
);

-- migrate:downgrade
DROP TABLE workspace;
