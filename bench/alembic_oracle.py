#!/usr/bin/env python3
"""Record what real Alembic does on many revision graphs, as JSON fixtures for retort's tests.

Run:  bench/setup.sh && bench/.venv/bin/python bench/alembic_oracle.py

Every case is a revision graph (list in load order) plus operations (upgrade / downgrade /
stamp from a pre-seeded version table). Each operation is executed by alembic's command API
against a fresh SQLite file; the order in which upgrade()/downgrade() ran and the statements
sent to alembic_version are recorded. Parts of Alembic's version-table bookkeeping iterate
Python sets, so the whole run is repeated in worker processes under several PYTHONHASHSEEDs
and any outcome that differs between seeds is kept as a variant (see the fixtures README).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "alembic"
RANDOM_GRAPHS = 150
RANDOM_SEED = 20261123

# --------------------------------------------------------------------------------------
# Case definitions (pure Python, no alembic import: they must not depend on hash order)
# --------------------------------------------------------------------------------------


def rev(revision, down=(), labels=(), deps=()):
    as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
    return {
        "revision": revision,
        "down_revision": as_list(down),
        "branch_labels": as_list(labels),
        "depends_on": as_list(deps),
    }


# Graphs named in docs/alembic-compatibility.md and in alembic's tests/test_version_traversal.py.
NAMED_GRAPHS = {
    "chain5": [
        rev("e6239818bb3a"),
        rev("548bbb905360", "e6239818bb3a"),
        rev("b7ea43dc85e4", "548bbb905360"),
        rev("1bbe33445780", "b7ea43dc85e4"),
        rev("3975fb1a0125", "1bbe33445780"),
    ],
    "br": [
        rev("a"), rev("b", "a"), rev("c1", "b"), rev("d1", "c1"), rev("c2", "b"), rev("d2", "c2"),
    ],
    "br_labels": [
        rev("aaaa1111"),
        rev("bbbb2222", "aaaa1111"),
        rev("cccc1111", "bbbb2222", labels="c1branch"),
        rev("dddd1111", "cccc1111"),
        rev("cccc2222", "bbbb2222", labels="c2branch"),
        rev("dddd2222", "cccc2222"),
    ],
    "br_reversed_load": [
        rev("a"), rev("b", "a"), rev("c2", "b"), rev("d2", "c2"), rev("c1", "b"), rev("d1", "c1"),
    ],
    "merged": [
        rev("a"), rev("b", "a"), rev("c1", "b"), rev("d1", "c1"),
        rev("c2", "b", labels="c2branch"), rev("d2", "c2"), rev("e", ["d1", "d2"]), rev("f", "e"),
    ],
    "forest": [rev("a1"), rev("b1", "a1"), rev("a2"), rev("b2", "a2")],
    "cur": [
        rev("a1"), rev("a2", "a1"), rev("a3", "a2"),
        rev("b1"), rev("b2", "b1", deps="a2"), rev("b3", "b2"),
    ],
    "dep1": [
        rev("a1", labels="lib1"), rev("b1", "a1"), rev("c1", "b1"),
        rev("a2"), rev("b2", "a2"), rev("c2", "b2", deps="c1"),
        rev("d1", "c1"), rev("e1", "d1"), rev("f1", "e1"),
    ],
    "dep_two": [
        rev("a1"), rev("a2"), rev("a3"), rev("amerge", ["a1", "a2", "a3"]),
        rev("b1"), rev("b2"), rev("bmerge", ["b1", "b2"]),
        rev("c1"), rev("c2"), rev("c3"), rev("cmerge", ["c1", "c2", "c3"]),
        rev("d1", deps=["a3", "b2", "c1"]),
    ],
    "dep_three": [
        rev("a1"), rev("a2", "a1"), rev("b1"), rev("b2", "b1", deps="a2"),
        rev("b3", "b2"), rev("a3", "a2", deps="b1"),
    ],
    "dep_own_downrev": [rev("a1"), rev("a2", "a1", deps="a1")],
    "dep_four": [
        rev("a1"), rev("a2", "a1"), rev("a3", "a2"),
        rev("b1"), rev("b2", "b1", deps="a3"), rev("b3", "b2"), rev("b4", "b3", deps="a3"),
    ],
    "dep_five": [rev("a1"), rev("b1", deps="a1"), rev("bmerge", ["a1", "b1"])],
    "dep_label": [
        rev("a1", labels="lib1"), rev("b1", "a1"), rev("c1", "b1", labels="c1lib"),
        rev("a2"), rev("b2", "a2"), rev("c2", "b2", deps="c1lib"),
        rev("d1", "c1"), rev("e1", "d1"), rev("f1", "e1"),
    ],
    "dep_base_only": [rev("a1"), rev("b1", deps="a1")],
    # A 3-parent merge where one parent is a dependency of another: alembic 1.20.1 crashes with
    # KeyError: 'a1' on `upgrade heads` (online and --sql); recorded under "skipped".
    "dep_merge_parent_consumed": [rev("a1"), rev("b1", deps="a1"), rev("c1"), rev("m", ["a1", "b1", "c1"])],
    "branch_from_merge": [
        rev("a1"), rev("b1", "a1"), rev("c1", "b1"),
        rev("a2"), rev("b2", "a2"), rev("c2", "b2"),
        rev("d1", ["c1", "c2"]), rev("d2", "c2"),
    ],
    "branch_from_3way_merge": [
        rev("a1"), rev("b1", "a1"), rev("c1", "b1"),
        rev("a2"), rev("b2", "a2"), rev("c2", "b2"),
        rev("a3"), rev("b3", "a3"), rev("c3", "b3"),
        rev("d1", ["c1", "c2", "c3"]), rev("d2", "c2"), rev("d3", "c3"),
    ],
    "twin_merge": [
        rev("a"), rev("b1", "a"), rev("b2", "a"), rev("b3", "a"),
        rev("c1", ["b1", "b2", "b3"]), rev("c2", ["b1", "b2", "b3"]),
        rev("d1", "c1"), rev("d2", "c2"),
    ],
    "not_quite_twin_merge": [
        rev("a"), rev("b1", "a"), rev("b2", "a"), rev("b3", "a"),
        rev("c1", ["b1", "b2"]), rev("c2", ["b2", "b3"]),
        rev("d1", "c1"), rev("d2", "c2"),
    ],
    "br_cross_dep": [
        rev("a"), rev("b", "a"), rev("c1", "b", labels="c1branch"), rev("d1", "c1"),
        rev("c2", "b", labels="c2branch"), rev("d2", "c2", deps="c1"),
    ],
    "multi_base_labels": [
        rev("a1", labels="one"), rev("b1", "a1"), rev("c1", "b1"),
        rev("a2", labels="two"), rev("b2", "a2"),
        rev("a3", labels="three"), rev("b3", "a3", deps="b1"), rev("c3", "b3"),
    ],
    "label_propagation_root": [
        rev("d"), rev("e", "d", labels="elabel"), rev("someothername", "e"), rev("f", "someothername"),
    ],
    "label_stops_at_branchpoint": [
        rev("a"), rev("b", "a"), rev("c", "b", labels="clabel"), rev("d", "c"), rev("e", "b"),
    ],
    "label_on_branchpoint": [
        rev("a"), rev("b", "a", labels="blabel"), rev("c", "b"), rev("d", "b"), rev("e", "c"),
    ],
    "merge_with_head": [
        rev("a"), rev("b", "a"), rev("c", "a"), rev("d", ["b", "c"]), rev("e", "a"), rev("f", "d"),
    ],
    "prefix_ambiguous": [
        rev("abcd1111"), rev("abcd2222", "abcd1111"), rev("abce3333", "abcd2222"),
        rev("abcdlabelx", "abce3333"), rev("fedc4444", "abcd1111", labels="abcdlab"),
    ],
}


# The worked examples of docs/alembic-compatibility.md that need hand-made states.
def _op(command, current, target, purge=False):
    op = {"command": command, "current": current, "target": target}
    if command == "stamp":
        op["purge"] = purge
    return op


EXTRA_OPS = {
    "br": [
        _op("upgrade", ["d1"], "c2"),
        _op("stamp", ["d1", "c2"], ["b"]),
        _op("stamp", ["b"], ["c1", "c2"]),
        _op("stamp", ["a"], ["a", "c1"]),
        _op("downgrade", ["d1", "d2"], "-1"),
        _op("downgrade", ["c1", "d2"], "b"),
    ],
    "br_labels": [
        _op("downgrade", ["cccc1111", "dddd2222"], "c1branch@bbbb2222"),
        _op("downgrade", ["dddd1111", "dddd2222"], "c2branch@bbbb2222"),
        _op("downgrade", ["dddd1111", "dddd2222"], "dddd2222@bbbb2222"),
        _op("stamp", ["dddd1111", "cccc2222"], ["c1branch@base"]),
        _op("stamp", ["dddd1111", "cccc2222"], ["c2branch@head"]),
        _op("stamp", ["dddd1111", "cccc2222"], ["bbbb2222"]),
        _op("stamp", ["dddd1111", "cccc2222"], ["c2branch@base"]),
        _op("downgrade", ["dddd1111", "cccc2222"], "c2branch@-1"),
        _op("upgrade", ["dddd1111", "cccc2222"], "c2branch@+1"),
        _op("upgrade", ["dddd1111"], "c2branch@+1"),
        _op("upgrade", ["dddd1111"], "c2branch@head"),
    ],
    "merged": [
        _op("stamp", ["d1", "c2"], ["e"]),
        _op("downgrade", ["f"], "c2branch@b"),
        _op("downgrade", ["d1", "d2"], "c2branch@-1"),
    ],
    "dep1": [
        _op("downgrade", ["c2", "d1"], "c1"),
        _op("stamp", ["e1", "c2"], ["b1"]),
    ],
    "dep_three": [_op("downgrade", ["a3", "b2"], "b1")],
    "dep_four": [_op("downgrade", ["b4"], "b3")],
    "dep_five": [_op("upgrade", ["a1"], "b1"), _op("downgrade", ["bmerge"], "b1"), _op("downgrade", ["bmerge"], "a1")],
}


def ancestors(graph_by_id, start, include_deps=True):
    """Revisions reachable downwards from `start` (inclusive)."""
    seen, todo = set(), [start]
    while todo:
        r = todo.pop()
        if r in seen:
            continue
        seen.add(r)
        node = graph_by_id[r]
        todo.extend(node["down_revision"])
        if include_deps:
            for d in node["depends_on"]:
                todo.append(label_owner(graph_by_id, d))
    return seen


def label_owner(graph_by_id, key):
    if key in graph_by_id:
        return key
    for r, node in graph_by_id.items():
        if key in node["branch_labels"]:
            return r
    raise KeyError(key)


def named_ops(name, graph, rng):
    """Many targets from many states: every symbol form the reference documents."""
    ids = [g["revision"] for g in graph]
    by_id = {g["revision"]: g for g in graph}
    labels = [lab for g in graph for lab in g["branch_labels"]]
    children = {r: [] for r in ids}
    for g in graph:
        for d in g["down_revision"]:
            children[d].append(g["revision"])
    ops = []
    # States: empty, each revision upgraded-to, all heads, plus a stamped inconsistent pair.
    states = [{"from_upgrade": None}] + [{"from_upgrade": r} for r in ids] + [{"from_upgrade": "heads"}]
    # Several rows at once (partly upgraded branches): upgrade one revision, then another.
    two_step = [[a, b] for a in ids for b in ids if a != b]
    states += [{"from_upgrade": pair} for pair in rng.sample(two_step, min(6, len(two_step)))]

    up_targets = ids + ["heads", "head", "+1", "+2", "+9", "-1", "base+2", "base+1", "base+9"]
    up_targets += [f"{r}+1" for r in ids[:3]] + [f"{r}-1" for r in ids[-3:]]
    up_targets += [f"{lab}@head" for lab in labels] + [f"{lab}@heads" for lab in labels]
    up_targets += [f"{lab}@+1" for lab in labels] + [f"{lab}@+2" for lab in labels]
    up_targets += [f"{ids[0]}@head", "nosuchrev", ids[-1][:2], "+1xyz", "b@b"]
    if len(ids[0]) > 4:
        up_targets.append(ids[0][:4])
    dn_targets = ids + ["base", "-1", "-2", "-9", "+1", "heads", "head", "base+1", "base+2"]
    dn_targets += [f"{r}-1" for r in ids] + [f"{r}-2" for r in ids[-2:]]
    dn_targets += [f"{lab}@-1" for lab in labels] + [f"{lab}@base" for lab in labels]
    dn_targets += [f"{lab}@{r}" for lab in labels for r in ids[:3]]
    dn_targets += [f"{r}@{r2}" for r in ids[-2:] for r2 in ids[:2]]
    dn_targets += [f"{lab}@base+1" for lab in labels]
    dn_targets += ["nosuchrev"]
    stamp_targets = [["heads"], ["head"], ["base"]] + [[r] for r in ids]
    stamp_targets += [[f"{lab}@head"] for lab in labels] + [[f"{lab}@base"] for lab in labels]
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    rng.shuffle(pairs)
    stamp_targets += [list(p) for p in pairs[:6]]
    stamp_targets += [["nosuchrev"]]

    def budget(targets, n):
        targets = list({json.dumps(t): t for t in targets}.values())
        if len(targets) <= n:
            return targets
        return rng.sample(targets, n)

    for state in states:
        for t in budget(up_targets, 9):
            ops.append({"command": "upgrade", "current": state, "target": t})
        for t in budget(dn_targets, 9):
            ops.append({"command": "downgrade", "current": state, "target": t})
        for t in budget(stamp_targets, 4):
            ops.append({"command": "stamp", "current": state, "target": t, "purge": False})
    # Every target from the states users are in most: upgrades from empty, downgrades from all heads.
    empty, at_heads = {"from_upgrade": None}, {"from_upgrade": "heads"}
    ops += [{"command": "upgrade", "current": empty, "target": t} for t in up_targets]
    ops += [{"command": "downgrade", "current": at_heads, "target": t} for t in dn_targets]
    for state in (empty, at_heads):
        ops += [{"command": "stamp", "current": state, "target": t, "purge": False} for t in stamp_targets]
    # Inconsistent / unknown rows: stamp --purge is the documented way out.
    ops.append({"command": "stamp", "current": ["zzzz"], "target": ["heads"], "purge": True})
    ops.append({"command": "stamp", "current": ["zzzz"], "target": ["heads"], "purge": False})
    ops.append({"command": "upgrade", "current": ["zzzz"], "target": "heads"})
    ops.append({"command": "downgrade", "current": ["zzzz"], "target": "base"})
    heads = [r for r in ids if not children[r]]
    if len(heads) > 1:
        ops.append({"command": "downgrade", "current": list(reversed(heads)), "target": "-1"})
        ops.append({"command": "downgrade", "current": heads, "target": "-1"})
        ops.append({"command": "stamp", "current": list(reversed(heads)), "target": [ids[0]], "purge": False})
    # Two rows on one line of descent.
    for r in ids:
        downs = by_id[r]["down_revision"]
        if downs:
            ops.append({"command": "upgrade", "current": [downs[0], r], "target": "heads"})
            ops.append({"command": "stamp", "current": [downs[0], r], "target": ["heads"], "purge": True})
            break
    ops += EXTRA_OPS.get(name, [])
    return dedupe_ops(ops)


def dedupe_ops(ops):
    seen, out = set(), []
    for op in ops:
        key = json.dumps(op, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(op)
    return out


WORDS = [
    "alpha", "bravo", "cedar", "delta", "ember", "fable", "gamma", "harbor", "ivory", "jolly",
    "karma", "lemon", "maple", "nectar", "orbit", "pixel", "quartz", "raven", "sable", "tango",
    "umber", "vivid", "willow", "xenon", "yonder", "zephyr",
]
RESERVED = {"base", "head", "heads", "current"}


def random_id(rng, taken):
    while True:
        if rng.random() < 0.6:
            n = rng.randint(4, 12)
            cand = "".join(rng.choice("0123456789abcdef") for _ in range(n))
        else:
            cand = rng.choice(WORDS) + str(rng.randint(0, 99)) * rng.randint(0, 1)
        if cand not in taken and cand not in RESERVED:
            taken.add(cand)
            return cand


def random_graph(rng):
    """A random DAG: branching, 2-3 parent merges, cross-branch depends_on, a few labels."""
    n = rng.randint(3, 25)
    taken = set()
    order = []  # creation order: every parent exists before its child
    nodes = {}
    for i in range(n):
        r = random_id(rng, taken)
        existing = list(order)
        heads = [x for x in existing if not any(x in nodes[y]["down_revision"] for y in existing)]
        roll = rng.random()
        if not existing or roll < 0.08:
            down = []  # new base
        elif roll < 0.22 and len(heads) >= 2:
            down = rng.sample(heads, min(len(heads), rng.choice([2, 2, 3])))
        elif roll < 0.4:
            down = [rng.choice(existing)]  # fork from anywhere
        else:
            down = [rng.choice(heads)]
        node = rev(r, down)
        nodes[r] = node
        order.append(r)
    # depends_on edges go to revisions created earlier that are not already ancestors.
    for r in order:
        if rng.random() < 0.12:
            idx = order.index(r)
            anc = ancestors(nodes, r)
            cands = [x for x in order[:idx] if x not in anc]
            if cands:
                nodes[r]["depends_on"] = [rng.choice(cands)]
    # Labels: a few, on single revisions, unique against ids.
    for r in order:
        if rng.random() < 0.08:
            nodes[r]["branch_labels"] = [random_id(rng, taken) + "lbl"]
    # Occasionally depend on a label instead of its revision.
    for r in order:
        deps = nodes[r]["depends_on"]
        if deps and nodes[deps[0]]["branch_labels"] and rng.random() < 0.5:
            deps[0] = nodes[deps[0]]["branch_labels"][0]
    load = list(order)
    rng.shuffle(load)
    return [nodes[r] for r in load]


def random_ops(graph, rng):
    """~8 operations; states come from earlier upgrades of the same case."""
    ids = [g["revision"] for g in graph]
    labels = [lab for g in graph for lab in g["branch_labels"]]

    def some_rev():
        r = rng.choice(ids)
        if len(r) > 5 and rng.random() < 0.2:
            return r[: rng.randint(2, 5)]  # prefix; may be ambiguous or too short
        return r

    ops = [
        {"command": "upgrade", "current": {"from_upgrade": None}, "target": "heads"},
        {"command": "upgrade", "current": {"from_upgrade": None}, "target": some_rev()},
        {"command": "upgrade", "current": {"from_upgrade": rng.choice(ids)}, "target": some_rev()},
        {"command": "upgrade", "current": {"from_upgrade": rng.choice(ids)}, "target": "heads"},
        {"command": "downgrade", "current": {"from_upgrade": "heads"}, "target": {"ancestor_of_current": True}},
        {"command": "downgrade", "current": {"from_upgrade": rng.choice(ids)}, "target": {"ancestor_of_current": True}},
        {"command": "downgrade", "current": {"from_upgrade": "heads"}, "target": "base"},
        {"command": "downgrade", "current": {"from_upgrade": rng.choice(ids)}, "target": "-1"},
        {"command": "downgrade", "current": {"from_upgrade": [rng.choice(ids), rng.choice(ids)]},
         "target": {"ancestor_of_current": True}},
        {"command": "upgrade", "current": {"from_upgrade": [rng.choice(ids), rng.choice(ids)]}, "target": "heads"},
        {"command": "stamp", "current": {"from_upgrade": rng.choice(ids)}, "target": [rng.choice(ids)], "purge": False},
        {"command": "stamp", "current": {"from_upgrade": "heads"},
         "target": rng.sample(ids, min(2, len(ids))), "purge": rng.random() < 0.3},
    ]
    if labels:
        lab = rng.choice(labels)
        ops.append({"command": "upgrade", "current": {"from_upgrade": None}, "target": f"{lab}@head"})
        ops.append({"command": "downgrade", "current": {"from_upgrade": "heads"}, "target": f"{lab}@-1"})
    if rng.random() < 0.5:
        ops.append({"command": "upgrade", "current": {"from_upgrade": rng.choice(ids)}, "target": "+1"})
    return ops


def build_cases():
    cases = []
    for name, graph in NAMED_GRAPHS.items():
        rng = random.Random(f"named:{name}")
        cases.append({"name": name, "kind": "named", "graph": graph, "ops": named_ops(name, graph, rng)})
    master = random.Random(RANDOM_SEED)
    for i in range(RANDOM_GRAPHS):
        seed = master.randrange(2**32)
        rng = random.Random(seed)
        graph = random_graph(rng)
        cases.append({
            "name": f"random_{i:03d}", "kind": "random", "seed": seed, "graph": graph,
            "ops": random_ops(graph, rng), "op_seed": seed + 1,
        })
    return cases


# --------------------------------------------------------------------------------------
# Running alembic (worker side)
# --------------------------------------------------------------------------------------

STUB = '''"""rev {rev}"""
from alembic import op
import retort_oracle_log

revision = {rev!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {deps!r}


def upgrade():
    retort_oracle_log.record("up:{rev}")
    op.execute("SELECT 'up {rev}'")


def downgrade():
    retort_oracle_log.record("down:{rev}")
    op.execute("SELECT 'down {rev}'")
'''

ENV_PY = '''from alembic import context

config = context.config
tpm = config.attributes.get("transaction_per_migration", True)
if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=None,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=tpm,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=tpm)
    with context.begin_transaction():
        context.run_migrations()
'''


def py_value(values):
    """The Python form a hand-written revision file would use: None, a string or a tuple."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return tuple(values)


def write_project(root: Path, graph):
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY)
    width = max(3, len(str(len(graph))))
    for i, g in enumerate(graph):
        text = STUB.format(
            rev=g["revision"], down=py_value(g["down_revision"]),
            labels=py_value(g["branch_labels"]), deps=py_value(g["depends_on"]),
        )
        (versions / f"{i:0{width}d}_{g['revision']}.py").write_text(text)


DML_PATTERNS = [
    (re.compile(r"^INSERT INTO alembic_version \(version_num\) VALUES \('([^']*)'\)"), lambda m: f"INSERT {m[1]}"),
    (re.compile(r"^UPDATE alembic_version SET version_num='([^']*)' WHERE alembic_version\.version_num = '([^']*)'"),
     lambda m: f"UPDATE {m[2]}->{m[1]}"),
    (re.compile(r"^DELETE FROM alembic_version WHERE alembic_version\.version_num = '([^']*)'"), lambda m: f"DELETE {m[1]}"),
    (re.compile(r"^DELETE FROM alembic_version\s*$"), lambda m: "DELETE *"),
]


def normalise_dml(statement):
    s = " ".join(statement.split())
    if "alembic_version" not in s or s.startswith(("SELECT", "CREATE", "PRAGMA")):
        return None
    for pattern, fmt in DML_PATTERNS:
        m = pattern.match(s)
        if m:
            return fmt(m)
    return "UNPARSED " + s


def install_step_log():
    """The stub revisions report each upgrade()/downgrade() call into this list."""
    import types

    log = []
    mod = types.ModuleType("retort_oracle_log")
    mod.record = log.append
    sys.modules["retort_oracle_log"] = mod
    return log


class Runner:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.log = install_step_log()

    def config(self, script_dir: Path, url="sqlite://"):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(script_dir))
        cfg.set_main_option("sqlalchemy.url", url)
        return cfg

    def graph_facts(self, script_dir: Path):
        from alembic.script import ScriptDirectory

        sd = ScriptDirectory.from_config(self.config(script_dir))
        rmap = sd.revision_map
        heads = list(sd.get_heads())
        real_heads = list(rmap._real_heads)
        history = [s.revision for s in sd.walk_revisions("base", "heads")]
        bases = list(sd.get_bases())
        labels = {r: sorted(rmap.get_revision(r).branch_labels) for r in history}
        return {
            "heads": heads, "real_heads": real_heads, "bases": bases, "history": history,
            "branch_labels_propagated": {r: v for r, v in labels.items() if v},
        }

    def run_op(self, script_dir: Path, op, current):
        import sqlalchemy as sa
        from alembic import command
        from alembic.util import CommandError

        db = self.workdir / "op.db"
        if db.exists():
            db.unlink()
        engine = sa.create_engine(f"sqlite:///{db}", poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                if current:
                    conn.exec_driver_sql(
                        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
                    for row in current:
                        conn.exec_driver_sql("INSERT INTO alembic_version VALUES (?)", (row,))
            dml = []

            @sa.event.listens_for(engine, "before_cursor_execute")
            def capture(conn, cursor, statement, parameters, context, executemany):
                n = normalise_dml(statement)
                if n is not None:
                    dml.append(n)

            cfg = self.config(script_dir, f"sqlite:///{db}")
            del self.log[:]
            result = {}
            with engine.connect() as conn, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cfg.attributes["connection"] = conn
                try:
                    if op["command"] == "upgrade":
                        command.upgrade(cfg, op["target"])
                    elif op["command"] == "downgrade":
                        command.downgrade(cfg, op["target"])
                    else:
                        command.stamp(cfg, op["target"], purge=op["purge"])
                    conn.commit()
                except CommandError as e:
                    result["error"] = str(e)
                except Exception as e:  # noqa: BLE001 - alembic bugs (tracebacks) are not fixtures
                    return {"skipped": f"{type(e).__name__}: {e}"}
                msgs = [str(w.message) for w in caught if "alembic" in str(w.filename) or w.category is UserWarning]
            if "error" not in result:
                result["steps"] = list(self.log)
                result["dml"] = dml
                with engine.connect() as conn:
                    has = conn.exec_driver_sql(
                        "SELECT count(*) FROM sqlite_master WHERE name='alembic_version'").scalar()
                    rows = [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")] if has else []
                result["rows_after"] = sorted(rows)
            if msgs:
                result["warnings"] = msgs
            return result
        finally:
            engine.dispose()

    def resolve_current(self, script_dir, spec, cache):
        """A `from_upgrade` state = rows after `upgrade <rev>` (or several in turn) from an empty database.

        None if one of those upgrades fails.
        """
        if isinstance(spec, list):
            return spec
        targets = spec["from_upgrade"]
        if targets is None:
            return []
        if isinstance(targets, str):
            targets = [targets]
        key = json.dumps(targets)
        if key not in cache:
            rows = []
            for target in targets:
                res = self.run_op(script_dir, {"command": "upgrade", "target": target}, rows)
                rows = res.get("rows_after")
                if rows is None:
                    break
            cache[key] = rows
        return cache[key]

    def run_case(self, case):
        script_dir = self.workdir / case["name"]
        if script_dir.exists():
            shutil.rmtree(script_dir)
        write_project(script_dir, case["graph"])
        out = {k: case[k] for k in ("name", "kind", "graph") }
        if "seed" in case:
            out["seed"] = case["seed"]
        out.update(self.graph_facts(script_dir))
        by_id = {g["revision"]: g for g in case["graph"]}
        rng = random.Random(case.get("op_seed", 0))
        cache = {}
        ops_out, skipped = [], []
        for op in case["ops"]:
            current = self.resolve_current(script_dir, op["current"], cache)
            if current is None:
                continue
            target = op["target"]
            if isinstance(target, dict):  # a random ancestor of the current rows
                anc = sorted(set().union(*[ancestors(by_id, r) for r in current]) if current else set())
                if not anc:
                    continue
                target = rng.choice(anc)
            concrete = {"command": op["command"], "current": list(current), "target": target}
            if op["command"] == "stamp":
                concrete["purge"] = op["purge"]
            res = self.run_op(script_dir, concrete, current)
            if "skipped" in res:
                skipped.append({**concrete, "exception": res["skipped"]})
                continue
            concrete.update(res)
            ops_out.append(concrete)
        out["operations"] = ops_out
        if skipped:
            out["skipped"] = skipped
        shutil.rmtree(script_dir)
        return out


def worker(out_file: Path, only):
    import logging

    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="alembic-oracle-") as tmp:
        runner = Runner(Path(tmp))
        results = []
        for case in build_cases():
            if only and not re.search(only, case["name"]):
                continue
            results.append(runner.run_case(case))
        offline = offline_outputs()
    out_file.write_text(json.dumps({"cases": results, "offline": offline}))


# --------------------------------------------------------------------------------------
# Offline (--sql) output
# --------------------------------------------------------------------------------------

OFFLINE_GRAPHS = {
    "chain3": [rev("ae1027a6acf"), rev("27c6a30d7c24", "ae1027a6acf"), rev("1975ea83b712", "27c6a30d7c24")],
    "merged": NAMED_GRAPHS["merged"],
    "br": NAMED_GRAPHS["br"],
    "cur": NAMED_GRAPHS["cur"],
    "forest": NAMED_GRAPHS["forest"],
}
OFFLINE_OPS = {
    "chain3": [("upgrade", "heads"), ("upgrade", "ae10:heads"), ("upgrade", "27c6a30d7c24:1975ea83b712"),
               ("downgrade", "1975ea83b712:base"), ("downgrade", "1975ea83b712:ae1027a6acf"),
               ("stamp", "heads"), ("stamp", "ae1027a6acf:heads"), ("stamp", "1975ea83b712:base")],
    "merged": [("upgrade", "heads"), ("upgrade", "b:f"), ("upgrade", "d1:heads"), ("downgrade", "f:b"),
               ("downgrade", "f:base"), ("downgrade", "e:c2branch@b")],
    "br": [("upgrade", "heads"), ("upgrade", "c1:heads"), ("downgrade", "d1:b"), ("downgrade", "d2:base")],
    "cur": [("upgrade", "heads"), ("upgrade", "b2"), ("upgrade", "b1:b2"), ("downgrade", "b3:b1")],
    "forest": [("upgrade", "heads"), ("stamp", "heads"), ("downgrade", "b1:base")],
}
DIALECT_URLS = {
    "sqlite": "sqlite:///offline.db",
    "postgresql": "postgresql://scott:tiger@localhost/test",
    "mysql": "mysql://scott:tiger@localhost/test",
}


def op_slug(command, target, tpm):
    slug = re.sub(r"[^A-Za-z0-9]+", "_", f"{command}_{target}").strip("_")
    return slug + ("" if tpm else ".single_txn")


def offline_outputs():
    """Every offline command of OFFLINE_OPS on every dialect: index entries with the stdout text."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    entries = []
    with tempfile.TemporaryDirectory(prefix="alembic-offline-") as tmp:
        for case, graph in OFFLINE_GRAPHS.items():
            script_dir = Path(tmp) / case
            write_project(script_dir, graph)
            for cmd, target in OFFLINE_OPS[case]:
                for dialect, url in DIALECT_URLS.items():
                    for tpm in (True, False):
                        buf = io.StringIO()
                        cfg = Config(output_buffer=buf)
                        cfg.set_main_option("script_location", str(script_dir))
                        cfg.set_main_option("sqlalchemy.url", url)
                        cfg.attributes["transaction_per_migration"] = tpm
                        entry = {"case": case, "dialect": dialect, "command": cmd, "target": target,
                                 "transaction_per_migration": tpm, "url": url,
                                 "argv": ["alembic", cmd, target, "--sql"],
                                 "file": f"{case}.{dialect}.{op_slug(cmd, target, tpm)}.sql"}
                        try:
                            getattr(command, cmd)(cfg, target, sql=True)
                            entry["text"] = buf.getvalue()
                        except CommandError as e:
                            entry["error"] = str(e)
                            del entry["file"]
                        entries.append(entry)
    return entries


def write_offline(runs, out_dir: Path):
    """Outputs of the first run; other hash seeds' differing texts go to <file>.variantN.sql."""
    off = out_dir / "offline"
    if off.exists():
        shutil.rmtree(off)
    off.mkdir(parents=True)
    index = []
    for i, entry in enumerate(runs[0]):
        if "text" in entry:
            texts = [entry.pop("text")]
            for run in runs[1:]:
                other = run[i].get("text")
                if other is not None and other not in texts:
                    texts.append(other)
            (off / entry["file"]).write_text(texts[0])
            for k, text in enumerate(texts[1:], 1):
                name = entry["file"].removesuffix(".sql") + f".variant{k}.sql"
                (off / name).write_text(text)
                entry.setdefault("variants", []).append(name)
        index.append(entry)
    (off / "index.json").write_text(json.dumps({"graphs": OFFLINE_GRAPHS, "outputs": index}, indent=1) + "\n")
    return sum(1 for e in index if "file" in e)


# --------------------------------------------------------------------------------------
# Parent: run workers under several hash seeds, merge, write fixtures
# --------------------------------------------------------------------------------------

OUTCOME_KEYS = ("steps", "dml", "rows_after", "error")


def outcome(op):
    return {k: op[k] for k in OUTCOME_KEYS if k in op}


def merge(runs):
    """First run is primary; outcomes seen only under other seeds become `variants`."""
    primary = runs[0]
    notes = []
    for ci, case in enumerate(primary):
        others = [run[ci] for run in runs[1:]]
        for key in ("heads", "real_heads", "bases", "history", "branch_labels_propagated"):
            for o in others:
                if o[key] != case[key]:
                    notes.append(f"{case['name']}: {key} differs between hash seeds")
                    case.setdefault("hash_dependent", []).append(key)
        for oi, op in enumerate(case["operations"]):
            seen = [outcome(op)]
            for o in others:
                if oi >= len(o["operations"]) or o["operations"][oi]["current"] != op["current"]:
                    notes.append(f"{case['name']}: operation list differs between hash seeds at {oi}")
                    continue
                oc = outcome(o["operations"][oi])
                if oc not in seen:
                    seen.append(oc)
                    if oc.get("rows_after") != op.get("rows_after"):
                        notes.append(f"{case['name']} op {oi}: rows_after differ between hash seeds")
            if len(seen) > 1:
                op["variants"] = seen[1:]
    return primary, notes


def write_fixtures(cases, out_dir: Path, seeds, notes):
    for old in out_dir.glob("*.json"):
        old.unlink()
    summary = []
    for case in cases:
        text = json.dumps(case, indent=None, separators=(",", ":"))
        # One operation per line keeps diffs of regenerated fixtures readable.
        text = text.replace(',{"command"', ',\n{"command"')
        (out_dir / f"{case['name']}.json").write_text(text + "\n")
        summary.append({
            "name": case["name"], "revisions": len(case["graph"]), "operations": len(case["operations"]),
            "errors": sum(1 for o in case["operations"] if "error" in o),
            "with_variants": sum(1 for o in case["operations"] if "variants" in o),
            "skipped": len(case.get("skipped", [])),
        })
    import alembic
    import sqlalchemy

    (out_dir / "index.json").write_text(json.dumps({
        "alembic": alembic.__version__, "sqlalchemy": sqlalchemy.__version__,
        "python": sys.version.split()[0], "hash_seeds": seeds, "notes": notes, "cases": summary,
    }, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seeds", default="0,1,2,3", help="PYTHONHASHSEEDs to run under (first = primary)")
    ap.add_argument("--only", help="regex on case names (for debugging)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.only)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alembic-oracle-runs-") as tmp:
        files = [Path(tmp) / f"seed{s}.json" for s in seeds]
        pending = list(zip(seeds, files))
        running = []
        while pending or running:
            while pending and len(running) < args.jobs:
                seed, f = pending.pop(0)
                cmd = [sys.executable, __file__, "--worker", str(f)] + (["--only", args.only] if args.only else [])
                running.append((seed, subprocess.Popen(cmd, env={**os.environ, "PYTHONHASHSEED": str(seed)})))
            seed, proc = running.pop(0)
            if proc.wait() != 0:
                sys.exit(f"worker for PYTHONHASHSEED={seed} failed")
        runs = [json.loads(f.read_text()) for f in files]
    cases, notes = merge([run["cases"] for run in runs])
    write_fixtures(cases, args.out, seeds, notes)
    n_off = write_offline([run["offline"] for run in runs], args.out)
    n_ops = sum(len(c["operations"]) for c in cases)
    print(f"{len(cases)} cases, {n_ops} operations, {n_off} offline outputs written to {args.out}")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
