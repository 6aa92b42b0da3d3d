-- revision = "75ebff62a8fc"
-- down_revision = ["628adc02d545", "dd334d3940fa"]
-- message = "merge billing and audit note"
-- create_date = "2026-11-08T09:00:00Z"

-- migrate:upgrade
-- A merge joins two branches; it has no SQL of its own.

-- migrate:downgrade
