"""Benchmarks for fakeflow: throughput against bare Werkzeug and real MLflow, startup, memory.

Run ``python -m benchmarks.bench_core --help`` from the repository root.
"""
