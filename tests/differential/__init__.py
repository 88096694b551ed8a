"""Differential testing of fakeflow against a real MLflow 3.17.2 server.

* ``catalogue/`` — named request sequences (``Case``/``Step``, see ``model.py``); later steps
  refer to ids captured from earlier answers with ``${var}``.
* ``harness.py`` — runs a case on two servers in lockstep (step *i* on both, then *i+1*),
  each side substituting its own captured ids.
* ``normalise.py`` / ``compare.py`` — what is masked (generated ids, server clocks, random run
  names, unordered lists) and how answers are compared (status, media type, error fields,
  parsed JSON).

Entry points::

    pytest tests/test_differential.py                  # real MLflow (started or $FAKEFLOW_REAL_MLFLOW_URL) vs fakeflow
    python -m tests.differential.record --target URL --out FILE     # dump every request/answer of one server
    python -m tests.differential.diff --expected URL --actual inprocess [--out FILE]
    python -m tests.differential.diff --expected URL --actual URL   # self-check: normalisation is stable
"""
