"""Search over in-memory entities with MLflow's filter/order_by/page-token semantics."""

from fakeflow.search.experiments import search_experiments
from fakeflow.search.paging import decode_offset_token, encode_offset_token, paginate
from fakeflow.search.runs import search_runs

__all__ = [
    "decode_offset_token",
    "encode_offset_token",
    "paginate",
    "search_experiments",
    "search_runs",
]
