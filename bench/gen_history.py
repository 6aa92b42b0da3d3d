#!/usr/bin/env python3
"""Generate one migration history in both Alembic and retort form, for benchmarks.

The history is linear with a fork and a merge in every block of 40 revisions: in each block
revision 36 has two children (37 and 38), and 39 merges them. Every revision creates a table
`t_<n>` and inserts one row into it, so the same history serves the SQLite execution
benchmark. Ids are 12 random hex characters from a fixed seed (file names start with the id,
so load order is id order, as with Alembic's default file template).

    python3 bench/gen_history.py OUT_DIR N
creates OUT_DIR/alembic/{alembic.ini, scripts/env.py, scripts/versions/*.py} and
OUT_DIR/retort/{migrate.toml, migrations/versions/*.sql}.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

BLOCK = 40


def revisions(n: int, seed: int = 40):
    """[(index, id, [parent ids])] in creation order."""
    rng = random.Random(seed)
    taken: set[str] = set()
    ids = []
    for _ in range(n):
        while True:
            rid = "%012x" % rng.getrandbits(48)
            if rid not in taken:
                taken.add(rid)
                ids.append(rid)
                break
    out = []
    for i, rid in enumerate(ids):
        pos = i % BLOCK
        if i == 0:
            parents = []
        elif pos == BLOCK - 2:  # second child of the fork at BLOCK - 4
            parents = [ids[i - 2]]
        elif pos == BLOCK - 1:  # merge of both branches
            parents = [ids[i - 2], ids[i - 1]]
        else:
            parents = [ids[i - 1]]
        out.append((i, rid, parents))
    return out


def upgrade_sql(i: int, rid: str):
    return [f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, rev VARCHAR(32) NOT NULL)",
            f"INSERT INTO t_{i} (rev) VALUES ('{rid}')"]


def downgrade_sql(i: int):
    return [f"DROP TABLE t_{i}"]


ALEMBIC_INI = """[alembic]
script_location = %(here)s/scripts
sqlalchemy.url = sqlite:///%(here)s/bench.db
"""

# The stock env.py (generic template) without logging setup, one transaction per revision.
ENV_PY = '''from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=None,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=None, transaction_per_migration=True
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

ALEMBIC_REV = '''"""revision {i}

Revision ID: {rid}
Revises: {revises}
"""
from alembic import op

revision = {rid!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{up}


def downgrade():
{down_body}
'''

MIGRATE_TOML = """[migrate]
script_location = "migrations"
database_url = "${DATABASE_URL:-sqlite:///bench.db}"
version_table = "retort_version"
"""


def toml_down(parents):
    if not parents:
        return None
    if len(parents) == 1:
        return f'"{parents[0]}"'
    return "[" + ", ".join(f'"{p}"' for p in parents) + "]"


def write_alembic(root: Path, revs):
    versions = root / "scripts" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "scripts" / "env.py").write_text(ENV_PY)
    for i, rid, parents in revs:
        down = None if not parents else parents[0] if len(parents) == 1 else tuple(parents)
        text = ALEMBIC_REV.format(
            i=i, rid=rid, revises=", ".join(parents), down=down,
            up="\n".join(f"    op.execute({s!r})" for s in upgrade_sql(i, rid)),
            down_body="\n".join(f"    op.execute({s!r})" for s in downgrade_sql(i)),
        )
        (versions / f"{rid}_revision_{i}.py").write_text(text)


def write_retort(root: Path, revs):
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrate.toml").write_text(MIGRATE_TOML)
    for i, rid, parents in revs:
        header = [f'-- revision = "{rid}"']
        down = toml_down(parents)
        if down is not None:
            header.append(f"-- down_revision = {down}")
        header.append(f'-- message = "revision {i}"')
        body = ["", "-- migrate:upgrade"] + [s + ";" for s in upgrade_sql(i, rid)]
        body += ["", "-- migrate:downgrade"] + [s + ";" for s in downgrade_sql(i)]
        (versions / f"{rid}_revision_{i}.sql").write_text("\n".join(header + body) + "\n")


def generate(out: Path, n: int, seed: int = 40):
    """(Re)create both projects under `out`; returns the revision list."""
    if out.exists():
        shutil.rmtree(out)
    revs = revisions(n, seed)
    write_alembic(out / "alembic", revs)
    write_retort(out / "retort", revs)
    return revs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=40)
    args = ap.parse_args()
    revs = generate(args.out, args.n, args.seed)
    merges = sum(1 for _, _, p in revs if len(p) > 1)
    print(f"{len(revs)} revisions ({merges} merges) in {args.out}/alembic and {args.out}/retort")


if __name__ == "__main__":
    main()
