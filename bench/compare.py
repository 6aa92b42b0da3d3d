#!/usr/bin/env python3
"""Side-by-side timing of Alembic and retort on the same generated history.

    bench/setup.sh
    CARGO_TARGET_DIR=/work/target cargo build --release
    bench/.venv/bin/python bench/compare.py [--retort /work/target/release/retort]

For each size (default 1,000 and 10,000 revisions): `heads`, `history` and
`upgrade heads --sql` under both tools; at the execution size (default 1,000) also the online
`upgrade heads` into a fresh SQLite file under both tools and under the floor: the `sqlite3`
shell running the same statements in the same per-revision transactions. Wall time, best of
--runs (default 3). Prints a table with the seconds and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_history  # noqa: E402

DEFAULT_RETORT = Path(os.environ.get("CARGO_TARGET_DIR", "/work/target")) / "release" / "retort"


class Failed(Exception):
    pass


# --cold: both tools without their caches (see child_env).
COLD = False


def child_env():
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # the generated migrate.toml must pick its own SQLite file
    # Let Python cache compiled revision files as it does for users; with --cold every
    # Alembic run compiles all of them again (its first run on a fresh checkout).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # retort's revision cache likewise: used when warm, turned off with --cold.
    env.pop("RETORT_NO_CACHE", None)
    if COLD:
        env["RETORT_NO_CACHE"] = "1"
    return env


def run_once(cmd, cwd, stdin_path=None):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=child_env())
        elapsed = time.perf_counter() - t0
    finally:
        if stdin_path:
            stdin.close()
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()[-3:]
        raise Failed(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {' | '.join(tail)}")
    return elapsed, proc.stdout


def best_of(runs, cmd, cwd, setup=None, stdin_path=None):
    """Best wall time over `runs`; `setup` runs before each (untimed). Returns (seconds, stdout)."""
    best, out = None, b""
    for _ in range(runs):
        if setup:
            setup()
        t, out = run_once(cmd, cwd, stdin_path)
        best = t if best is None else min(best, t)
    return best, out


def remove(path: Path):
    def go():
        for suffix in ("", "-journal", "-wal", "-shm"):
            p = Path(str(path) + suffix)
            if p.exists():
                p.unlink()
    return go


def floor_script(alembic_sql: str) -> str:
    """Alembic's own SQLite offline script, each revision wrapped in BEGIN/COMMIT.

    The version-table CREATE goes into the first revision's transaction.
    """
    chunks = re.split(r"(?m)^(?=-- Running upgrade )", alembic_sql)
    prelude, steps = chunks[0], chunks[1:]
    out = []
    for i, step in enumerate(steps):
        out.append("BEGIN;\n\n" + (prelude if i == 0 else "") + step + "COMMIT;\n\n")
    return "".join(out)


def same_output(out: bytes) -> str:
    """Command output with the known, intended differences removed (version table name;
    SQLAlchemy 2's RETURNING suffix on the version INSERT)."""
    text = out.decode(errors="replace").replace("alembic_version", "retort_version")
    return text.replace(" RETURNING version_num;", ";")


def db_state(path: Path, version_table: str):
    con = sqlite3.connect(path)
    try:
        tables = con.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name LIKE 't\\_%' "
                             "ESCAPE '\\'").fetchone()[0]
        rows = sorted(r[0] for r in con.execute(f"SELECT * FROM {version_table}"))
        return tables, rows
    finally:
        con.close()


def fmt_s(v):
    return f"{v:.3f}" if isinstance(v, float) else v


def ratio(a, b):
    if isinstance(a, float) and isinstance(b, float) and b > 0:
        return f"{a / b:.2f}x"
    return "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--retort", type=Path, default=DEFAULT_RETORT, help="retort binary (default %(default)s)")
    ap.add_argument("--alembic", type=Path, default=HERE / ".venv" / "bin" / "alembic")
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated revision counts")
    ap.add_argument("--exec-size", type=int, default=1000, help="size for the online SQLite run (0 = skip)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--skip-alembic", action="store_true", help="time retort only (ratios need alembic)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--cold", action="store_true",
                    help="delete Alembic's __pycache__ before each Alembic run and run retort with "
                         "RETORT_NO_CACHE=1 (first-run cost)")
    args = ap.parse_args()
    global COLD
    COLD = args.cold

    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.exec_size and args.exec_size not in sizes:
        sizes.append(args.exec_size)
    have_retort = args.retort.exists()
    if not have_retort:
        print(f"note: {args.retort} not found; retort columns are skipped (build with "
              f"`CARGO_TARGET_DIR=/work/target cargo build --release`)", file=sys.stderr)
    if not args.skip_alembic and not args.alembic.exists():
        sys.exit(f"{args.alembic} not found; run bench/setup.sh first")

    results = []

    def record(name, n, alembic_s, retort_s, floor_s=None):
        row = {"command": name, "revisions": n, "alembic_s": alembic_s, "retort_s": retort_s, "floor_s": floor_s}
        results.append(row)
        print(f"  {name:<26} {n:>6}  alembic {fmt_s(alembic_s):>8}  retort {fmt_s(retort_s):>8}"
              + (f"  floor {fmt_s(floor_s):>8}" if floor_s is not None else ""), file=sys.stderr, flush=True)

    def timed(cmd, cwd, **kw):
        try:
            return best_of(args.runs, cmd, cwd, **kw)
        except Failed as e:
            print(f"  FAILED: {e}", file=sys.stderr)
            return "failed", b""

    for n in sizes:
        root = args.workdir / f"h{n}"
        print(f"generating {n} revisions in {root}", file=sys.stderr, flush=True)
        gen_history.generate(root, n)
        adir, rdir = root / "alembic", root / "retort"
        alembic = [str(args.alembic), "-c", str(adir / "alembic.ini")]
        retort = [str(args.retort.resolve())]
        query_cmds = [("heads", ["heads"]), ("history", ["history"]), ("upgrade heads --sql", ["upgrade", "heads", "--sql"])]
        pycache = adir / "scripts" / "versions" / "__pycache__"

        def alembic_setup(extra=None):
            def go():
                if args.cold and pycache.exists():
                    shutil.rmtree(pycache)
                if extra:
                    extra()
            return go

        if n in [int(s) for s in args.sizes.split(",") if s]:
            for name, argv in query_cmds:
                a, a_out = ("skipped", b"") if args.skip_alembic else timed(alembic + argv, adir, setup=alembic_setup())
                r, r_out = timed(retort + argv, rdir) if have_retort else ("n/a", b"")
                record(name, n, a, r)
                if a_out and r_out and same_output(a_out) != same_output(r_out):
                    print(f"  WARNING: `{name}` output differs between alembic and retort", file=sys.stderr)
        if n != args.exec_size:
            continue
        # Online execution into a fresh SQLite file.
        a_db, r_db, f_db = adir / "bench.db", rdir / "bench.db", root / "floor.db"
        sql = subprocess.run(alembic + ["upgrade", "heads", "--sql"], cwd=adir, capture_output=True,
                             env=child_env(), check=True).stdout.decode()
        floor_path = root / "floor.sql"
        floor_path.write_text(floor_script(sql))
        a = "skipped" if args.skip_alembic else timed(alembic + ["upgrade", "heads"], adir, setup=alembic_setup(remove(a_db)))[0]
        r = timed(retort + ["upgrade", "heads"], rdir, setup=remove(r_db))[0] if have_retort else "n/a"
        f = timed(["sqlite3", str(f_db)], root, setup=remove(f_db), stdin_path=floor_path)[0]
        record("upgrade heads (SQLite)", n, a, r, f)
        states = {}
        for label, db, table in (("alembic", a_db, "alembic_version"), ("retort", r_db, "retort_version"),
                                 ("floor", f_db, "alembic_version")):
            if db.exists():
                try:
                    states[label] = db_state(db, table)
                except sqlite3.Error as e:
                    states[label] = f"unreadable: {e}"
        print(f"  end states (tables t_*, version rows): {states}", file=sys.stderr)
        if len({json.dumps(s) for s in states.values()}) > 1:
            print("  WARNING: the databases differ after upgrade heads", file=sys.stderr)

    print()
    print("| command | revisions | alembic s | retort s | alembic/retort | floor s | retort/floor | alembic/floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        a, r, f = row["alembic_s"], row["retort_s"], row["floor_s"]
        print(f"| {row['command']} | {row['revisions']} | {fmt_s(a)} | {fmt_s(r)} | {ratio(a, r)} | "
              f"{fmt_s(f) if f is not None else ''} | {ratio(r, f) if f is not None else ''} | "
              f"{ratio(a, f) if f is not None else ''} |")
    print(f"\nwall time, best of {args.runs}; "
          f"{'cold (no __pycache__, RETORT_NO_CACHE=1)' if args.cold else 'warm caches'}; "
          f"retort = {args.retort}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
