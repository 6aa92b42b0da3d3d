//! Running a plan: the one place that orders side effects (lock, begin, statements, verify,
//! version-table change, audit row, commit, unlock), for a live database or as offline SQL.
