"""ViewType -> lifecycle stages. Names or proto numbers; anything unknown means ACTIVE_ONLY,
which is what the server ends up with for unset or unrecognised enum values."""

from __future__ import annotations

from fakeflow.state.entities import ACTIVE, DELETED

_STAGES = {
    "ACTIVE_ONLY": frozenset({ACTIVE}),
    "DELETED_ONLY": frozenset({DELETED}),
    "ALL": frozenset({ACTIVE, DELETED}),
}
_BY_NUMBER = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}


def lifecycle_stages(view_type: str | int | None) -> frozenset[str]:
    if isinstance(view_type, int) and not isinstance(view_type, bool):
        view_type = _BY_NUMBER.get(view_type)
    if isinstance(view_type, str):
        return _STAGES.get(view_type, _STAGES["ACTIVE_ONLY"])
    return _STAGES["ACTIVE_ONLY"]
