"""Every access to Optuna internals or version-dependent behaviour, in one place.

Each function here names the Optuna detail it relies on and is covered by a
test in ``tests/test_optuna_convert.py``, so an Optuna upgrade that changes
one of them breaks one file, loudly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

__all__ = [
    "OPTUNA_TABLES",
    "trial_constraints",
    "is_incompatible_distribution_error",
    "sqlite_has_optuna_schema",
    "rdb_has_optuna_schema",
    "open_rdb_storage",
]

#: Tables every Optuna RDB storage holds (``optuna/storages/_rdb/models.py``: ``studies``,
#: ``trials``, ``version_info``; Alembic's ``alembic_version`` written by ``_VersionManager``).
OPTUNA_TABLES = frozenset({"studies", "trials", "version_info", "alembic_version"})

#: System attribute under which Optuna < 5 stored a sampler's ``constraints_func`` result as a
#: list (``optuna.study._constrained_optimization._CONSTRAINTS_KEY``); Optuna 5 also writes one
#: ``"constraints:<name>"`` key per ``trial.set_constraint(name, value)`` and reads both through
#: the public ``FrozenTrial.constraints`` property.
_CONSTRAINTS_KEY = "constraints"


def trial_constraints(frozen: Any) -> dict[str, float]:
    """``name -> value`` of a frozen trial's constraints (``> 0`` violated); ``{}`` when none.

    Uses ``FrozenTrial.constraints`` (Optuna 5: sampler ``constraints_func`` values named
    ``"0"``, ``"1"``... and trial-level ``set_constraint`` values by their name); older
    Optuna kept only the list under ``system_attrs["constraints"]``.
    """
    try:
        found = frozen.constraints
    except AttributeError:  # Optuna < 5
        raw = (getattr(frozen, "system_attrs", None) or {}).get(_CONSTRAINTS_KEY)
        found = {str(i): v for i, v in enumerate(raw or ())}
    return {str(k): float(v) for k, v in dict(found or {}).items()}


def is_incompatible_distribution_error(exc: BaseException) -> bool:
    """Optuna refusing a changed distribution for a parameter already in the study.

    ``optuna.distributions.check_distribution_compatibility`` raises a plain
    ``ValueError``; only its text tells it apart ("Cannot set different
    distribution kind to the same parameter name", "... dynamic value space").
    """
    msg = str(exc)
    return isinstance(exc, ValueError) and ("same parameter name" in msg or "dynamic value space" in msg)


def _tables_sqlite(path: Path) -> set[str] | None:
    """Table names of an SQLite file opened read-only; ``None`` when it is not SQLite."""
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:  # not a database, encrypted, locked...
        return None
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def sqlite_has_optuna_schema(path: str | Path) -> bool:
    """Whether the SQLite file at ``path`` holds Optuna's tables, probed read-only.

    Opened with ``file:...?mode=ro`` so neither SQLite nor Optuna (whose
    ``RDBStorage`` creates its tables in any database it opens) can write to it.
    """
    tables = _tables_sqlite(Path(path))
    return tables is not None and OPTUNA_TABLES <= tables


def rdb_has_optuna_schema(url: str) -> bool:
    """Whether a non-SQLite RDB URL holds Optuna's tables (SQLAlchemy inspection, no DDL)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        return OPTUNA_TABLES <= set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def open_rdb_storage(url: str) -> Any:
    """An ``optuna.storages.RDBStorage`` on an existing Optuna database, creating no table."""
    import optuna

    return optuna.storages.RDBStorage(url, skip_table_creation=True)
