#!/usr/bin/env python3
"""Randomized fault campaign: SIGKILL retort at random points, and race 8-16 runners.

Each round on an engine (SQLite in rollback-journal mode, SQLite in WAL mode, PostgreSQL,
MariaDB) does one of:

* kill: start `upgrade heads` or `downgrade <random revision>` (backups on or off at random),
  SIGKILL it after a random delay within the time a whole run takes, then run `current`,
  `status`, `log -n 1` and `check` (each must work: no "readonly database", no panic), then
  rerun the same command without a kill;
* race: from base, start 8-16 runners of `upgrade heads` at once (backups on), SIGKILL a few
  of them at random, then rerun.

After every rerun the database must be exactly at the target: one version row, the tables of
the applied revisions and no others, each with exactly its rows (a revision applied twice
doubles them), and an audit trail in which no revision has two successful upgrades without a
downgrade between. A rerun that refuses because a run died inside a step it could not roll
back (`revision X was interrupted`, PostgreSQL and MariaDB only) is the documented behaviour:
the campaign checks what it names, resolves it as a DBA would (stamp to the state found) and
counts it. The rerun's messages must never say "rolled back" about statements whose effect
persisted.

Standard library only; servers are inspected with the `psql` and `mysql` clients.

    bench/fault_campaign.py --kills 250 --races 12 [--retort PATH] [--seed N]
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

REVISIONS = 8
ROWS = 20000  # rows each revision inserts: enough work to be killed in the middle of


def rev_id(i):
    return f"r{i:03d}aaaa"


def engine_kinds(args):
    kinds = ["sqlite-delete", "sqlite-wal"]
    if args.pg_url:
        kinds.append("postgresql")
    if args.mysql_url:
        kinds.append("mariadb")
    return [k for k in kinds if not args.engines or k in args.engines]


def insert_rows(kind, table):
    if kind == "postgresql":
        return f"INSERT INTO {table} (id) SELECT generate_series(1, {ROWS});"
    if kind == "mariadb":
        # MariaDB's Sequence engine (its recursive CTEs stop at 1,000 iterations by default).
        return f"INSERT INTO {table} (id) SELECT seq FROM seq_1_to_{ROWS};"
    return (
        f"INSERT INTO {table} (id) SELECT x FROM (WITH RECURSIVE c(x) AS "
        f"(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS}) SELECT x FROM c) AS s;"
    )


def nontransactional(kind, i):
    # One revision outside a transaction on the servers (SQLite cannot tell an interrupted
    # non-transactional step from a running one, so it is not exercised there).
    return kind in ("postgresql", "mariadb") and i == 4


class Engine:
    """One database under test: its URL, how to reset it and how to inspect it."""

    def __init__(self, kind, args, work):
        self.kind = kind
        self.args = args
        self.dir = os.path.join(work, kind)
        if kind.startswith("sqlite"):
            self.db = os.path.join(self.dir, "app.db")
            self.url = f"sqlite:///{self.db}"
        elif kind == "postgresql":
            self.name = "retort_fault_campaign"
            self.url = re.sub(r"/[^/?]*(\?|$)", f"/{self.name}\\1", args.pg_url, count=1)
        else:
            self.name = "retort_fault_campaign"
            self.url = re.sub(r"/[^/?]*(\?|$)", f"/{self.name}\\1", args.mysql_url, count=1)
        self.write_project()

    def write_project(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "migrations", "versions"))
        with open(os.path.join(self.dir, "migrate.toml"), "w") as f:
            f.write(
                '[migrate]\nscript_location = "migrations"\n'
                f'database_url = "{self.url}"\n\n[backup]\ndir = "backups"\nkeep = 3\n'
            )
        for i in range(1, REVISIONS + 1):
            down = f'-- down_revision = "{rev_id(i - 1)}"\n' if i > 1 else ""
            header = "-- transactional = false\n" if nontransactional(self.kind, i) else ""
            table = f"t_{i}"
            with open(os.path.join(self.dir, "migrations", "versions", f"{rev_id(i)}.sql"), "w") as f:
                f.write(
                    f'-- revision = "{rev_id(i)}"\n{down}{header}-- message = "step {i}"\n\n'
                    f"-- migrate:upgrade\nCREATE TABLE {table} (id INTEGER);\n"
                    f"{insert_rows(self.kind, table)}\n\n"
                    f"-- migrate:downgrade\nDROP TABLE {table};\n"
                )

    # -- reset and inspection ---------------------------------------------------------
    def reset(self):
        if self.kind.startswith("sqlite"):
            for suffix in ("", "-journal", "-wal", "-shm"):
                if os.path.exists(self.db + suffix):
                    os.remove(self.db + suffix)
            shutil.rmtree(os.path.join(self.dir, "backups"), ignore_errors=True)
            if self.kind == "sqlite-wal":
                conn = sqlite3.connect(self.db)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.close()
        elif self.kind == "postgresql":
            admin = self.args.pg_url
            self.psql(admin, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self.psql(admin, f"CREATE DATABASE {self.name}")
        else:
            self.mysql(None, f"DROP DATABASE IF EXISTS {self.name}")
            self.mysql(None, f"CREATE DATABASE {self.name}")

    def psql(self, url, sql):
        out = subprocess.run(
            ["psql", url, "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=True,
        )
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def mysql(self, database, sql):
        m = re.match(r"mysql://([^:@/]+)(?::([^@/]*))?@([^:/]+)(?::(\d+))?", self.args.mysql_url)
        user, password, host, port = m.groups()
        cmd = ["mysql", "-h", host, "-P", port or "3306", "-u", user, "-N", "-B", "-e", sql]
        if password:
            cmd.insert(1, f"-p{password}")
        if database:
            cmd.append(database)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def query(self, sql):
        if self.kind.startswith("sqlite"):
            conn = sqlite3.connect(self.db)
            try:
                return [[str(v) for v in row] for row in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        if self.kind == "postgresql":
            return self.psql(self.url, sql)
        return self.mysql(self.name, sql)

    def tables(self):
        if self.kind.startswith("sqlite"):
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' ESCAPE '\\'"
        elif self.kind == "postgresql":
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'"
        else:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 't\\_%'"
        return sorted(row[0] for row in self.query(sql))

    def end_other_sessions(self):
        """A killed client's server session sleeps on until its statement ends; end it."""
        if self.kind == "postgresql":
            self.psql(
                self.url,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
        elif self.kind == "mariadb":
            for (session,) in self.mysql(
                self.name,
                "SELECT id FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()",
            ):
                try:
                    self.mysql(self.name, f"KILL {session}")
                except subprocess.CalledProcessError:
                    pass  # it ended meanwhile


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = defaultdict(Counter)
        self.failures = []

    def retort(self, engine, argv, **kwargs):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        return subprocess.Popen(
            [self.args.retort, *argv], cwd=engine.dir, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
        )

    def run(self, engine, argv):
        p = self.retort(engine, argv)
        out, err = p.communicate()
        return p.returncode, out, err

    def note(self, engine, text):
        """One line per event in the campaign's log, for reading a violation in context."""
        with open(os.path.join(self.args.work, "campaign.log"), "a") as f:
            f.write(f"{engine.kind}: {text}\n")

    def fail(self, engine, what, detail):
        self.note(engine, f"VIOLATION {what}: {detail}")
        self.stats[engine.kind]["violations"] += 1
        self.failures.append(f"{engine.kind}: {what}\n{detail}")
        print(f"VIOLATION {engine.kind}: {what}\n{detail}", file=sys.stderr)

    # -- the state the database must be in ---------------------------------------------
    def check_state(self, engine, applied, context):
        """`applied` revisions 1..applied must be in place, the others not."""
        rows = sorted(r[0] for r in engine.query("SELECT version_num FROM retort_version"))
        want_rows = [rev_id(applied)] if applied else []
        if rows != want_rows:
            self.fail(engine, f"version rows {rows}, expected {want_rows}", context)
        want_tables = sorted(f"t_{i}" for i in range(1, applied + 1))
        tables = engine.tables()
        if tables != want_tables:
            self.fail(engine, f"tables {tables}, expected {want_tables}", context)
        for table in set(tables) & set(want_tables):
            (count,), = engine.query(f"SELECT count(*) FROM {table}")
            if int(count) != ROWS:
                self.fail(engine, f"{table} holds {count} rows, expected {ROWS}", context)
        self.check_audit(engine, applied, context)

    def check_audit(self, engine, applied, context):
        audit = engine.query(
            "SELECT revision, direction, outcome, "
            "CASE WHEN error LIKE 'interrupted:%' THEN 1 ELSE 0 END "
            "FROM retort_version_log ORDER BY id"
        )
        state = {}
        for revision, direction, outcome, interrupted in audit:
            if interrupted == "1":
                # Closed by the stamp that recorded what was found: no longer known from here.
                state.pop(revision, None)
                continue
            if outcome != "success" or direction not in ("upgrade", "downgrade"):
                continue
            if state.get(revision) == direction:
                self.fail(engine, f"audit: two successful {direction}s of {revision} in a row", context)
            state[revision] = direction
        for i in range(1, REVISIONS + 1):
            recorded = state.get(rev_id(i)) == "upgrade"
            # A stamp that resolved an interrupted step writes no upgrade row of its own.
            if recorded and i > applied:
                self.fail(engine, f"audit: {rev_id(i)} last upgraded but not applied", context)

    def current_revision(self, engine):
        code, out, err = self.run(engine, ["current"])
        m = re.match(r"r(\d{3})aaaa", out.strip())
        return int(m.group(1)) if m else 0

    # -- after a kill ---------------------------------------------------------------
    def commands_work(self, engine, context):
        for argv in (["current"], ["status"], ["log", "-n", "1"], ["check"]):
            code, out, err = self.run(engine, argv)
            text = out + err
            if code != 0 or "readonly" in text or "panicked" in text:
                self.fail(engine, f"`retort {' '.join(argv)}` after a kill exited {code}", context + "\n" + text)
                self.stats[engine.kind]["command_failures"] += 1

    def check_rolled_back_claims(self, engine, text, context):
        """'rolled back' may only describe statements whose effect is gone."""
        for line in text.splitlines():
            if "rolled back" not in line:
                continue
            m = re.search(r"revision `(r(\d{3})aaaa)`", text)
            if "rolled back with the session" in line and "cannot have taken effect" in line and m:
                # Statement 2 (the insert) of revision N: its rows must not be there.
                table = f"t_{int(m.group(2))}"
                if table in engine.tables():
                    (count,), = engine.query(f"SELECT count(*) FROM {table}")
                    if int(count) > 0:
                        self.fail(engine, f"said rolled back, but {table} holds {count} rows", context + "\n" + text)
            elif "its changes were rolled back" in line:
                pass  # a transactional step that failed; checked by check_state after the rerun
            else:
                self.fail(engine, "unexpected 'rolled back' claim", context + "\n" + line)

    def resolve_interrupted(self, engine, text, context):
        """Stamps to the state found after a run died inside a step it could not roll back."""
        m = re.search(r"revision `r(\d{3})aaaa` was interrupted: (an upgrade|a downgrade)", text)
        if not m:
            return False
        i, direction = int(m.group(1)), m.group(2)
        self.stats[engine.kind]["interrupted_named"] += 1
        if "may have taken effect" not in text:
            self.fail(engine, "interrupted run without 'may have taken effect'", context + "\n" + text)
        table = f"t_{i}"
        exists = table in engine.tables()
        full = exists and int(engine.query(f"SELECT count(*) FROM {table}")[0][0]) == ROWS
        before = rev_id(i - 1) if i > 1 else "base"
        if direction == "an upgrade":
            # In place whole: record it; in part: undo the part, record the state before.
            if exists and not full:
                engine.query(f"DROP TABLE {table}")
            target = rev_id(i) if full else before
        else:
            target = before if not exists else rev_id(i)
        self.note(engine, f"  resolving: {direction} of {rev_id(i)}, {table} exists={exists} full={full}: stamp {target}")
        code, out, err = self.run(engine, ["stamp", target])
        if code != 0:
            self.fail(engine, f"stamp {target} to resolve the interrupted run failed", err)
        return True

    def rerun(self, engine, argv, applied, context):
        for _ in range(3):
            code, out, err = self.run(engine, argv + ["--lock-timeout", "120"])
            text = out + err
            self.note(engine, f"  rerun {argv} exited {code}: {err.strip().splitlines()[-1:] if code else ''}")
            self.check_rolled_back_claims(engine, text, context)
            if code == 0:
                self.check_state(engine, applied, context)
                return
            if self.resolve_interrupted(engine, text, context):
                continue
            self.fail(engine, f"rerun `{' '.join(argv)}` exited {code}", context + "\n" + text)
            return
        self.fail(engine, "rerun did not converge", context)

    # -- rounds -------------------------------------------------------------------------
    def kill_round(self, engine, full_run_seconds):
        applied = self.current_revision(engine)
        if applied == REVISIONS or (applied and self.rng.random() < 0.35):
            target_i = self.rng.randrange(0, applied)
            argv = ["downgrade", rev_id(target_i) if target_i else "base"]
        else:
            target_i = REVISIONS
            argv = ["upgrade", "heads"]
        if self.rng.random() < 0.5:
            argv.append("--no-backup")
        delay = self.rng.uniform(0, full_run_seconds)
        context = f"kill of `retort {' '.join(argv)}` after {delay:.3f}s from {applied}"
        self.note(engine, context)
        p = self.retort(engine, argv + ["--lock-timeout", "120"])
        time.sleep(delay)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        p.communicate()
        self.stats[engine.kind]["kills" if killed else "finished_before_kill"] += 1
        engine.end_other_sessions()
        self.commands_work(engine, context)
        self.rerun(engine, [a for a in argv if a != "--no-backup"] + ["--no-backup"], target_i, context)

    def race_round(self, engine, full_run_seconds):
        engine.reset()
        n = self.rng.randint(8, 16)
        runners = [self.retort(engine, ["upgrade", "heads", "--lock-timeout", "120"]) for _ in range(n)]
        victims = self.rng.sample(range(n), self.rng.randint(0, 3))
        context = f"race of {n} runners, killing {len(victims)}"
        self.note(engine, context)
        time.sleep(self.rng.uniform(0, full_run_seconds))
        for v in victims:
            if runners[v].poll() is None:
                runners[v].send_signal(signal.SIGKILL)
                self.stats[engine.kind]["kills"] += 1
        for i, p in enumerate(runners):
            out, err = p.communicate()
            self.stats[engine.kind]["race_runs"] += 1
            text = out + err
            self.check_rolled_back_claims(engine, text, context)
            if i not in victims and p.returncode != 0 and "was interrupted" not in text:
                self.stats[engine.kind]["race_failures"] += 1
                self.fail(engine, f"racing runner exited {p.returncode}", context + "\n" + text)
        engine.end_other_sessions()
        self.commands_work(engine, context)
        self.rerun(engine, ["upgrade", "heads"], REVISIONS, context)

    def campaign(self, kinds):
        engines = [Engine(kind, self.args, self.args.work) for kind in kinds]
        timings = {}
        for engine in engines:
            engine.reset()
            started = time.monotonic()
            # Timed without a backup: a dump's start-up time on a busy machine would stretch
            # the kill window past the migration itself.
            code, out, err = self.run(engine, ["upgrade", "heads", "--no-backup"])
            if code != 0:
                sys.exit(f"{engine.kind}: a first full upgrade failed:\n{err}")
            timings[engine.kind] = time.monotonic() - started
            self.check_state(engine, REVISIONS, "first full upgrade")
            print(f"{engine.kind}: a full upgrade takes {timings[engine.kind]:.3f}s", file=sys.stderr)
        per_engine_kills = max(1, self.args.kills // len(engines))
        for engine in engines:
            started = time.monotonic()
            for k in range(per_engine_kills):
                self.kill_round(engine, timings[engine.kind])
                if (k + 1) % 10 == 0:
                    print(f"{engine.kind}: {k + 1}/{per_engine_kills} kill rounds", file=sys.stderr)
            for _ in range(self.args.races):
                self.race_round(engine, timings[engine.kind])
            self.stats[engine.kind]["seconds"] = round(time.monotonic() - started)
        return timings


def main():
    global ROWS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("--retort", default=os.path.join(target, "release", "retort"))
    parser.add_argument("--kills", type=int, default=250, help="kill rounds in all, split over the engines")
    parser.add_argument("--races", type=int, default=6, help="race rounds per engine")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--engines", nargs="*", help="sqlite-delete sqlite-wal postgresql mariadb")
    parser.add_argument("--pg-url", default=os.environ.get("RETORT_TEST_PG_URL"))
    parser.add_argument("--mysql-url", default=os.environ.get("RETORT_TEST_MYSQL_URL"))
    parser.add_argument("--rows", type=int, default=20000, help="rows each revision inserts")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    ROWS = args.rows  # read by the revisions written and by the checks
    if not os.path.exists(args.retort):
        sys.exit(f"no retort binary at {args.retort} (build it, or pass --retort)")
    args.work = tempfile.mkdtemp(prefix="retort-fault-")
    campaign = Campaign(args)
    kinds = engine_kinds(args)
    print(f"seed {args.seed}; engines {kinds}; work (and campaign.log) in {args.work}", file=sys.stderr)
    timings = campaign.campaign(kinds)
    print("| engine | full run s | kills | finished before kill | race runs | interrupted, named | command failures | race failures | violations | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in kinds:
        s = campaign.stats[kind]
        print(
            f"| {kind} | {timings[kind]:.3f} | {s['kills']} | {s['finished_before_kill']} | {s['race_runs']} "
            f"| {s['interrupted_named']} | {s['command_failures']} | {s['race_failures']} | {s['violations']} | {s['seconds']} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "timings": timings, "stats": campaign.stats}, f, indent=2)
    if campaign.failures:
        print(f"\n{len(campaign.failures)} violation(s); seed {args.seed}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
