"""Compatibility name for the waiver file (``known_divergences.json`` is one waiver file).

See ``conformance.waivers`` for the format; ``{"divergences": [...]}`` is still read.
"""

from __future__ import annotations

from .waivers import DEFAULT_FILE, Waiver, load

KnownDivergence = Waiver

__all__ = ["DEFAULT_FILE", "KnownDivergence", "Waiver", "load"]
