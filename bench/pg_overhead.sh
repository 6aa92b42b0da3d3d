#!/usr/bin/env bash
# Per-revision overhead of retort on PostgreSQL (issue 4): `retort upgrade heads` of N
# revisions (default 1,000) against `psql` running the same statements in the same
# per-revision transactions on the same server, side by side. Prints both times and the ratio
# (goal: at most 1.2x). A benchmark, not a test: nothing here asserts a time.
#
# The psql side runs retort's own offline script (`upgrade heads --sql`): each revision's
# statements and its version-table change inside BEGIN ... COMMIT, which is what a DBA would
# run by hand. retort additionally reads the version rows and writes an audit row per revision.
#
# Usage: bench/pg_overhead.sh [N]
#   RETORT_BENCH_PG_URL  admin URL (default: $RETORT_TEST_PG_URL, else
#                        postgresql://postgres@127.0.0.1:5432/test)
#   RETORT_BIN           the binary (default: builds target/release/retort with --all-features;
#                        set it when several checkouts share one CARGO_TARGET_DIR, whose
#                        target/release/retort is whichever checkout linked last)
#   RUNS                 runs per side, best time kept (default 3)
set -euo pipefail

n=${1:-1000}
runs=${RUNS:-3}
admin_url=${RETORT_BENCH_PG_URL:-${RETORT_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z ${RETORT_BIN:-} ]]; then
    (cd "$here" && cargo build --quiet --release --all-features)
    RETORT_BIN="${CARGO_TARGET_DIR:-$here/target}/release/retort"
fi

work=$(mktemp -d)
databases=()
cleanup() {
    for db in "${databases[@]}"; do
        psql -X -q -d "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# `url_for DB`: the admin URL with its database replaced by DB (query parameters kept).
url_for() {
    local scheme=${admin_url%%://*} rest=${admin_url#*://} query=""
    [[ $rest == *\?* ]] && query="?${rest#*\?}" && rest=${rest%%\?*}
    echo "$scheme://${rest%%/*}/$1$query"
}

fresh_database() {
    local db="retort_bench_$$_$1"
    psql -X -q -d "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    psql -X -q -d "$admin_url" -c "CREATE DATABASE \"$db\"" >/dev/null
    databases+=("$db")
    url_for "$db"
}

# A linear history of N revisions, each a table, an index and a row: typical small DDL.
mkdir -p "$work/project/migrations/versions"
# transaction_per_migration: the offline script wraps each revision in its own BEGIN/COMMIT,
# as the online run does (one transaction for the whole script would be a different job).
printf '[migrate]\nscript_location = "migrations"\nversion_table = "retort_version"\ntransaction_per_migration = true\n' \
    >"$work/project/migrate.toml"
parent=""
for ((i = 1; i <= n; i++)); do
    id=$(printf 'r%05d' "$i")
    {
        echo "-- revision = \"$id\""
        [[ -n $parent ]] && echo "-- down_revision = \"$parent\""
        echo "-- message = \"table $i\""
        echo
        echo "-- migrate:upgrade"
        echo "CREATE TABLE t_$id (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        echo "CREATE INDEX t_${id}_name ON t_$id (name);"
        echo "INSERT INTO t_$id (id, name) VALUES (1, 'first');"
        echo
        echo "-- migrate:downgrade"
        echo "DROP TABLE t_$id;"
    } >"$work/project/migrations/versions/${id}_table.sql"
    parent=$id
done

cd "$work/project"
"$RETORT_BIN" --url "$(url_for offline)" upgrade heads --sql --dialect postgresql >"$work/offline.sql" 2>/dev/null
[[ $(grep -c '^COMMIT;' "$work/offline.sql") == "$n" ]] || { echo "offline script is not one transaction per revision" >&2; exit 1; }

now() { date +%s.%N; }
best_retort="" best_psql=""
for ((run = 1; run <= runs; run++)); do
    url=$(fresh_database "retort_$run")
    start=$(now)
    "$RETORT_BIN" --quiet --url "$url" upgrade heads --no-backup >/dev/null 2>&1
    t=$(echo "$(now) - $start" | bc)
    [[ -z $best_retort || $(echo "$t < $best_retort" | bc) == 1 ]] && best_retort=$t

    url=$(fresh_database "psql_$run")
    start=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f "$work/offline.sql" >/dev/null
    t=$(echo "$(now) - $start" | bc)
    [[ -z $best_psql || $(echo "$t < $best_psql" | bc) == 1 ]] && best_psql=$t
done

# Both sides must have done the same work.
check=$(psql -X -tA -d "$url" -c "SELECT version_num FROM retort_version")
[[ $check == "r$(printf '%05d' "$n")" ]] || { echo "psql run ended at '$check'" >&2; exit 1; }

printf 'revisions: %d, best of %d runs\n' "$n" "$runs"
printf 'retort upgrade heads: %.3fs (%.2f ms/revision)\n' "$best_retort" "$(echo "$best_retort * 1000 / $n" | bc -l)"
printf 'psql, same script:    %.3fs (%.2f ms/revision)\n' "$best_psql" "$(echo "$best_psql * 1000 / $n" | bc -l)"
printf 'ratio: %.2fx (goal <= 1.2x)\n' "$(echo "$best_retort / $best_psql" | bc -l)"
