"""Encoder presets of the overfitted codec: how long it optimises, and the networks' sizes.

Kept apart from :mod:`.encoder` (which needs torch) so that listing the codecs and
checking ``--effort`` import nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from codeclab.learned.overfit.architecture import Architecture


@dataclass(frozen=True)
class Effort:
    """An encoder preset: how long the optimisation runs, and the networks' sizes.

    ``starts`` random starts of ``warmup`` steps each pick the initial networks where the
    package has no prior for the architecture (:mod:`.prior`); with a prior those steps go
    to the main run, so :attr:`total_iterations` (the encode time) is the same either way.

    ``final`` iterations of hard rounding (step 3) are off in the presets: at these
    iteration budgets they did not lower the loss on Kodak (the note of the issue that
    built this codec gives the runs).
    """

    name: str
    iterations: int
    starts: int = 3
    warmup: int = 60
    final: int = 0
    learning_rate: float = 1e-2
    architecture: Architecture = Architecture()

    @property
    def total_iterations(self) -> int:
        warmup = self.starts * self.warmup if self.starts > 1 else 0
        return warmup + self.iterations + self.final


#: fast: about 3 minutes per Kodak picture on one CPU thread; medium and slow: 5x and 20x longer.
EFFORTS = {
    "fast": Effort("fast", iterations=820),
    "medium": Effort("medium", iterations=2800, starts=3, warmup=100),
    "slow": Effort("slow", iterations=12000, starts=4, warmup=150),
}


def effort_of(effort: str | int | Effort) -> Effort:
    """A preset by name, or the fast preset with ``effort`` main iterations."""
    if isinstance(effort, Effort):
        return effort
    if isinstance(effort, int) or (isinstance(effort, str) and effort.isdigit()):
        return replace(EFFORTS["fast"], name=str(int(effort)), iterations=max(int(effort), 1))
    if effort not in EFFORTS:
        raise ValueError(f"unknown effort {effort!r}; choose from {', '.join(EFFORTS)} or an iteration count")
    return EFFORTS[effort]
