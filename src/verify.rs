//! Integrity and referential checks of a live database (`verify`, `upgrade --verify`).
