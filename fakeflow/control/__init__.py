"""The control plane: reset, seed, snapshots, the request log and fault injection.

``ControlledApp`` wraps a ``FakeflowApp`` as WSGI middleware, so the MLflow-faithful core never
sees control traffic. Everything is reachable from Python (``app.reset()``, ``app.fail(...)``) and
over HTTP under the reserved prefix ``/_fakeflow`` (for fakes running in another process):

=======  ===============================  ===========================================================
GET      /_fakeflow/health                ``{"status": "ok"}``
POST     /_fakeflow/reset                 body ``{"seed": 7}`` optional: empty store, log and faults
POST     /_fakeflow/seed                  body ``{"seed": 7}`` (or null): reseed run ids and names
GET      /_fakeflow/state                 the snapshot (``fakeflow.state.snapshot``)
PUT      /_fakeflow/state                 replace the state with the snapshot in the body
GET      /_fakeflow/requests              the request log; DELETE clears it
GET      /_fakeflow/faults                pending faults; POST adds one; DELETE clears them
GET      /_fakeflow/webhook-deliveries    webhook deliveries made or withheld; DELETE clears them
=======  ===============================  ===========================================================

The control plane obeys the same Host and origin rules as the MLflow API (see
``fakeflow.web.security``): a foreign ``Host`` or a write from a foreign web origin gets
MLflow's 403, and a write with a body must say ``Content-Type: application/json`` (415
otherwise). Every body is checked completely before anything changes.
"""

from fakeflow.control.faults import Fault, Faults
from fakeflow.control.middleware import (
    CONTROL_PREFIX,
    ENV_CLIENT_TIMEOUT,
    ENV_TIMED_OUT,
    ControlledApp,
    create_controlled_app,
    create_server,
)
from fakeflow.control.request_log import LoggedRequest, RequestLog
from fakeflow.control.routes import route_matches

__all__ = ["CONTROL_PREFIX", "ControlledApp", "ENV_CLIENT_TIMEOUT", "ENV_TIMED_OUT", "Fault",
           "Faults", "LoggedRequest", "RequestLog", "create_controlled_app", "create_server",
           "route_matches"]
