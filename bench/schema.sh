#!/usr/bin/env bash
# Speed of the schema features, side by side in one run (hyperfine):
#   1. `retort test` on a 200-revision linear SQLite history (goal: under 2 s);
#   2. `retort test` on a 30-revision linear PostgreSQL history against the floor: psql
#      running upgrade, downgrade, upgrade of each revision (goal: within 3x);
#   3. `retort drift` on a 300-table PostgreSQL schema (goal: under 2 s).
# Usage: bench/schema.sh [RETORT_BINARY]   (PG at $PG_URL, default postgresql://postgres@127.0.0.1:5432)
set -euo pipefail
RETORT=${1:-${CARGO_TARGET_DIR:-target}/release/retort}
PG=${PG_URL:-postgresql://postgres@127.0.0.1:5432}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS retort_bench_drift WITH (FORCE)" -c "DROP DATABASE IF EXISTS retort_bench_test WITH (FORCE)" -c "DROP DATABASE IF EXISTS retort_bench_floor WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

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

history "$WORK/sqlite" 200 "sqlite:///app.db"
psql "$PG/postgres" -qc "CREATE DATABASE retort_bench_test" -c "CREATE DATABASE retort_bench_floor" -c "CREATE DATABASE retort_bench_drift"
history "$WORK/pg" 30 "$PG/retort_bench_test"
history "$WORK/drift" 300 "$PG/retort_bench_drift"
(cd "$WORK/drift" && "$RETORT" upgrade heads --no-backup -q)

# The floor: each revision's upgrade, downgrade and upgrade again through psql, one
# transaction each, as `retort test` runs them (without its schema snapshots).
for f in "$WORK"/pg/migrations/versions/*.sql; do
  up=$(sed -n '/^-- migrate:upgrade/,/^-- migrate:downgrade/p' "$f" | grep -v '^-- migrate')
  down=$(sed -n '/^-- migrate:downgrade/,$p' "$f" | grep -v '^-- migrate')
  printf 'BEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\n' "$up" "$down" "$up"
done > "$WORK/floor.sql"

hyperfine --warmup 1 --runs 5 \
  -n 'retort test, 200 revisions, SQLite' "cd $WORK/sqlite && $RETORT test -q" \
  -n 'retort test, 30 revisions, PostgreSQL' "cd $WORK/pg && $RETORT test -q" \
  -n 'psql up/down/up, 30 revisions (floor)' "psql $PG/retort_bench_floor -q -v ON_ERROR_STOP=1 -f $WORK/floor.sql && psql $PG/retort_bench_floor -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' " \
  -n 'retort drift, 300 tables, PostgreSQL' "cd $WORK/drift && $RETORT drift -q"
