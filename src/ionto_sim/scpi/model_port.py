"""What the simulated instruments need from the shared physical model.

``ionto_sim.model.PhysicalModel`` (the board simulator's
model, ``SimulatedBoardServer.model``) satisfies it; so can a test double.
"""

from __future__ import annotations

import random
from typing import Protocol

from ..model import Load, ModelSnapshot
from .instrument import SimInstrument


class BenchModel(Protocol):
    def snapshot(self) -> ModelSnapshot: ...

    def set_load(self, load: Load) -> None: ...


def noisy(rng: random.Random, value: float, sigma: float) -> float:
    """``value`` plus Gaussian noise of standard deviation ``sigma`` (0 gives ``value``)."""
    return value + rng.gauss(0.0, sigma) if sigma > 0 else value


class ModelInstrument(SimInstrument):
    """A simulated instrument that measures the shared model, with its own seeded noise."""

    def __init__(self, model: BenchModel, seed: int | None = None) -> None:
        super().__init__()
        self.model = model
        self._rng = random.Random(seed)
        self.reset()
