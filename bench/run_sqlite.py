#!/usr/bin/env python3
"""Benchmark: `retort upgrade heads` on N revisions against the sqlite3 shell floor.

Each of the N revisions creates a table and inserts a row. The floor is the `sqlite3` shell
running the same statements and the same version-table change in the same per-revision
transactions (BEGIN; ...; COMMIT; per revision) on a fresh file. retort additionally reads the
version rows and writes an audit row inside each revision's transaction.
Both run on the same machine, side by side, best of --repeat runs each; the script prints the
ratio retort/floor (goal: at most 1.15). The Alembic comparison lives in a separate script.

Usage: bench/run_sqlite.py [--revisions 1000] [--repeat 3] [--retort PATH]
The default binary is $CARGO_TARGET_DIR/release/retort (build it with `cargo build --release`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def revision_sql(i):
    return [
        f"CREATE TABLE bench_{i:05d} (id INTEGER PRIMARY KEY, label TEXT NOT NULL)",
        f"INSERT INTO bench_{i:05d} (label) VALUES ('row {i}')",
    ]


def write_project(root, n):
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrate.toml").write_text(
        '[migrate]\nscript_location = "migrations"\n'
        'database_url = "sqlite:///bench.db"\nversion_table = "retort_version"\n'
    )
    for i in range(1, n + 1):
        rev = f"{i:012x}"
        header = f'-- revision = "{rev}"\n'
        if i > 1:
            header += f'-- down_revision = "{i - 1:012x}"\n'
        header += f'-- message = "bench {i}"\n'
        body = ";\n".join(revision_sql(i)) + ";\n"
        (versions / f"{rev}_bench.sql").write_text(
            f"{header}\n-- migrate:upgrade\n{body}\n-- migrate:downgrade\nDROP TABLE bench_{i:05d};\n"
        )


def floor_script(n):
    """What any migration tool must do: the revision's statements and the version-table
    change, one transaction per revision (the version table is created first)."""
    parts = [
        "CREATE TABLE retort_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT retort_version_pkc PRIMARY KEY (version_num));\n"
    ]
    for i in range(1, n + 1):
        rev, prev = f"{i:012x}", f"{i - 1:012x}"
        version = (
            f"INSERT INTO retort_version (version_num) VALUES ('{rev}');\n"
            if i == 1
            else f"UPDATE retort_version SET version_num='{rev}' WHERE retort_version.version_num = '{prev}';\n"
        )
        body = "".join(s + ";\n" for s in revision_sql(i))
        parts.append(f"BEGIN;\n{body}{version}COMMIT;\n")
    return "".join(parts)


def timed(cmd, cwd, stdin=None):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, input=stdin, check=True, text=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    target = os.environ.get("CARGO_TARGET_DIR", str(Path(__file__).resolve().parent.parent / "target"))
    parser.add_argument("--retort", default=str(Path(target) / "release" / "retort"))
    args = parser.parse_args()
    if not Path(args.retort).exists():
        sys.exit(f"no retort binary at {args.retort}; run `cargo build --release` first")
    if shutil.which("sqlite3") is None:
        sys.exit("the sqlite3 shell is not installed")

    work = Path(tempfile.mkdtemp(prefix="retort-bench-"))
    try:
        write_project(work, args.revisions)
        script = floor_script(args.revisions)
        floor_times, retort_times = [], []
        for _ in range(args.repeat):
            for db in ("bench.db", "floor.db"):
                (work / db).unlink(missing_ok=True)
            # Interleave the two so machine noise hits both alike.
            floor_times.append(timed(["sqlite3", "floor.db"], work, stdin=script))
            retort_times.append(timed([args.retort, "-q", "upgrade", "heads", "--no-backup"], work))
        floor, retort = min(floor_times), min(retort_times)
        print(f"revisions:            {args.revisions}")
        print(f"sqlite3 shell (floor): {floor:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in floor_times)})")
        print(f"retort upgrade heads:  {retort:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in retort_times)})")
        print(f"ratio retort/floor:    {retort / floor:.2f}x  (goal <= 1.15x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
