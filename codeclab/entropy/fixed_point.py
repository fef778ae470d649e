"""Integer-only special functions: the arithmetic behind bit-exact probability tables.

A decoder can only invert what the encoder did if both use *identical* CDF tables. Floating
point ``exp``/``erf`` come from the platform's maths library and may differ in the last bit
between machines, so the tables of :mod:`.tables` are computed here with Python integers
in fixed point (``Q64``: the integer ``x`` stands for ``x / 2^64``). Integer arithmetic is
exact and the same everywhere, so every machine builds the very same tables.

Functions take NumPy *object* arrays of Python ints (or plain ints) and work elementwise:

* :func:`exp_neg` -- e^-t by range reduction t = n ln2 + r, 0 <= r < ln2, and a Taylor
  series of e^-r (Horner), then a shift by n;
* :func:`gaussian_tail` -- Q(z) = P(Z > z) for Z ~ N(0, 1), z >= 0:

    z < 3:   Q(z) = 1/2 - phi(z) * sum_{n>=0} z^(2n+1) / (1 * 3 * ... * (2n+1))
             (all terms positive; Abramowitz & Stegun 26.2.11)
    z >= 3:  Q(z) = phi(z) / (z + 1/(z + 2/(z + 3/(z + ...))))
             (Laplace's continued fraction for Mills' ratio, A&S 26.2.14, 40 levels)

  with phi(z) = e^(-z^2/2) / sqrt(2 pi); absolute error below 1e-15 (tested);
* :func:`laplace_tail` -- Q(z) = e^-z / 2;  :func:`logistic_tail` -- Q(z) = 1 / (1 + e^z);
* :func:`pow2_fraction` -- 2^(m / 2^d) by d integer square roots (``math.isqrt``).

The two irrational constants are integer literals (checked against ``math`` in the tests).
"""

from __future__ import annotations

import math

import numpy as np

#: Fraction bits of the fixed-point numbers.
FRAC = 64
#: 1.0 in Q64.
ONE = 1 << FRAC
#: round(ln 2 * 2^64).
LN2 = 12786308645202655660
#: round(2^64 / sqrt(2 pi)).
INV_SQRT_2PI = 7359186146747302452

_EXP_TERMS = 24  # r^24 / 24! < 2^-70 for r < ln 2
_SERIES_SPLIT = 3  # series below, continued fraction above
_CF_DEPTH = 40
_Z_MAX = 10  # Q(10) < 2^-75: zero at any table precision


def _as_objects(x) -> np.ndarray:
    return np.array(x, dtype=object) if not isinstance(x, np.ndarray) else x.astype(object)


def exp_neg(t):
    """e^-t in Q64 for t >= 0 in Q64 (elementwise over an object array)."""
    t = _as_objects(t)
    n = t // LN2
    r = t - n * LN2
    acc = np.full(t.shape, ONE, dtype=object)
    for i in range(_EXP_TERMS, 0, -1):  # e^-r = 1 - r (1 - r/2 (1 - r/3 (...)))
        acc = ONE - (r * acc) // (i * ONE)
    return acc >> n


def gaussian_tail(z):
    """Q(z) = 1 - Phi(z) in Q64 for z >= 0 in Q64."""
    z = _as_objects(z)
    q = np.zeros(z.shape, dtype=object)
    low = np.flatnonzero(z < _SERIES_SPLIT * ONE)
    high = np.flatnonzero((z >= _SERIES_SPLIT * ONE) & (z < _Z_MAX * ONE))
    if low.size:
        zl = z[low]
        z2 = (zl * zl) >> FRAC
        phi = (exp_neg(z2 >> 1) * INV_SQRT_2PI) >> FRAC
        term, total = zl.copy(), zl.copy()
        active = np.arange(zl.size)
        n = 0
        while active.size:  # stops once every term has underflowed to 0
            n += 1
            term[active] = (term[active] * z2[active]) // ((2 * n + 1) * ONE)
            total[active] += term[active]
            active = active[term[active] != 0]
        q[low] = (ONE >> 1) - ((phi * total) >> FRAC)
    if high.size:
        zh = z[high]
        phi = (exp_neg(((zh * zh) >> FRAC) >> 1) * INV_SQRT_2PI) >> FRAC
        f = zh.copy()
        for k in range(_CF_DEPTH, 0, -1):
            f = zh + (k * ONE * ONE) // f
        q[high] = (phi * ONE) // f
    return q


def laplace_tail(z):
    """Q(z) = e^-z / 2 for the unit Laplace density e^-|x| / 2, z >= 0 in Q64."""
    return exp_neg(_as_objects(z)) >> 1


def logistic_tail(z):
    """Q(z) = 1 / (1 + e^z) = e^-z / (1 + e^-z) for the unit logistic, z >= 0 in Q64."""
    e = exp_neg(_as_objects(z))
    return (e * ONE) // (ONE + e)


def pow2_fraction(m: int, log2_den: int) -> int:
    """floor(2^(m / 2^log2_den) * 2^64), exactly, via ``log2_den`` integer square roots.

    floor(sqrt(floor(sqrt(x)))) = floor(x^(1/4)), so nesting ``math.isqrt`` gives the
    floor of the 2^d-th root of 2^(m + 64 * 2^d).
    """
    exponent = m + FRAC * (1 << log2_den)
    if exponent < 0:
        raise ValueError("pow2_fraction: value below 2^-64")
    x = 1 << exponent
    for _ in range(log2_den):
        x = math.isqrt(x)
    return x


def to_float(x) -> np.ndarray:
    """Q64 integers -> float64 (correctly rounded int -> float, then an exact scaling)."""
    return np.array([float(v) for v in np.ravel(_as_objects(x))], dtype=np.float64) * 2.0 ** -FRAC
