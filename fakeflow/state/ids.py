"""Clocks, ids and random names — injectable and seedable so tests and snapshots are repeatable."""

from __future__ import annotations

import random
import time
import uuid

_ADJECTIVES = (
    "amber agile bold brave bright brisk calm caring clever cool crisp curious daring eager "
    "fancy fearless gentle glad golden graceful happy hardy honest humble jolly keen kind lively "
    "loyal lucky merry mighty modest neat nimble noble polite proud quick quiet rare rosy "
    "shiny silent smart snappy sunny swift tidy tough upbeat vivid warm wise witty zesty"
).split()
_ANIMALS = (
    "ant ape bat bear bee bird boar carp cat colt crab crow deer dog dove duck eel elk "
    "finch fish foal fox frog gnat goat goose gull hare hawk hen heron horse jay koala lamb "
    "lark lion loon lynx mole moth mouse mule newt owl ox panda perch pig pony pug ram rat "
    "robin seal shark sheep slug snail squid stork swan toad trout wasp whale wolf worm yak"
).split()


class Clock:
    """Milliseconds since the epoch; replace ``now_ms`` to freeze or script time."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class IdFactory:
    """Run ids (32 hex chars, like uuid4().hex) and run names (adjective-animal-NNN).

    Unseeded it uses the OS's randomness; seeded, the same sequence every time.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._random = random.Random(seed) if seed is not None else None

    def getstate(self) -> object:
        """Where a seeded sequence stands, so that a refused request can put back what it drew."""
        return None if self._random is None else self._random.getstate()

    def setstate(self, state: object) -> None:
        if state is not None and self._random is not None:
            self._random.setstate(state)  # type: ignore[arg-type]

    def hex_id(self) -> str:
        if self._random is None:
            return uuid.uuid4().hex
        return uuid.UUID(int=self._random.getrandbits(128), version=4).hex

    def run_name(self) -> str:
        rng = self._random or random
        # Same shape and range as MLflow's names (the number is 0..1000 inclusive); like MLflow,
        # draw again a few times before truncating a name longer than 20 characters.
        name = ""
        for _ in range(10):
            name = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_ANIMALS)}-{rng.randint(0, 1000)}"
            if len(name) <= 20:
                return name
        return name[:20]
