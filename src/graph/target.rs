//! The target grammar: `heads`, `label@head`, `-1`, `ae10:`, ... (Alembic's symbols).
