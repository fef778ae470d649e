"""Integer CDF tables for learned entropy models, and the scale grid that indexes them.

An entropy coder needs, for every symbol, a probability table in integers: here
``freq[v] >= 1`` with ``sum(freq) = 2^PRECISION`` (``PRECISION = 24``, the precision of
constriction's default models) over an alphabet ``offset .. offset + length - 2`` plus
one *escape* entry (the last) that stands for every value outside it.

Conditional models (Gaussian, Laplace, logistic with a predicted scale) cannot have a table
per real-valued scale, so scales are quantized to a **log grid**

    s_k = 2^(k / 16),  k = -52 .. 128   (0.105 .. 256; 181 tables)

and a scale ``s`` uses the table of the nearest grid point in log scale: ``index(s) =
#{thresholds t_k < s}`` with the geometric midpoints ``t_k = 2^((2k + 1) / 32)`` as
float32 constants (comparisons are exact, so the index is the same on every machine for
the same float32 scale). Coding N(0, s) with N(0, s_k) costs the Kullback-Leibler
divergence ~ (ln(s_k / s))^2 nats per symbol, and with the log error uniform in
+-ln2 / 32 its mean is (ln2 / 16)^2 / 12 = 1.6e-4 nats = 2.3e-4 bit per symbol: ~0.01% at
2.6 bit/symbol. ``benchmarks/entropy.py`` measures the whole path (grid + 24-bit tables +
stream overhead) at +0.010% (scales up to 16) and +0.006% (up to 256) over the exact-scale
ideal, where CompressAI's 64 scales, rounded down to a table entry, cost +0.23%.

Table ``k`` covers ``|v| <= R_k = ceil(z_max * s_k)`` with ``z_max`` where the tail mass is
~2^-27 (5.7 for the Gaussian, 18 for Laplace, 19 for the logistic); the bin masses

    P(0) = 1 - 2 Q(1/2 / s),  P(+-j) = Q((j - 1/2) / s) - Q((j + 1/2) / s),
    P(escape) = 2 Q((R + 1/2) / s)

come from the integer tail functions of :mod:`.fixed_point` in Q64 and are rounded to
frequencies by :func:`quantize_pmf` with integer arithmetic only. So ``update()`` builds
the same tables on every machine, bit for bit, from nothing but the grid definition.

Tables of *learned* densities (the factorized prior) come from a network in floating point;
they are built once by ``update()`` and then travel with the weights (state-dict buffers),
so decoders never recompute them.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field

import numpy as np

from codeclab.entropy import fixed_point as fp
from codeclab.kernels import kernel

#: Bits of probability resolution: frequencies sum to 2^PRECISION.
PRECISION = 24

#: Tail point z_max (as a fraction) of each parametric family, and its integer tail Q(z).
FAMILIES = {
    "gaussian": ((57, 10), fp.gaussian_tail),
    "laplace": ((18, 1), fp.laplace_tail),
    "logistic": ((19, 1), fp.logistic_tail),
}


def quantize_pmf(pmf, precision: int = PRECISION) -> np.ndarray:
    """Integer masses (any non-negative ints, not all 0) -> frequencies >= 1 summing to 2^precision.

    Every entry gets 1, the remaining ``2^precision - n`` is shared in proportion to the
    masses (floor), and what the floors left over goes, one each, to the entries with the
    largest remainders (ties: lower index). Integer arithmetic only.
    """
    pmf = np.array(pmf, dtype=object).ravel()
    n = pmf.size
    free = (1 << precision) - n
    if n < 2 or free < 0:
        raise ValueError(f"cannot quantize {n} masses to {precision} bits")
    total = int(pmf.sum())
    if total <= 0 or any(int(p) < 0 for p in pmf):
        raise ValueError("masses must be non-negative with a positive sum")
    scaled = pmf * free
    freq = 1 + scaled // total
    remainder = scaled % total
    left = (1 << precision) - int(freq.sum())
    if left:
        order = sorted(range(n), key=lambda i: (-int(remainder[i]), i))[:left]
        freq[order] += 1
    return freq.astype(np.int64)


@dataclass(frozen=True)
class ScaleGrid:
    """Log-spaced scales ``s_k = 2^(k / steps_per_octave)``, ``k_min <= k <= k_max``."""

    steps_per_octave: int = 16
    k_min: int = -52
    k_max: int = 128

    def __post_init__(self) -> None:
        if self.steps_per_octave not in (1, 2, 4, 8, 16, 32, 64):
            raise ValueError("steps_per_octave must be a power of two up to 64")
        if not -(64 * self.steps_per_octave) < self.k_min < self.k_max <= 16 * self.steps_per_octave:
            raise ValueError("grid must lie within (2^-64, 2^16]")

    @property
    def size(self) -> int:
        return self.k_max - self.k_min + 1

    def scales_q64(self) -> list[int]:
        """Grid scales in Q64, exact floors of 2^(k / steps)."""
        d = self.steps_per_octave.bit_length() - 1
        return [fp.pow2_fraction(k, d) for k in range(self.k_min, self.k_max + 1)]

    def scales(self) -> np.ndarray:
        """Grid scales as float64 (for display and likelihoods)."""
        return fp.to_float(self.scales_q64())

    @functools.cached_property
    def thresholds(self) -> np.ndarray:
        """float32 geometric midpoints 2^((2k + 1) / (2 steps)) between neighbouring scales."""
        d = self.steps_per_octave.bit_length()  # one more square root: half steps
        mids = [fp.pow2_fraction(2 * k + 1, d) for k in range(self.k_min, self.k_max)]
        return fp.to_float(mids).astype(np.float32)

    def index(self, scales):
        """Grid index ``#{thresholds < s}`` of each scale (tensor or array, taken as float32).

        A float log2 guesses the index; exact comparisons with the neighbouring thresholds
        settle it, so the result never depends on how log2 rounds.
        """
        import torch

        is_tensor = isinstance(scales, torch.Tensor)
        s = scales.detach().cpu().float().numpy() if is_tensor else np.asarray(scales, dtype=np.float32)
        j = _grid_index(np.ascontiguousarray(s).reshape(-1), self.thresholds,
                        self.steps_per_octave, self.k_min).reshape(s.shape)
        j = j.astype(np.int16 if self.size < 32768 else np.int32)
        return torch.from_numpy(j) if is_tensor else j


@kernel
def _grid_index(scales, thresholds, steps, k_min):
    last = thresholds.shape[0]  # = grid size - 1
    out = np.empty(scales.shape[0], dtype=np.int64)
    for i in range(scales.shape[0]):
        s = scales[i]
        if not s > 0:  # zero, negative or NaN: the smallest scale
            out[i] = 0
            continue
        if s > thresholds[last - 1]:  # also catches +inf before log2
            out[i] = last
            continue
        j = min(max(int(np.round(np.log2(np.float64(s)) * steps)) - k_min, 0), last)
        while j > 0 and s <= thresholds[j - 1]:
            j -= 1
        while j < last and s > thresholds[j]:
            j += 1
        out[i] = j
    return out


@dataclass(eq=False)
class CdfTables:
    """A set of integer frequency tables, concatenated.

    Table ``i`` holds ``freqs[starts[i] : starts[i] + lengths[i]]`` for the values
    ``offsets[i] .. offsets[i] + lengths[i] - 2``; its last entry is the escape.
    """

    freqs: np.ndarray  # int64, each table sums to 2^PRECISION
    starts: np.ndarray  # int64
    lengths: np.ndarray  # int64, alphabet size including the escape entry
    offsets: np.ndarray  # int64, smallest value in the table
    precision: int = PRECISION
    _models: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in ("freqs", "starts", "lengths", "offsets"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.int64))

    @classmethod
    def from_list(cls, tables: list[np.ndarray], offsets, precision: int = PRECISION) -> CdfTables:
        lengths = np.array([len(t) for t in tables], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(np.concatenate(tables), starts, lengths, np.asarray(offsets), precision)

    def __len__(self) -> int:
        return int(self.lengths.size)

    def table(self, i: int) -> np.ndarray:
        return self.freqs[self.starts[i]: self.starts[i] + self.lengths[i]]

    @functools.cached_property
    def fingerprint(self) -> int:
        """CRC-32 of the tables: a stream records it, so decoding with other tables fails."""
        crc = 0
        for a in (self.freqs, self.lengths, self.offsets):
            crc = zlib.crc32(a.astype("<i8").tobytes(), crc)
        return crc ^ self.precision

    def model(self, i: int):
        """The constriction model of table ``i`` (built on first use, then cached).

        ``constriction.stream.model.Categorical(w, perfect=False)`` starts symbol ``j`` at
        the cumulative ``floor(W_j * scale) + j``, with ``W_j = w_0 + ... + w_(j-1)`` and
        ``scale = (2^24 - n) / sum(w)`` (its ``fast_quantized_cdf``). With ``w = freq - 1``,
        ``sum(w) = 2^24 - n`` and ``scale = 1.0`` exactly, so every quantity is an exact
        integer in float64 and the coder's probabilities are exactly ``freq / 2^24``.
        """
        m = self._models.get(i)
        if m is None:
            import constriction

            if self.precision != 24:
                raise ValueError("constriction's default models need PRECISION = 24")
            weights = (self.table(i) - 1).astype(np.float64)
            m = constriction.stream.model.Categorical(weights, perfect=False)
            self._models[i] = m
        return m

    def ideal_bits(self, values: np.ndarray, indexes: np.ndarray) -> float:
        """sum of -log2(freq / 2^precision) of ``values`` coded with tables ``indexes``
        (escapes counted at their table cost only)."""
        idx = np.asarray(indexes, dtype=np.int64).ravel()
        u = np.asarray(values, dtype=np.int64).ravel() - self.offsets[idx]
        esc = (u < 0) | (u >= self.lengths[idx] - 1)
        u[esc] = self.lengths[idx][esc] - 1
        f = self.freqs[self.starts[idx] + u]
        return float(self.precision * u.size - np.log2(f).sum())


def _tail_extent(z_num: int, z_den: int, scale_q64: int) -> int:
    """R = ceil(z_max * s) in integers."""
    return max(1, -((-z_num * scale_q64) // (z_den * fp.ONE)))


@functools.lru_cache(maxsize=8)
def parametric_tables(family: str = "gaussian", grid: ScaleGrid = ScaleGrid()) -> CdfTables:
    """Tables of a zero-mean ``family`` density at every scale of ``grid`` (integer math).

    For scale s and half-integer points b = j + 1/2, z = b / s is formed in Q64 and the
    masses follow from the tail function (module docstring). Cached per process.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {sorted(FAMILIES)}")
    (z_num, z_den), tail = FAMILIES[family]
    scales = grid.scales_q64()
    extents = [_tail_extent(z_num, z_den, s) for s in scales]
    # All tail points of all tables in one vectorised evaluation: z = (2j + 1) / (2 s).
    points = []
    for s, r in zip(scales, extents):
        j = np.arange(r + 1, dtype=object)
        points.append(((2 * j + 1) << (2 * fp.FRAC - 1)) // s)
    q_all = tail(np.concatenate(points))
    tables, offsets, at = [], [], 0
    for r in extents:
        q = q_all[at: at + r + 1]
        at += r + 1
        side = np.maximum(q[:-1] - q[1:], 0)  # masses of 1..R (monotone up to rounding)
        centre = fp.ONE - 2 * q[0]
        pmf = np.concatenate([side[::-1], [centre], side, [2 * q[-1]]])
        tables.append(quantize_pmf(pmf))
        offsets.append(-r)
    return CdfTables.from_list(tables, offsets)
