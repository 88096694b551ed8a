"""Search over in-memory entities with MLflow's filter/order_by/page-token semantics.

``runs.search_runs``, ``experiments.search_experiments``, ``registry`` (registered models and
model versions), ``paging`` (page tokens). Nothing is
imported here, so that starting a server does not pay for the parser until the first search.
"""
