"""A logged-model mutant: a model keeps only its latest row per metric key (as a run's
latest-metrics table does), so the history of values logged with ``model_id`` is lost."""

from __future__ import annotations

from typing import Any

from tests.conformance_mutants import API, JsonMiddleware


def _latest_rows_only(model: Any) -> None:
    data = model.get("data") if isinstance(model, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        return
    latest: dict[str, Any] = {}
    for row in data["metrics"]:
        seen = latest.get(row.get("key"))
        if seen is None or (row.get("timestamp"), row.get("step")) >= (seen.get("timestamp"),
                                                                        seen.get("step")):
            latest[row.get("key")] = row
    data["metrics"] = [row for row in data["metrics"] if row in latest.values()]


class ModelMetricsKeepLatestOnly(JsonMiddleware):
    def rewrite_answer(self, path: str, method: str, request: Any, status: int,
                       answer: Any) -> tuple[int, Any]:
        if status == 200 and path.startswith(API + "logged-models") and isinstance(answer, dict):
            for model in [answer.get("model"), *(answer.get("models") or [])]:
                _latest_rows_only(model)
        return status, answer
