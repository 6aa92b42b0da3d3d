-- revision = "0e6276a96e23"
-- down_revision = "3568e282dfe1"
-- message = "add account display name"
-- create_date = "2026-11-03T09:00:00Z"

-- migrate:upgrade
ALTER TABLE account ADD COLUMN display_name VARCHAR(100);

-- migrate:downgrade
ALTER TABLE account DROP COLUMN display_name;
