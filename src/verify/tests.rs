use std::time::Duration;

use super::*;

/// A minimal `Connection` over rusqlite, so the checks are tested apart from the real driver.
struct Sqlite(rusqlite::Connection);

impl Connection for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        self.0
            .execute(sql, [])
            .map(|n| n as u64)
            .map_err(|e| DbError::new(e.to_string()))
    }
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let err = |e: rusqlite::Error| DbError::new(e.to_string());
        let mut stmt = self.0.prepare(sql).map_err(err)?;
        let width = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..width)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                            rusqlite::types::ValueRef::Real(r) => Value::Real(r),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        Ok(rows)
    }
    fn begin(&mut self) -> Result<(), DbError> {
        self.execute("BEGIN").map(|_| ())
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.execute("COMMIT").map(|_| ())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.execute("ROLLBACK").map(|_| ())
    }
    fn table_exists(&mut self, _schema: Option<&str>, _table: &str) -> Result<bool, DbError> {
        Ok(false)
    }
    fn try_lock(&mut self, _: &str, _: Duration) -> Result<bool, DbError> {
        Ok(true)
    }
    fn lock(&mut self, _: &str, _: Duration) -> Result<(), DbError> {
        Ok(())
    }
    fn unlock(&mut self, _: &str) -> Result<(), DbError> {
        Ok(())
    }
}

fn library(extra: &str) -> Sqlite {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT,
                            author_id INTEGER REFERENCES author(id));
         CREATE TABLE shelf (code TEXT PRIMARY KEY, book_id INTEGER, FOREIGN KEY (book_id) REFERENCES book) WITHOUT ROWID;
         INSERT INTO author VALUES (1, 'Ursula');
         INSERT INTO book VALUES (10, 'Earthsea', 1), (11, 'Nobody', NULL);
         {extra}"
    ))
    .unwrap();
    Sqlite(conn)
}

#[test]
fn a_sound_database_passes() {
    let report = run_checks(&mut library("")).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.problem_count(), 0);
    assert_eq!(
        report.text_lines(),
        vec!["integrity_check: ok", "orphaned rows: none"]
    );
}

#[test]
fn orphaned_rows_are_listed_by_table_and_rowid() {
    let mut db = library(
        "INSERT INTO book VALUES (12, 'Lost', 7), (13, 'Also lost', 8);
         INSERT INTO shelf VALUES ('A1', 99);",
    );
    let report = run_checks(&mut db).unwrap();
    assert!(!report.ok);
    assert_eq!(report.problem_count(), 3);
    let book = report.orphans.iter().find(|o| o.table == "book").unwrap();
    assert_eq!(book.parent_table, "author");
    assert_eq!(book.count, 2);
    assert_eq!(book.rows, vec!["rowid 12", "rowid 13"]);
    assert_eq!(book.foreign_key, "book(author_id) -> author(id)");
    let shelf = report.orphans.iter().find(|o| o.table == "shelf").unwrap();
    assert_eq!(shelf.foreign_key, "shelf(book_id) -> book(PRIMARY KEY)");
    assert_eq!(shelf.rows, vec!["a row of a WITHOUT ROWID table"]);

    let text = report.text_lines().join("\n");
    assert!(
        text.contains("orphaned rows: 3\n  `book`: 2 row(s) without a parent in `author` (book(author_id) -> author(id))\n    rowid 12\n    rowid 13"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["orphans"][0]["rows"][0], "rowid 12");
}

#[test]
fn integrity_problems_fail_the_report() {
    let mut report = VerifyReport::new(Dialect::Sqlite);
    report.integrity_errors = vec!["row 3 missing from index idx_x".into()];
    assert_eq!(report.problem_count(), 1);
    assert_eq!(
        report.text_lines()[..2],
        [
            "integrity_check: 1 problem(s)",
            "  row 3 missing from index idx_x"
        ]
    );
}

#[test]
fn anti_join_matches_every_key_column_and_skips_nulls() {
    let key = ForeignKey {
        name: "fk_line_order".into(),
        schema: "shop".into(),
        table: "line".into(),
        columns: vec!["order_id".into(), "tenant".into()],
        parent_schema: "shop".into(),
        parent_table: "order".into(),
        parent_columns: vec!["id".into(), "tenant".into()],
    };
    let (count, list) = anti_join_sql(Dialect::Postgresql, &key);
    let from = "FROM \"shop\".\"line\" c LEFT JOIN \"shop\".\"order\" p \
                ON p.\"id\" = c.\"order_id\" AND p.\"tenant\" = c.\"tenant\" \
                WHERE c.\"order_id\" IS NOT NULL AND c.\"tenant\" IS NOT NULL AND p.\"id\" IS NULL";
    assert_eq!(count, format!("SELECT COUNT(*) {from}"));
    assert!(
        list.starts_with("SELECT CAST(c.\"order_id\" AS TEXT), CAST(c.\"tenant\" AS TEXT) FROM")
    );
    assert!(list.ends_with("LIMIT 100"));
    let (_, mysql_list) = anti_join_sql(Dialect::Mysql, &key);
    assert!(mysql_list.starts_with("SELECT CAST(c.`order_id` AS CHAR)"));
}

#[test]
fn catalog_rows_group_into_keys_in_column_order() {
    let row = |name: &str, table: &str, col: &str, pcol: &str| {
        ["public", table, col, "public", "parent", pcol]
            .iter()
            .fold(vec![Value::Text(name.into())], |mut row, v| {
                row.push(Value::Text((*v).into()));
                row
            })
    };
    let keys = group_foreign_keys(&[
        row("fk_a", "child", "a1", "p1"),
        row("fk_a", "child", "a2", "p2"),
        row("fk_b", "child", "b", "p1"),
    ]);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].columns, vec!["a1", "a2"]);
    assert_eq!(keys[0].parent_columns, vec!["p1", "p2"]);
    assert_eq!(keys[1].name, "fk_b");
}

#[test]
fn a_foreign_key_to_non_unique_columns_is_reported_not_fatal() {
    let mut db = library(
        "CREATE TABLE tag (label TEXT);
         CREATE TABLE tagged (book_id INTEGER, label TEXT REFERENCES tag(label));
         INSERT INTO tagged VALUES (10, 'fantasy');
         INSERT INTO book VALUES (12, 'Lost', 7);",
    );
    let report = run_checks(&mut db).unwrap();
    assert_eq!(
        report.integrity_errors,
        vec!["`tagged`: foreign key mismatch - \"tagged\" referencing \"tag\""]
    );
    // The other tables are still checked.
    assert_eq!(report.orphans.len(), 1);
    assert_eq!(report.orphans[0].rows, vec!["rowid 12"]);
    assert_eq!(report.problem_count(), 2);
}
