#!/usr/bin/env bash
# `check --single-head` on 10,000 revisions (N), beside `heads`: a git repository where a
# feature branch and main each added one revision on the same head.
#   bench/single_head.sh [N] [RETORT]
set -euo pipefail
n="${1:-10000}"
retort="${2:-${CARGO_TARGET_DIR:-target}/release/retort}"
retort="$(realpath "$retort")"
here="$(cd "$(dirname "$0")" && pwd)"
work="$here/work/single_head_$n"
rm -rf "$work"
python3 "$here/gen_history.py" "$work" "$n" >/dev/null
cd "$work/retort"
git="git -c user.name=bench -c user.email=bench@example.com"
add() { printf -- '-- revision = "%s"\n-- down_revision = "%s"\n\n-- migrate:upgrade\nSELECT 1;\n' "$1" "$2" \
  >"migrations/versions/$1_x.sql"; }
$git init -q -b main && $git add . && $git commit -qm base
head="$("$retort" heads | cut -d' ' -f1)"
$git checkout -qb feature && add feat00000001 "$head" && $git add . && $git commit -qm feature
$git checkout -q main && add main00000001 "$head" && $git add . && $git commit -qm main
$git checkout -q feature && $git merge -q --no-edit main
"$retort" check --single-head --git-base main || true
hyperfine -N -w 3 -r 30 -i \
  "$retort heads" \
  "$retort check --single-head" \
  "$retort check --single-head --git-base main"
