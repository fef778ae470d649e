"""Integer tables of a Laplace density with a fractional mean, for integer latents.

:mod:`.conditional` codes ``round(y - mu)`` with zero-mean tables, so the mean shifts the
*latent*. A model whose latents are integers by construction (an overfitted codec optimises
``y_hat`` itself, Ladune et al., "COOL-CHIC", ICCV 2023) needs the opposite: the latent
stays an integer and the mean shifts the *density*,

    P(v | mu, s) = F((v + 1/2 - mu) / s) - F((v - 1/2 - mu) / s),   F the Laplace CDF.

With ``mu`` on a grid of ``1 / PHASES`` and ``mu = c + d``, ``c`` the nearest integer and
``|d| <= 1/2``, the symbol ``v - c`` has the density of mean ``d``; ``d < 0`` is the mirror
image of ``-d``, so ``PHASES / 2 + 1`` tables per scale cover every mean
(:func:`centre_and_phase`). Scales use a :class:`~.tables.ScaleGrid`.

Table ``(k, p)`` (scale ``s_k``, mean ``d = p / PHASES``) covers ``|v| <= R_k = ceil(Z s_k) + 1``
with ``Z = 12`` (Laplace tail ``e^-12 / 2 < 2^-18``) plus an escape entry, and is built from
the integer tail function of :mod:`.fixed_point` and :func:`.tables.quantize_pmf`, so every
machine holds the same frequencies. Frequencies sum to ``2^16`` (:data:`.rans.PRECISION`).

Layout, for the coder of :mod:`.rans`: ``cdf[first[t] + i]`` is the start of entry ``i`` of
table ``t`` (``count[t] + 1`` values from 0 to ``2^16``); entry ``i`` is the value
``offset[t] + i``, the last entry the escape.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from codeclab.entropy import fixed_point as fp
from codeclab.entropy.rans import PRECISION
from codeclab.entropy.tables import ScaleGrid, quantize_pmf

#: Tail point of the tables, in scales.
Z_MAX = 12


@dataclass(frozen=True)
class ShiftedTables:
    """Concatenated CDF tables (module docstring), ``table = scale_index * per_scale + phase``."""

    cdf: np.ndarray  # int64
    first: np.ndarray  # int64
    count: np.ndarray  # int64, entries including the escape
    offset: np.ndarray  # int64, value of entry 0
    grid: ScaleGrid
    phases: int

    @property
    def per_scale(self) -> int:
        return self.phases // 2 + 1

    def table_index(self, scale_index: np.ndarray, phase: np.ndarray) -> np.ndarray:
        return np.asarray(scale_index, np.int64) * self.per_scale + np.asarray(phase, np.int64)


def centre_and_phase(mean_steps: np.ndarray, phases: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means ``m / phases`` (integers ``m``) -> (centre ``c``, phase ``|d| phases``, sign of ``d``).

    ``c = floor((m + phases/2) / phases)`` so ``d = m / phases - c`` lies in ``[-1/2, 1/2)``;
    the symbol is ``sign * (v - c)`` with sign -1 when ``d < 0``.
    """
    m = np.asarray(mean_steps, np.int64)
    centre = np.floor_divide(m + phases // 2, phases)
    d = m - centre * phases
    return centre, np.abs(d), np.where(d < 0, -1, 1)


def _edge_cdf(num: np.ndarray, den: int, scale_q64: int) -> np.ndarray:
    """F(num / den / s) of the unit Laplace in Q64, integers only."""
    z = (np.abs(num).astype(object) << (2 * fp.FRAC)) // (den * scale_q64)
    q = fp.laplace_tail(z)
    return np.where(num < 0, q, fp.ONE - q)


@functools.lru_cache(maxsize=4)
def shifted_laplace_tables(grid: ScaleGrid = ScaleGrid(8, -32, 40), phases: int = 8) -> ShiftedTables:
    """All tables of ``grid`` x mean phases ``0 .. phases / 2`` (integer arithmetic; cached)."""
    if phases < 2 or phases % 2:
        raise ValueError("phases must be even and >= 2")
    cdfs, firsts, counts, offsets, at = [], [], [], [], 0
    for s in grid.scales_q64():
        reach = -((-Z_MAX * s) // fp.ONE) + 1
        j = np.arange(-reach, reach + 2, dtype=np.int64)  # edges j - 1/2 - d of the bins v = -R..R
        for p in range(phases // 2 + 1):
            edges = _edge_cdf((2 * j - 1) * phases - 2 * p, 2 * phases, s)
            masses = np.diff(edges)
            escape = edges[0] + (fp.ONE - edges[-1])
            freq = quantize_pmf(np.concatenate([np.maximum(masses, 0), [escape]]), PRECISION)
            cdfs.append(np.concatenate([[0], np.cumsum(freq)]))
            firsts.append(at)
            counts.append(freq.size)
            offsets.append(-reach)
            at += freq.size + 1
    return ShiftedTables(np.concatenate(cdfs).astype(np.int64), np.array(firsts, np.int64),
                         np.array(counts, np.int64), np.array(offsets, np.int64), grid, phases)
