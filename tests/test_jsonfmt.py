"""The fast indented writer must be byte-identical to json.dumps(indent=2)."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from fakeflow.web.jsonfmt import dumps_indented

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(documents)
def test_matches_json_dumps_indent_2(document):
    assert dumps_indented(document) == json.dumps(document, indent=2)


def test_empty_containers_and_specials():
    document = {"a": {}, "b": [], "c": [1.5, -0.0, 1e308, float("nan"), float("-inf")], "d": "é\n"}
    assert dumps_indented(document) == json.dumps(document, indent=2)
