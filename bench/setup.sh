#!/usr/bin/env bash
# Creates bench/.venv with the Alembic version the fixtures and benchmarks were made with.
# Idempotent: re-running only checks that the pinned versions are installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "alembic>=1.20.1,<1.21" "SQLAlchemy>=2,<3"
"$venv/bin/python" -c 'import alembic, sqlalchemy; print("alembic", alembic.__version__, "sqlalchemy", sqlalchemy.__version__)'
