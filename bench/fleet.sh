#!/usr/bin/env bash
# Fleet runs (issue 14), side by side in one run. A benchmark, not a test: nothing here asserts
# a time.
#
# 1. `retort status --fleet tenants --jobs 16` over N_SCHEMAS (default 1,000) up-to-date
#    PostgreSQL schemas on the local server (goal: under 10 s).
# 2. `retort upgrade heads` of N_FILES (default 200) SQLite tenant files with 5 pending
#    revisions each: one process per file, one after the other (the per-file time), against
#    `--fleet --jobs JOBS` on fresh copies of the same files (goal: fleet time within 1.3x of
#    per-file time x files / jobs). Both sides pass --no-backup, so the figure is the
#    runner's, not the copying of 200 backups.
#
# Usage: bench/fleet.sh
#   RETORT_BENCH_PG_URL  admin URL (default: $RETORT_TEST_PG_URL, else
#                        postgresql://postgres@127.0.0.1:5432/test)
#   RETORT_BIN           the binary (default: builds target/release/retort with --all-features)
#   N_SCHEMAS, N_FILES, JOBS (default: the number of cores), RUNS (best of, default 3)
set -euo pipefail

n_schemas=${N_SCHEMAS:-1000}
n_files=${N_FILES:-200}
jobs=${JOBS:-$(nproc)}
runs=${RUNS:-3}
admin_url=${RETORT_BENCH_PG_URL:-${RETORT_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z ${RETORT_BIN:-} ]]; then
    (cd "$here" && cargo build --quiet --release --all-features)
    RETORT_BIN="${CARGO_TARGET_DIR:-$here/target}/release/retort"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p migrations/versions
parent=""
for i in 1 2 3 4 5; do
    {
        echo "-- revision = \"r$i\""
        [[ -n $parent ]] && echo "-- down_revision = \"$parent\""
        echo
        echo "-- migrate:upgrade"
        echo "CREATE TABLE t_$i (id INTEGER PRIMARY KEY, name TEXT);"
        echo "CREATE INDEX t_${i}_name ON t_$i (name);"
    } > "migrations/versions/r${i}_rev.sql"
    parent="r$i"
done

best() { # best wall time in seconds of "$@" over $runs runs, after `reset`
    local best_time=""
    for _ in $(seq "$runs"); do
        reset
        local start end
        start=$(date +%s.%N)
        "$@" > /dev/null 2>&1 || true
        end=$(date +%s.%N)
        local t
        t=$(echo "$end - $start" | bc)
        if [[ -z $best_time ]] || (( $(echo "$t < $best_time" | bc) )); then best_time=$t; fi
    done
    echo "$best_time"
}

# --- 1. status of N_SCHEMAS PostgreSQL schemas -------------------------------------------
db=retort_bench_fleet
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
pg_url=${admin_url%/*}/$db
psql -q "$pg_url" -c "DO \$\$ BEGIN FOR i IN 1..$n_schemas LOOP EXECUTE format('CREATE SCHEMA tenant_%s', i); END LOOP; END \$\$"
cat > migrate.toml <<TOML
[migrate]
script_location = "migrations"
[fleet.schemas]
schemas = { url = "$pg_url", glob = "tenant_*" }
[fleet.files]
sqlite_glob = "tenants/*.db"
TOML
echo "setting up $n_schemas schemas at r5 ..." >&2
"$RETORT_BIN" -q upgrade heads --fleet schemas --jobs 8 --no-backup > /dev/null
reset() { :; }
status_time=$(best "$RETORT_BIN" -q status --fleet schemas --jobs 16)
psql -q "$admin_url" -c "DROP DATABASE $db WITH (FORCE)"

# --- 2. upgrade of N_FILES SQLite files --------------------------------------------------
mkdir -p pristine
for i in $(seq -w 1 "$n_files"); do
    sqlite3 "pristine/t$i.db" "CREATE TABLE tenant (id INTEGER PRIMARY KEY);"
done
reset() { rm -rf tenants && cp -r pristine tenants; }
one_by_one() {
    for f in tenants/*.db; do "$RETORT_BIN" -q --url "sqlite:///$f" upgrade heads --no-backup; done
}
serial_time=$(best one_by_one)
fleet_time=$(best "$RETORT_BIN" -q upgrade heads --fleet files --jobs "$jobs" --no-backup)
reset
"$RETORT_BIN" -q upgrade heads --fleet files --jobs "$jobs" --no-backup > /dev/null
done_count=$(for f in tenants/*.db; do sqlite3 "$f" "SELECT version_num FROM retort_version"; done | grep -c '^r5$')

per_file=$(echo "scale=6; $serial_time / $n_files" | bc)
ideal=$(echo "scale=6; $per_file * $n_files / $jobs" | bc)
ratio=$(echo "scale=3; $fleet_time / $ideal" | bc)
cat <<REPORT
| measurement | seconds |
|---|---|
| status --fleet of $n_schemas up-to-date PostgreSQL schemas, --jobs 16 | $status_time |
| upgrade of $n_files SQLite files, one process each, serially | $serial_time |
| per file | $per_file |
| ideal: per file x $n_files / $jobs jobs | $ideal |
| upgrade --fleet of $n_files SQLite files, --jobs $jobs | $fleet_time |
| fleet / ideal (goal <= 1.3) | $ratio |
(files at r5 after the fleet run: $done_count of $n_files)
REPORT
