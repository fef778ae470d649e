"""Bjøntegaard delta rate (BD-rate) and delta quality (BD-PSNR) between two RD curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", ITU-T SG16
VCEG-M33, 2001. Each curve is a few (rate, quality) points of one codec; quality is PSNR in
dB, or MS-SSIM in dB (:func:`codeclab.eval.metrics.ms_ssim_db`): these functions only need
"higher is better".

BD-rate, the mean relative rate difference at equal quality::

    r(D)     = ln(rate) interpolated as a function of quality D, for each curve
    [lo, hi] = [max(min D_ref, min D_test), min(max D_ref, max D_test)]   overlap only
    dR       = 1 / (hi - lo) * integral_lo^hi (r_test(D) - r_ref(D)) dD
    BD-rate  = (exp(dR) - 1) * 100 %         negative: the test codec saves bits

BD-quality swaps the axes: D interpolated as a function of ln(rate), the mean difference
``D_test - D_ref`` over the overlapping log-rate interval, in D's unit (dB for BD-PSNR).

Two interpolations, both integrated exactly:

* ``"pchip"`` - piecewise cubic Hermite through the points with monotone slopes (Fritsch &
  Carlson, SIAM J. Numer. Anal. 17(2), 1980; scipy's ``PchipInterpolator``). It follows
  the points and cannot overshoot between them, so one odd point cannot bend the whole
  curve: the yardstick's primary number.
* ``"cubic"`` - VCEG-M33's original: one least-squares cubic polynomial through all points
  (``numpy.polyfit``, degree 3), integrated analytically.

This is exactly the computation of ``shared/anchors/measure_classic.py`` that produced
``shared/anchors/bdrate.txt``, with checks added: a curve with repeated or non-finite
values, or two curves that do not overlap, raise ValueError instead of returning NaN.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# Re-exported: a BD-rate on MS-SSIM is computed on its dB scale, bd_rate(r, ms_ssim_db(m), ...).
from codeclab.eval.metrics import ms_ssim_db

__all__ = ["METHODS", "MIN_POINTS", "bd_quality", "bd_rate", "ms_ssim_db", "overlap"]

METHODS = ("pchip", "cubic")

#: Fewest points an interpolation can use: a cubic fit needs four, pchip a segment.
MIN_POINTS = {"pchip": 2, "cubic": 4}


def _sorted_curve(x: Sequence[float], y: Sequence[float], method: str,
                  x_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked float64 arrays of one curve, sorted by strictly increasing ``x``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"a curve needs two 1-D sequences of equal length, got shapes "
                         f"{x.shape} and {y.shape}")
    if len(x) < MIN_POINTS[method]:
        raise ValueError(f"{method} BD needs at least {MIN_POINTS[method]} points per curve, "
                         f"got {len(x)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("curve values must be finite (drop lossless points with infinite PSNR)")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"{x_name} must be strictly monotone along a curve, "
                         f"got repeated values in {x.tolist()}")
    return x, y


def _log_rate(rate: Sequence[float]) -> np.ndarray:
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(~(rate > 0)):
        raise ValueError(f"rates must be positive, got {rate.tolist()}")
    return np.log(rate)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown BD interpolation {method!r}; choose one of {METHODS}")


def overlap(x_ref: Sequence[float], x_test: Sequence[float]) -> tuple[float, float]:
    """The common interval ``[max of minima, min of maxima]`` of two curves' abscissae.

    Raises ValueError when it is empty or a single point: the curves do not overlap.
    """
    lo = max(float(np.min(x_ref)), float(np.min(x_test)))
    hi = min(float(np.max(x_ref)), float(np.max(x_test)))
    if not hi > lo:
        raise ValueError(f"the curves do not overlap: [{np.min(x_ref):.4g}, {np.max(x_ref):.4g}] "
                         f"vs [{np.min(x_test):.4g}, {np.max(x_test):.4g}]")
    return lo, hi


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Exact integral over [lo, hi] of the interpolant of the points (x, y)."""
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(x, y).integrate(lo, hi))
    antiderivative = np.polyint(np.polyfit(x, y, 3))
    return float(np.polyval(antiderivative, hi) - np.polyval(antiderivative, lo))


def _mean_gap(x_ref: np.ndarray, y_ref: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              method: str) -> float:
    """Mean of ``y_test(x) - y_ref(x)`` over the overlap of the two curves' x ranges."""
    lo, hi = overlap(x_ref, x_test)
    gap = _integral(x_test, y_test, lo, hi, method) - _integral(x_ref, y_ref, lo, hi, method)
    return gap / (hi - lo)


def bd_rate(rate_ref: Sequence[float], dist_ref: Sequence[float],
            rate_test: Sequence[float], dist_test: Sequence[float],
            method: str = "pchip") -> float:
    """BD-rate in percent of the test curve against the reference curve.

    Args:
        rate_ref, dist_ref: the reference codec's points: rates (bpp, kbit/s, bytes: any
            positive unit, the same for both curves) and qualities (PSNR dB, MS-SSIM dB).
        rate_test, dist_test: the tested codec's points, in the same units.
        method: ``"pchip"`` or ``"cubic"`` (see the module docstring).

    Returns:
        ``(exp(mean log-rate difference) - 1) * 100``; -50.0 means half the bits.
    """
    _check_method(method)
    q_ref, r_ref = _sorted_curve(dist_ref, _log_rate(rate_ref), method, "quality")
    q_test, r_test = _sorted_curve(dist_test, _log_rate(rate_test), method, "quality")
    return float(np.expm1(_mean_gap(q_ref, r_ref, q_test, r_test, method)) * 100.0)


def bd_quality(rate_ref: Sequence[float], dist_ref: Sequence[float],
               rate_test: Sequence[float], dist_test: Sequence[float],
               method: str = "pchip") -> float:
    """BD-quality (BD-PSNR for PSNR inputs): the mean quality gain of the test curve at
    equal rate, in the quality's unit. Arguments as in :func:`bd_rate`; positive is better.
    """
    _check_method(method)
    r_ref, q_ref = _sorted_curve(_log_rate(rate_ref), dist_ref, method, "rate")
    r_test, q_test = _sorted_curve(_log_rate(rate_test), dist_test, method, "rate")
    return _mean_gap(r_ref, q_ref, r_test, q_test, method)
