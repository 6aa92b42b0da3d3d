-- revision = "628adc02d545"
-- down_revision = "89088e089543"
-- message = "create payment"
-- create_date = "2026-11-06T09:00:00Z"

-- migrate:upgrade
CREATE TABLE payment (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL,
    amount NUMERIC(12, 2) NOT NULL,
    paid_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (invoice_id) REFERENCES invoice (id)
);

-- migrate:downgrade
DROP TABLE payment;
