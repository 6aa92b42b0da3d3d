#!/usr/bin/env bash
# Speed of the schema features, side by side in one run (hyperfine):
#   1. `retort test` on a 200-revision linear SQLite history (goal: under 2 s);
#   2. `retort test` on a linear PostgreSQL history (PG_REVISIONS, 30) against the floor: psql
#      running upgrade, downgrade, upgrade of each revision (goal: within 3x);
#      Two floors: psql in an existing database, and psql in a scratch database it creates
#      and drops (what `retort test` has to do, and a hand-run test on a throwaway database too);
#   3. `retort drift` on a 300-table PostgreSQL schema (goal: under 2 s), twice: built by 300
#      revisions of a table and an index each, and by one revision of 300 related tables (each
#      with a foreign key to the one before, a check, a unique key, a partial expression index
#      and a trigger, every tenth with a view), so that each catalog query has rows to read.
#      Each as a first check (RETORT_NO_CACHE=1: the expected schema is built on a scratch
#      database) and as a repeated one (compared with the build the warmup kept), beside the
#      floor of the build: psql creating a database, running the upgrades, dropping it.
# Usage: bench/schema.sh [RETORT_BINARY]   (PG at $PG_URL, default postgresql://postgres@127.0.0.1:5432)
#   SQLITE_REVISIONS (200), PG_REVISIONS (30), DRIFT_TABLES (300), RUNS (5);
#   MARKDOWN=FILE also writes hyperfine's table there.
set -euo pipefail
RETORT=${1:-${CARGO_TARGET_DIR:-target}/release/retort}
# The commands run in temp folders: the binary by absolute path.
RETORT=$(realpath "$RETORT")
PG=${PG_URL:-postgresql://postgres@127.0.0.1:5432}
SQLITE_REVISIONS=${SQLITE_REVISIONS:-200}
PG_REVISIONS=${PG_REVISIONS:-30}
DRIFT_TABLES=${DRIFT_TABLES:-300}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; for db in drift wide test floor scratch; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS retort_bench_$db WITH (FORCE)"; done >/dev/null 2>&1 || true' EXIT

# A linear history of $2 revisions in $1, each creating a table with an index.
history() {
  local dir=$1 n=$2 url=$3 parent=""
  mkdir -p "$dir/migrations/versions"
  printf '[migrate]\nscript_location = "migrations"\ndatabase_url = "%s"\n' "$url" > "$dir/migrate.toml"
  for i in $(seq 1 "$n"); do
    local id; id=$(printf 'r%04d' "$i")
    printf -- '-- revision = "%s"\n-- down_revision = "%s"\n\n-- migrate:upgrade\nCREATE TABLE t_%s (id integer PRIMARY KEY, name text NOT NULL, n integer DEFAULT 0);\nCREATE INDEX ix_%s ON t_%s (name);\n\n-- migrate:downgrade\nDROP TABLE t_%s;\n' \
      "$id" "$parent" "$i" "$i" "$i" "$i" > "$dir/migrations/versions/${id}_t.sql"
    parent=$id
  done
}

# One revision building a PostgreSQL schema of $2 related tables in $1.
wide_schema() {
  local dir=$1 n=$2 url=$3
  mkdir -p "$dir/migrations/versions"
  printf '[migrate]\nscript_location = "migrations"\ndatabase_url = "%s"\n' "$url" > "$dir/migrate.toml"
  {
    printf -- '-- revision = "w1"\n-- down_revision = ""\n\n-- migrate:upgrade\n'
    printf 'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n + 1; RETURN NEW; END $$;\n'
    for i in $(seq 1 "$n"); do
      local parent=""
      [ "$i" -gt 1 ] && parent=", parent_id integer REFERENCES t_$((i - 1)) (id) ON DELETE CASCADE"
      printf 'CREATE TABLE t_%s (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE, n integer DEFAULT 0 CHECK (n >= 0), created_at timestamptz NOT NULL DEFAULT now()%s);\n' "$i" "$parent"
      printf 'CREATE INDEX ix_%s ON t_%s (lower(name)) WHERE n > 0;\n' "$i" "$i"
      printf 'CREATE TRIGGER touch_%s BEFORE UPDATE ON t_%s FOR EACH ROW EXECUTE FUNCTION touch();\n' "$i" "$i"
      [ $((i % 10)) -eq 0 ] && printf 'CREATE VIEW v_%s AS SELECT id, name FROM t_%s WHERE n > 0;\n' "$i" "$i"
    done
  } > "$dir/migrations/versions/w1_wide.sql"
}

history "$WORK/sqlite" "$SQLITE_REVISIONS" "sqlite:///app.db"
psql "$PG/postgres" -qc "CREATE DATABASE retort_bench_test" -c "CREATE DATABASE retort_bench_floor" -c "CREATE DATABASE retort_bench_drift" -c "CREATE DATABASE retort_bench_wide"
history "$WORK/pg" "$PG_REVISIONS" "$PG/retort_bench_test"
history "$WORK/drift" "$DRIFT_TABLES" "$PG/retort_bench_drift"
wide_schema "$WORK/wide" "$DRIFT_TABLES" "$PG/retort_bench_wide"
(cd "$WORK/drift" && "$RETORT" upgrade heads --no-backup -q)
(cd "$WORK/wide" && "$RETORT" upgrade heads --no-backup -q)

# The floor: each revision's upgrade, downgrade and upgrade again through psql, one
# transaction each, as `retort test` runs them (without its schema snapshots).
for f in "$WORK"/pg/migrations/versions/*.sql; do
  up=$(sed -n '/^-- migrate:upgrade/,/^-- migrate:downgrade/p' "$f" | grep -v '^-- migrate')
  down=$(sed -n '/^-- migrate:downgrade/,$p' "$f" | grep -v '^-- migrate')
  printf 'BEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\n' "$up" "$down" "$up"
done > "$WORK/floor.sql"
# The floor of a drift check's build: each revision's upgrade, one transaction each.
for dir in drift wide; do
  for f in "$WORK/$dir"/migrations/versions/*.sql; do
    printf 'BEGIN;\n%s\nCOMMIT;\n' "$(sed -n '/^-- migrate:upgrade/,/^-- migrate:downgrade/p' "$f" | grep -v '^-- migrate')"
  done > "$WORK/$dir-build.sql"
done
# psql running FILE in a database it creates and drops.
scratch() {
  echo "psql $PG/postgres -qc 'CREATE DATABASE retort_bench_scratch' && psql $PG/retort_bench_scratch -q -v ON_ERROR_STOP=1 -f $1 && psql $PG/postgres -qc 'DROP DATABASE retort_bench_scratch'"
}

hyperfine --warmup 1 --runs "$RUNS" ${MARKDOWN:+--export-markdown "$MARKDOWN"} \
  -n "retort test, $SQLITE_REVISIONS revisions, SQLite" "cd $WORK/sqlite && $RETORT test -q" \
  -n "retort test, $PG_REVISIONS revisions, PostgreSQL" "cd $WORK/pg && $RETORT test -q" \
  -n "psql up/down/up, $PG_REVISIONS revisions (floor, existing database)" "psql $PG/retort_bench_floor -q -v ON_ERROR_STOP=1 -f $WORK/floor.sql && psql $PG/retort_bench_floor -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' " \
  -n "psql up/down/up, $PG_REVISIONS revisions (floor, scratch database)" "$(scratch "$WORK/floor.sql")" \
  -n "retort drift, $DRIFT_TABLES tables in $DRIFT_TABLES revisions, first check" "cd $WORK/drift && RETORT_NO_CACHE=1 $RETORT drift -q" \
  -n "retort drift, $DRIFT_TABLES tables in $DRIFT_TABLES revisions, repeated check" "cd $WORK/drift && $RETORT drift -q" \
  -n "psql builds the $DRIFT_TABLES tables in a scratch database (floor)" "$(scratch "$WORK/drift-build.sql")" \
  -n "retort drift, $DRIFT_TABLES related tables in one revision, first check" "cd $WORK/wide && RETORT_NO_CACHE=1 $RETORT drift -q" \
  -n "retort drift, $DRIFT_TABLES related tables in one revision, repeated check" "cd $WORK/wide && $RETORT drift -q" \
  -n "psql builds the $DRIFT_TABLES related tables in a scratch database (floor)" "$(scratch "$WORK/wide-build.sql")"
