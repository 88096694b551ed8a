"""The known-divergences file: each allowed difference between two targets, with its reason.

Format (JSON)::

    {"divergences": [
        {"operation": "create_experiment", "path": ".body.message",
         "reason": "why this difference is acceptable"}
    ]}

``operation`` and ``path`` are ``fnmatch`` patterns over the operation name and the JSON path
of a leaf difference (as printed in reports). Any difference not matched fails the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("known_divergences.json")


@dataclass(frozen=True)
class KnownDivergence:
    operation: str
    path: str
    reason: str

    def matches(self, operation: str, path: str) -> bool:
        return fnmatchcase(operation, self.operation) and fnmatchcase(path, self.path)


def load(path: str | Path | None = None) -> list[KnownDivergence]:
    """Read the file; every entry must give a non-empty reason."""
    file = Path(path) if path else DEFAULT_FILE
    if not file.exists():
        return []
    data = json.loads(file.read_text())
    out = []
    for i, entry in enumerate(data.get("divergences", [])):
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"{file}: divergence #{i} has no reason")
        out.append(KnownDivergence(entry["operation"], entry["path"], reason))
    return out
