"""The differential normaliser on page tokens (no servers): tokens compare by what they encode,
with the ids inside them mapped like the ids in any answer."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.differential.normalise import Normaliser, decode_page_token


def _token(payload: Any, **dumps: Any) -> str:
    return base64.b64encode(json.dumps(payload, **dumps).encode()).decode()


def _logged_model_token(experiment_ids: list[str], offset: int, filter_string: str | None = None) -> str:
    """Shaped as MLflow 3.17.2 encodes a logged-model search token (field order included)."""
    return _token({"experiment_ids": experiment_ids, "filter_string": filter_string,
                   "order_by": None, "offset": offset})


EXPERIMENT_IDS = st.lists(st.integers(1, 10**6).map(str), min_size=1, max_size=4, unique=True)


@given(real_ids=EXPERIMENT_IDS, shift=st.integers(1, 1000), offset=st.integers(1, 10**6))
def test_experiment_ids_inside_tokens_map_to_the_same_placeholders(
        real_ids: list[str], shift: int, offset: int) -> None:
    fake_ids = [str(int(i) + shift) for i in real_ids]  # the other server numbers them otherwise
    real, fake = Normaliser(""), Normaliser("")
    for side, ids in ((real, real_ids), (fake, fake_ids)):
        side.normalise({"experiment_id": ids[0]})  # learnt from an earlier answer
    got_real = real.normalise({"next_page_token": _logged_model_token(real_ids, offset)})
    got_fake = fake.normalise({"next_page_token": _logged_model_token(fake_ids, offset)})
    assert got_real == got_fake
    assert got_real["next_page_token"].startswith('<page-token {"experiment_ids": ["<exp:1>"')
    assert f'"offset": {offset}}}>' in got_real["next_page_token"]


@given(ids=EXPERIMENT_IDS, offsets=st.lists(st.integers(1, 10**6), min_size=2, max_size=2, unique=True))
def test_tokens_for_different_pages_still_differ(ids: list[str], offsets: list[int]) -> None:
    first, second = (Normaliser("").normalise({"next_page_token": _logged_model_token(ids, o)})
                     for o in offsets)
    assert first != second


def test_ids_first_seen_in_a_token_are_learnt() -> None:
    n = Normaliser("")
    body = n.normalise({"next_page_token": _logged_model_token(["41", "7"], 2)})
    assert body["next_page_token"] == (
        '<page-token {"experiment_ids": ["<exp:1>", "<exp:2>"], "filter_string": null, '
        '"order_by": null, "offset": 2}>')
    assert n.normalise({"experiment_id": "7"}) == {"experiment_id": "<exp:2>"}


def test_offset_tokens_and_their_encoding_are_compared() -> None:
    """A registry/run-search token: the offset and the object's field order are kept."""
    n = Normaliser("")
    token = _token({"offset": 2})
    assert n.normalise({"next_page_token": token}) == {"next_page_token": '<page-token {"offset": 2}>'}
    swapped = n.normalise({"next_page_token": _token({"b": 1, "offset": 2})})
    reordered = n.normalise({"next_page_token": _token({"offset": 2, "b": 1})})
    assert swapped != reordered


@given(st.one_of(st.sampled_from(["garbage!", "bm90IGpzb24=", "WzFd", "", "%%%", "é"]),
                 st.text(max_size=20)))
def test_tokens_that_encode_no_object_stay_text(text: str) -> None:
    if decode_page_token(text) is None:
        assert Normaliser("").normalise({"page_token": text}) == {"page_token": text}


def test_experiment_id_lists_in_token_mismatch_messages() -> None:
    n = Normaliser("")
    n.normalise({"experiment_id": "12"})
    n.normalise({"experiment_id": "13"})
    message = ("Experiment IDs in the page token do not match the requested experiment IDs. "
               "Expected: ['12', '13']. Found: ['13']")
    assert n.normalise({"message": message})["message"].endswith(
        "Expected: ['<exp:1>', '<exp:2>']. Found: ['<exp:2>']")


@given(real_id=st.integers(1, 10**6), fake_id=st.integers(1, 10**6), zeros=st.integers(0, 3))
def test_experiment_ids_sent_with_leading_zeros_map_alike(real_id: int, fake_id: int, zeros: int) -> None:
    # CI saw "No Experiment with id=0709" against "id=0163": the same "0${e1}" sent to both.
    answers = []
    for raw in (str(real_id), str(fake_id)):
        side = Normaliser("")
        side.normalise({"experiment_id": raw})
        answers.append(side.normalise({"message": f"No Experiment with id={'0' * zeros}{raw}"}))
    assert answers[0] == answers[1] == {"message": f"No Experiment with id={'0' * zeros}<exp:1>"}
