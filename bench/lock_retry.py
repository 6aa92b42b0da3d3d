#!/usr/bin/env python3
"""Readers behind a migration that waits for a lock (issue 13), on PostgreSQL.

One session opens a transaction that read table `t` and keeps it open for `--hold` seconds
(20): an `ALTER TABLE t` needs ACCESS EXCLUSIVE and queues behind it, and every reader of
`t` queues behind the ALTER. Meanwhile `--clients` (50) pgbench clients read `t` in a loop,
each query's latency logged. retort upgrades a revision doing `ALTER TABLE t ADD COLUMN`
under each `lock_timeout` given (`--lock-timeouts 2s,0`; `0` is no lock timeout, the way a
migration tool without one runs), side by side in one run.

Printed per lock timeout: the readers' latency p50/p95/p99/max (ms) while the migration ran,
how many readers waited longer than lock_timeout + 100 ms, the retort attempts, and the
commit delay: from the blocker's COMMIT to retort's exit, next to the backoff step that was
in effect when the blocker left. A benchmark, not a test: nothing here asserts a time.

Needs psql and pgbench on PATH (Debian: postgresql-client, postgresql-contrib).

Usage: bench/lock_retry.py [--url ADMIN_URL] [--retort BIN] [--hold 20] [--clients 50]
  RETORT_BENCH_PG_URL / RETORT_TEST_PG_URL give the admin URL too.
"""

import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def url_for(admin_url, database):
    scheme, rest = admin_url.split("://", 1)
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    query = rest[rest.index("?"):] if "?" in rest else ""
    return f"{scheme}://{authority}/{database}{query}"


def psql(url, sql):
    return subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def read_latencies(prefix, start, end):
    """pgbench's per-transaction log lines: client, tx, latency_us, script, epoch_s, epoch_us."""
    latencies = []
    for path in glob.glob(prefix + "*"):
        with open(path) as log:
            for line in log:
                fields = line.split()
                if len(fields) < 6:
                    continue
                latency_ms = int(fields[2]) / 1000
                finished = int(fields[4]) + int(fields[5]) / 1e6
                began = finished - latency_ms / 1000
                if began >= start and finished <= end + 60:
                    if began <= end:
                        latencies.append(latency_ms)
    return sorted(latencies)


def run_case(args, admin_url, lock_timeout, work):
    database = f"retort_bench_locks_{os.getpid()}_{lock_timeout.replace('.', '_')}"
    psql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    psql(admin_url, f'CREATE DATABASE "{database}"')
    url = url_for(admin_url, database)
    try:
        psql(url, "CREATE TABLE t (id integer PRIMARY KEY); "
                  "INSERT INTO t SELECT generate_series(1, 1000)")
        project = os.path.join(work, f"project_{lock_timeout}")
        os.makedirs(os.path.join(project, "migrations", "versions"))
        with open(os.path.join(project, "migrate.toml"), "w") as f:
            f.write('[migrate]\nscript_location = "migrations"\n'
                    f'lock_timeout = "{lock_timeout}"\nretries = 100\nretry_budget = "2min"\n')
        with open(os.path.join(project, "migrations", "versions", "r1_add_c.sql"), "w") as f:
            f.write('-- revision = "r1"\n\n-- migrate:upgrade\nALTER TABLE t ADD COLUMN c integer;\n')
        read_script = os.path.join(work, "read.sql")
        with open(read_script, "w") as f:
            f.write("SELECT count(*) FROM t;\n")
        prefix = os.path.join(work, f"readers_{lock_timeout}")
        duration = int(args.hold + 12)
        readers = subprocess.Popen(
            ["pgbench", "-n", "-c", str(args.clients), "-j", "2", "-T", str(duration),
             "-f", read_script, "-l", "--log-prefix", prefix, url],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(2)
        # The blocker: a transaction that read `t` (ACCESS SHARE), kept open for --hold s.
        released = {}

        def blocker():
            out = psql(url, f"BEGIN; SELECT count(*) FROM t; SELECT pg_sleep({args.hold}); "
                            "SELECT extract(epoch FROM clock_timestamp()); COMMIT;")
            released["at"] = float(out.split()[-1])

        holder = threading.Thread(target=blocker)
        holder.start()
        time.sleep(1)
        migration_start = time.time()
        ran = subprocess.run(
            [args.retort, "--url", url, "upgrade", "heads", "--no-backup"],
            cwd=project, capture_output=True, text=True,
        )
        migration_end = time.time()
        holder.join()
        readers.wait()
        if ran.returncode != 0:
            print(ran.stderr, file=sys.stderr)
            raise SystemExit(f"retort failed under lock_timeout {lock_timeout}")
        if args.show:
            print(ran.stderr, file=sys.stderr)
        # The revision's end, before its commit: the audit row's start and duration.
        started, duration_ms = psql(
            url, "SELECT extract(epoch FROM started_at::timestamptz), duration_ms "
                 "FROM retort_version_log WHERE revision = 'r1'").split("|")
        step_end = float(started) + int(duration_ms) / 1000
        latencies = read_latencies(prefix, migration_start, migration_end)
        retries = [line for line in ran.stderr.splitlines() if "retrying the revision in" in line]
        backoffs = [float(m.group(1)) * (1000 if m.group(2) == "s" else 1)
                    for m in (re.search(r"retrying the revision in ([\d.]+)(ms|s)", line)
                              for line in retries) if m]
        return {
            "lock_timeout": lock_timeout,
            "readers": len(latencies),
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": latencies[-1] if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "attempts": len(retries) + 1,
            "migration_s": migration_end - migration_start,
            "commit_delay_ms": (step_end - released["at"]) * 1000,
            "exit_delay_ms": (migration_end - released["at"]) * 1000,
            "last_backoff_ms": backoffs[-1] if backoffs else 0.0,
            "over": latencies,
        }
    finally:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def limit_ms(lock_timeout):
    match = re.fullmatch(r"([\d.]+)\s*(ms|s|min)?", lock_timeout)
    value, unit = float(match.group(1)), match.group(2) or "ms"
    return value * {"ms": 1, "s": 1000, "min": 60000}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get(
        "RETORT_BENCH_PG_URL",
        os.environ.get("RETORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")))
    parser.add_argument("--retort", default=os.environ.get("RETORT_BIN"))
    parser.add_argument("--hold", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--lock-timeouts", default="2s,0")
    parser.add_argument("--show", action="store_true", help="print retort's stderr")
    args = parser.parse_args()
    if not args.retort:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--all-features"],
                       cwd=os.path.dirname(HERE), check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(HERE), "target"))
        args.retort = os.path.join(target, "release", "retort")
    # retort runs in a temp folder: a relative path would not resolve there.
    args.retort = os.path.abspath(args.retort)
    work = tempfile.mkdtemp(prefix="retort-lock-bench-")
    try:
        results = [run_case(args, args.url, lt, work) for lt in args.lock_timeouts.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.clients} readers of `t`; a transaction holds ACCESS SHARE on it for "
          f"{args.hold:g} s; retort runs ALTER TABLE t ADD COLUMN\n")
    print("| lock_timeout | reader queries | p50 ms | p95 ms | p99 ms | max ms | "
          "> lock_timeout+100ms | attempts | commit delay ms | exit delay ms | last backoff ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        limit = limit_ms(r["lock_timeout"])
        over = sum(1 for v in r["over"] if limit and v > limit + 100) if limit else "n/a"
        print(f"| {r['lock_timeout']} | {r['readers']} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['p99']:.1f} | {r['max']:.1f} | {over} | {r['attempts']} | "
              f"{r['commit_delay_ms']:.0f} | {r['exit_delay_ms']:.0f} | "
              f"{r['last_backoff_ms']:.0f} |")


if __name__ == "__main__":
    main()
