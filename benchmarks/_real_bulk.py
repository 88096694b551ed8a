"""Fill a real MLflow server's SQLite store straight through SQL, for benchmarks at a scale its
REST API would need hours for (two requests a run, ~40 runs/s).

The rows are what ``runs/create`` (with ``run_name`` and tags, no user) plus ``runs/log-batch``
write in MLflow 3.17.2: a ``runs`` row, the ``mlflow.runName`` tag, and each metric in both
``metrics`` and ``latest_metrics``. The benchmark then checks that both servers list the same
runs in the same order, so a schema drift shows up as an error rather than as a wrong figure.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Iterable, Sequence

#: (run name, start time, tags, params, metrics) for one run; metrics are (key, value) at step 0.
RunRow = tuple[str, int, Sequence[tuple[str, str]], Sequence[tuple[str, str]],
               Sequence[tuple[str, float]]]


def fill_sqlite(db_path: str | Path, experiment_id: str, artifact_location: str,
                rows: Iterable[RunRow]) -> int:
    """Insert ``rows`` as runs of ``experiment_id``; the number of runs written."""
    runs, tags, params, metrics, latest = [], [], [], [], []
    for name, start_time, run_tags, run_params, run_metrics in rows:
        run_id = uuid.uuid4().hex
        runs.append((run_id, name, "UNKNOWN", "", "", "", "RUNNING", start_time, None, "",
                     "active", f"{artifact_location.rstrip('/')}/{run_id}/artifacts",
                     int(experiment_id), None))
        tags.append(("mlflow.runName", name, run_id))
        tags.extend((key, value, run_id) for key, value in run_tags)
        params.extend((key, value, run_id) for key, value in run_params)
        for key, value in run_metrics:
            metrics.append((key, value, start_time, run_id, 0, 0))
            latest.append((key, value, start_time, 0, 0, run_id))
    with sqlite3.connect(str(db_path), timeout=60) as db:
        db.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
            " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
            " experiment_id, deleted_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
        db.executemany('INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)', tags)
        db.executemany('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)', params)
        db.executemany('INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan)'
                       " VALUES (?, ?, ?, ?, ?, ?)", metrics)
        db.executemany('INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan,'
                       " run_uuid) VALUES (?, ?, ?, ?, ?, ?)", latest)
    return len(runs)
