//! Templates: the built-in ones (compiled in) and project overrides, rendered with minijinja.
pub mod offline;
