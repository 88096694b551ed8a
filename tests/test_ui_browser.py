"""MLflow's own UI in headless Chromium over ``fakeflow serve --demo --ui`` and over a real MLflow
3.17.2 holding the same demo: each main page shows the same names and values on both, with no
page error, and every API call a page makes gets the same status from both servers.

Screenshots of every page on both servers are written to ``$FAKEFLOW_UI_SCREENSHOTS`` (default
``build/ui-screenshots``), kept by CI as artifacts. Needs the ``browser`` extra (playwright) and a
Chromium (Debian's ``chromium``; ``.ci/run`` installs both); skipped without them outside CI.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

import fakeflow
from fakeflow.client import RestClient
from fakeflow.demo import build_demo, fill_in_process
from fakeflow.server import ThreadedServer
from fakeflow.ui.build import find_ui_build
from fakeflow.ui.static import UiApp
from tests.test_ui_static import _real_build

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("FAKEFLOW_UI_SCREENSHOTS", "build/ui-screenshots"))
VISION = "Demo: image classifier"
IDS = re.compile(r"[0-9a-f]{32}|m-[0-9a-f]{32}|(?<=experiments/)\d+|(?<=experiment_id=)\d+")
SETTLE_MS = int(os.environ.get("FAKEFLOW_UI_SETTLE_MS", "4000"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[browser]')")
    executable = os.environ.get("FAKEFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set $FAKEFLOW_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo_reference() -> Iterator[Any]:
    """A real MLflow of its own, so the pages show the demo rather than what other tests left
    (lists page and sort by recency); a $FAKEFLOW_REAL_MLFLOW_URL server is used as it is."""
    from conformance.reference_server import (
        find_mlflow_executable,
        reference_server_from_env,
        start_reference_server,
    )

    server = reference_server_from_env()
    if server is None:
        if find_mlflow_executable() is None:
            _unavailable("real MLflow not found: set FAKEFLOW_MLFLOW_BIN")
        server = start_reference_server(timeout=240)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def servers(demo_reference: Any) -> Iterator[dict[str, str]]:
    build = _real_build()
    if build is None:
        _unavailable("the real MLflow's UI build is not on this machine (FAKEFLOW_MLFLOW_BIN)")
    reference_server = demo_reference
    real = RestClient(reference_server.url, timeout=120)
    if not any(e["name"] == VISION for e in real.call(
            "GET", "experiments/search", params={"max_results": 1000}).get("experiments", [])):
        build_demo(real)
    app = fakeflow.create_app()
    fill_in_process(app)
    fake = ThreadedServer(UiApp(app, find_ui_build(build), app.security), port=0).start()
    try:
        yield {"mlflow": reference_server.url, "fakeflow": fake.url}
    finally:
        fake.stop()


def _pages(url: str) -> dict[str, tuple[str, list[str]]]:
    """Page name -> (hash route, texts the page must show), with this server's ids."""
    client = RestClient(url)
    experiments = {e["name"]: e["experiment_id"] for e in client.call(
        "GET", "experiments/search", params={"max_results": 1000})["experiments"]}
    vision = experiments[VISION]
    runs = {r["info"]["run_name"]: r["info"]["run_id"] for r in client.search_runs([vision])}
    run, other = runs["trial-0"], runs["cnn-lr0.01-bs128-adam"]
    assert "Demo: support chatbot" in experiments, (url, sorted(experiments))
    chatbot = experiments["Demo: support chatbot"]
    traces = client.session.post(url + "/api/3.0/mlflow/traces/search", json={
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": chatbot}}],
        "filter": "request_metadata.`mlflow.user` = 'demo'", "order_by": ["timestamp_ms ASC"]}).json()
    first_trace = traces["traces"][0]["trace_id"]
    return {
        "home": ("/#/", ["Welcome to MLflow", VISION]),
        "experiments": ("/#/experiments", [VISION, "Demo: churn prediction"]),
        "runs-table": (f"/#/experiments/{vision}/runs", ["cnn-lr0.1-bs32-sgd", "hyperparameter-search"]),
        "charts": (f"/#/experiments/{vision}/runs?compareRunsMode=CHART", ["val_loss"]),
        "run-overview": (f"/#/experiments/{vision}/runs/{run}", ["trial-0", "learning_rate", "0.01"]),
        "model-metrics": (f"/#/experiments/{vision}/runs/{run}/model-metrics", ["val_accuracy"]),
        "artifacts": (f"/#/experiments/{vision}/runs/{run}/artifacts/notes/summary.txt",
                      ["final val_accuracy"]),
        "compare-runs": (f'/#/compare-runs?runs=["{run}","{other}"]&experiments=["{vision}"]',
                         ["learning_rate", "trial-0"]),
        "models": ("/#/models", ["image-classifier", "churn-model"]),
        "model": ("/#/models/image-classifier", ["champion", "Version 3"]),
        "model-version": ("/#/models/image-classifier/versions/2", ["Trained by cnn-lr0.01-bs128-adam"]),
        "prompts": ("/#/prompts", ["summarize-ticket"]),
        "traces": (f"/#/experiments/{chatbot}/traces?startTimeLabel=ALL", ["My invoice shows", "Export to CSV"]),
        "trace": (f"/#/experiments/{chatbot}/traces?startTimeLabel=ALL&selectedEvaluationId={first_trace}",
                  ["retrieve_docs", "generate"]),
        "genai-overview": (f"/#/experiments/{chatbot}/overview/usage",
                           ["Token Usage", "A retrieval-augmented assistant"]),
        "eval-datasets": (f"/#/experiments/{chatbot}/datasets", ["support-tickets-eval"]),
        "evaluation-runs": (f"/#/experiments/{chatbot}/evaluation-runs", ["Demo: support chatbot"]),
        "judges": (f"/#/experiments/{chatbot}/judges", ["Demo: support chatbot"]),
    }


def _visit(browser: Any, url: str, route: str, expected: list[str], shot: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    calls: dict[tuple[str, str], int] = {}
    errors: list[str] = []
    base = urlsplit(url)

    def seen(response: Any) -> None:
        where = urlsplit(response.url)
        if where.netloc == base.netloc and "/static-files/" not in where.path:
            path = IDS.sub("<id>", where.path)
            calls[(response.request.method, path)] = response.status

    page.on("response", seen)
    page.on("pageerror", lambda error: errors.append(str(error)[:300]))
    try:
        page.goto(url + route, wait_until="load", timeout=120_000)
        for text in expected:  # data arrives after the page loads
            try:
                page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
            except Exception:  # noqa: BLE001 - reported below as a missing text
                break
        page.wait_for_timeout(SETTLE_MS)
        text = page.inner_text("body", timeout=60_000)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=False, timeout=60_000)
    finally:
        page.close()
    return {"calls": calls, "errors": errors, "text": text}


PAGE_NAMES = ["home", "experiments", "runs-table", "charts", "run-overview", "model-metrics",
              "artifacts", "compare-runs", "models", "model", "model-version", "prompts", "traces",
              "trace", "genai-overview", "eval-datasets", "evaluation-runs", "judges"]


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_shows_the_same_on_fakeflow_and_real_mlflow(name: str, chromium: Any,
                                                         servers: dict[str, str]) -> None:
    seen = {}
    for side, url in servers.items():
        route, expected = _pages(url)[name]
        seen[side] = _visit(chromium, url, route, expected, SCREENSHOTS / f"{name}-{side}.png")
        missing = [t for t in expected if t not in seen[side]["text"]]
        assert not missing, f"{side} {name}: page does not show {missing}"
    fake, real = seen["fakeflow"], seen["mlflow"]
    assert not fake["errors"], f"page errors on fakeflow: {fake['errors']}"
    for marker in ("Can't load", "Something went wrong", "Error"):
        if marker not in real["text"]:
            assert marker not in fake["text"], f"fakeflow's {name} page shows {marker!r}"
    differing = {call: (fake["calls"][call], status) for call, status in real["calls"].items()
                 if call in fake["calls"] and fake["calls"][call] != status}
    assert not differing, f"API statuses differ (fakeflow, mlflow): {differing}"
    failing = {call: status for call, status in fake["calls"].items()
               if status >= 400 and call not in real["calls"]}
    assert not failing, f"calls that fail only on fakeflow: {failing}"
