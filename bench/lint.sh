#!/usr/bin/env bash
# `retort lint` over N revisions (default 10,000; the goal is under 1 s), side by side with
# `retort heads`, which loads the same project and does nothing else: the difference is the
# lint itself (splitting, parsing and the rules). A benchmark, not a test: nothing here asserts
# a time.
#
# The history comes from bench/gen_history.py (every revision creates a table and inserts a
# row); every tenth revision also gets an ALTER of an earlier revision's table, with a volatile
# default, an index without CONCURRENTLY and a SET NOT NULL, so the rules find something (three
# findings and a missing lock timeout per such revision).
#
# Usage: bench/lint.sh [N]
#   RETORT_BIN  the binary (default: builds target/release/retort with --all-features)
#   RUNS        hyperfine runs per command (default 10)
set -euo pipefail

n=${1:-10000}
runs=${RUNS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z ${RETORT_BIN:-} ]]; then
    (cd "$here" && cargo build --quiet --release --all-features)
    RETORT_BIN="${CARGO_TARGET_DIR:-$here/target}/release/retort"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench/gen_history.py" "$work" "$n" >&2
project="$work/retort"
python3 - "$project/migrations/versions" <<'PY'
import pathlib, re, sys
files = sorted(pathlib.Path(sys.argv[1]).glob("*.sql"), key=lambda p: int(re.search(r"_revision_(\d+)", p.name).group(1)))
for path in files:
    i = int(re.search(r"_revision_(\d+)", path.name).group(1))
    if i == 0 or i % 10:
        continue
    text = path.read_text()
    risky = (f"ALTER TABLE t_{i - 1} ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
             f"CREATE INDEX t_{i - 1}_rev ON t_{i - 1} (rev);\n"
             f"ALTER TABLE t_{i - 1} ALTER COLUMN rev SET NOT NULL;\n")
    path.write_text(text.replace("-- migrate:downgrade", risky + "\n-- migrate:downgrade", 1))
PY
cd "$project"
lint=("$RETORT_BIN" lint --all --no-db --dialect postgresql --server-version 15 --json)
# Warm the revision cache, and show what the lint found.
"$RETORT_BIN" heads >/dev/null
("${lint[@]}" 2>/dev/null || true) | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["linted"]), "revisions linted,", len(d["findings"]), "findings", file=sys.stderr)'

hyperfine --warmup 2 --runs "$runs" -N -i \
    "$RETORT_BIN heads" \
    "${lint[*]}" \
    "env RETORT_NO_CACHE=1 ${lint[*]}"
