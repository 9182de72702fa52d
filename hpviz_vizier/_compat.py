"""Every access to OSS Vizier internals, in one place (each use is tested in tests/test_vizier.py).

The study protos live in ``vizier._src.service.study_pb2``; the SQLite
datastore's layout (tables ``studies``/``trials`` holding serialized protos)
is the one of ``vizier._src.service.sql_datastore``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["read_datastore", "is_datastore"]

_TABLES = {"owners", "studies", "trials", "suggestion_operations"}


def is_datastore(path: Path) -> bool:
    """``path`` is an SQLite file with Vizier's tables (``owners``, ``studies``, ``trials``,
    ``suggestion_operations``; an Optuna storage also has ``studies`` and ``trials``)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False
    return _TABLES <= tables


def read_datastore(path: Path) -> list[tuple[str, Any, Any, list[Any]]]:
    """Every study in a Vizier SQLite datastore: ``(resource name, display name, StudyConfig, [pyvizier Trial])``.

    Opened read-only: Vizier's own servicer would create missing tables in the file.
    """
    from vizier._src.service import study_pb2
    from vizier.service import pyvizier as vz

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        studies = con.execute("SELECT study_name, owner_id, study_id, serialized_study FROM studies").fetchall()
        out = []
        for name, owner, study_id, blob in studies:
            proto = study_pb2.Study.FromString(bytes(blob))
            rows = con.execute("SELECT serialized_trial FROM trials WHERE owner_id = ? AND study_id = ? ORDER BY trial_id",
                               (owner, study_id)).fetchall()
            trials = vz.TrialConverter.from_protos([study_pb2.Trial.FromString(bytes(r[0])) for r in rows])
            out.append((name, proto.display_name, vz.StudyConfig.from_proto(proto.study_spec), trials))
    finally:
        con.close()
    return out
