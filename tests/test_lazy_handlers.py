"""Domain handler modules load on their first request, not when the app is built."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from fakeflow.web.lazy_handlers import LazyHandler, handlers
from fakeflow.web.routes import all_routes

_SCRIPT = textwrap.dedent("""
    import sys
    from fakeflow.web.app import create_app
    app = create_app()
    print(sorted(m for m in sys.modules if m.endswith("_handlers") and "lazy" not in m))
""")


def _loaded_after(script: str) -> str:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_building_the_app_imports_only_the_service_handlers() -> None:
    assert _loaded_after(_SCRIPT).strip() == "['fakeflow.web.service_handlers']"


def test_first_request_loads_its_module_and_answers() -> None:
    script = textwrap.dedent("""
        import sys
        from werkzeug.test import Client
        from fakeflow.web.app import create_app
        client = Client(create_app())
        answer = client.get("/api/2.0/mlflow/experiments/get", query_string={"experiment_id": "0"})
        print(answer.status_code, "fakeflow.web.tracking_handlers" in sys.modules,
              "fakeflow.web.trace_handlers" in sys.modules)
    """)
    assert _loaded_after(script).split() == ["200", "True", "False"]


def test_every_lazy_route_names_a_real_function() -> None:
    for route in all_routes():
        if isinstance(route.handler, LazyHandler):
            assert callable(route.handler.resolve()), route


def test_one_handler_object_per_name_and_identity_kept() -> None:
    module = handlers("fakeflow.web.tracking_handlers")
    first = module.get_run
    assert module.get_run is first
    assert (first.__module__, first.__name__) == ("fakeflow.web.tracking_handlers", "get_run")
