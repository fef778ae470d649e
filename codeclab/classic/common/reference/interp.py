"""HEVC fractional sample interpolation and the default (unweighted) uni- and bi-prediction.

A motion vector points between samples: luma vectors count quarter samples, chroma vectors
(4:2:0) eighth samples. The prediction at such a position is a separable FIR interpolation
of the reference picture, in integers, bit-exact with H.265 §8.5.3.3.3.

Filters (each row sums to 64, i.e. 6 fractional bits of gain):

- luma, 8 taps at positions ``xInt - 3 .. xInt + 4`` (§8.5.3.3.3.1, Table 8-12)::

      frac 1/4:  -1  4 -10 58 17  -5  1  0
      frac 2/4:  -1  4 -11 40 40 -11  4 -1
      frac 3/4:   0  1  -5 17 58 -10  4 -1

- chroma, 4 taps at positions ``xInt - 1 .. xInt + 2`` (§8.5.3.3.3.2, Table 8-13)::

      1/8: -2 58 10 -2    2/8: -4 54 16 -2    3/8: -6 46 28 -4    4/8: -4 36 36 -4
      5/8: -4 28 46 -6    6/8: -2 16 54 -4    7/8: -2 10 58 -2

Positions: for a block at ``(x, y)`` and a vector ``mv`` with ``F`` fractional bits
(F = 2 luma, F = 3 chroma 4:2:0)::

    xInt = x + (mv_x >> F) + j,    xFrac = mv_x & (2^F - 1)    (same for y)

and every reference coordinate is clipped to the picture, ``Clip3(0, W - 1, .)``: outside the
picture the reference is its border samples replicated (§8.5.3.3.3.1, eq. 8-228 and 8-229).

Precision (§8.5.3.3.3.1): with ``B`` the bit depth, ``shift1 = min(4, B - 8)``, ``shift2 = 6``,
``shift3 = max(2, 14 - B)``, the standard distinguishes four cases::

    both integer:    pred = ref[xInt, yInt] << shift3
    horizontal only: pred = (sum_i f[xFrac][i] ref[xInt + i - c, yInt]) >> shift1
    vertical only:   pred = (sum_i f[yFrac][i] ref[xInt, yInt + i - c]) >> shift1
    both:            temp[n] = (sum_i f[xFrac][i] ref[xInt + i - c, yInt + n - c]) >> shift1
                     pred    = (sum_i f[yFrac][i] temp[i]) >> shift2

(``c`` = 3 luma, 1 chroma). The result is the 14-bit intermediate ``predSamples`` (signed: the
negative taps overshoot at edges). The four cases are one computation here: with the integer
position written as the filter ``64 delta`` (row 0 of each table), the horizontal-then-vertical
form reproduces every case exactly, because ``64 t >> 6 = t`` and
``(S << (6 - shift1)) >> 6 = S >> shift1`` for any integer ``S`` and ``shift1 <= 4``, and
``6 - shift1 = shift3`` for 8 <= B <= 14. So every block is "filter rows, then filter columns".

Final samples, default weighted sample prediction (§8.5.3.3.4.2)::

    uni: Clip3(0, 2^B - 1, (pred + offset1) >> shift1),   shift1 = 14 - B, offset1 = 2^(shift1-1)
    bi:  Clip3(0, 2^B - 1, (p0 + p1 + offset2) >> shift2), shift2 = 15 - B, offset2 = 2^(shift2-1)

(offset1 = 0 when shift1 = 0, i.e. B = 14).

Every function takes one block position or N of them (1-D tensors, blocks of one size), and
gathers the N reference windows at once; all arithmetic is int64, so results are exact and
identical on every machine.
"""

from __future__ import annotations

import torch

from codeclab.classic.common.tables import CHROMA_FILTER_TAPS, LUMA_FILTER_TAPS

LUMA_FRAC_BITS = 2
CHROMA_FRAC_BITS = 3

LUMA_FILTERS = torch.tensor(LUMA_FILTER_TAPS, dtype=torch.int64)
CHROMA_FILTERS = torch.tensor(CHROMA_FILTER_TAPS, dtype=torch.int64)

INTERMEDIATE_BITS = 14
MIN_BIT_DEPTH, MAX_BIT_DEPTH = 8, 14


def _check_bit_depth(bit_depth: int) -> None:
    if not MIN_BIT_DEPTH <= bit_depth <= MAX_BIT_DEPTH:
        raise ValueError(
            f"bit depth must be {MIN_BIT_DEPTH}..{MAX_BIT_DEPTH}, got {bit_depth}"
        )


def _as_positions(*values: int | torch.Tensor) -> tuple[list[torch.Tensor], bool]:
    """Turn ints or 1-D tensors into int64 tensors of one length N; report if all were scalars."""
    tensors = [torch.as_tensor(v, dtype=torch.int64) for v in values]
    scalar = all(t.dim() == 0 for t in tensors)
    if any(t.dim() > 1 for t in tensors):
        raise ValueError("block positions and motion vectors are ints or 1-D tensors")
    tensors = list(torch.broadcast_tensors(*(t.reshape(-1) for t in tensors)))
    return tensors, scalar


def padded_window(
    ref: torch.Tensor, x: int | torch.Tensor, y: int | torch.Tensor, w: int, h: int
) -> torch.Tensor:
    """The ``h x w`` reference samples whose top-left is ``(x, y)``, with replicate padding.

    ``window[n, j, i] = ref[Clip3(0, H - 1, y[n] + j), Clip3(0, W - 1, x[n] + i)]``
    (H.265 eq. 8-228/8-229: reference coordinates are clipped to the picture). ``x``, ``y``
    are ints (result ``(h, w)``) or 1-D tensors of N positions (result ``(N, h, w)``).
    """
    if ref.dim() != 2:
        raise ValueError(
            f"a reference picture is a 2-D (H, W) tensor, got shape {tuple(ref.shape)}"
        )
    (xs, ys), scalar = _as_positions(x, y)
    height, width = ref.shape
    rows = (ys[:, None] + torch.arange(h)).clamp(0, height - 1)
    cols = (xs[:, None] + torch.arange(w)).clamp(0, width - 1)
    window = ref[rows[:, :, None], cols[:, None, :]]
    return window[0] if scalar else window


def _filter_rows(
    samples: torch.Tensor, taps: torch.Tensor, out_width: int
) -> torch.Tensor:
    """``out[n, r, j] = sum_i taps[n, i] * samples[n, r, j + i]`` (a FIR along the last axis)."""
    acc = torch.zeros(samples.shape[0], samples.shape[1], out_width, dtype=torch.int64)
    for i in range(taps.shape[1]):
        acc += taps[:, i, None, None] * samples[:, :, i : i + out_width]
    return acc


def _fractional_prediction(
    ref: torch.Tensor,
    x: int | torch.Tensor,
    y: int | torch.Tensor,
    w: int,
    h: int,
    mv_x: int | torch.Tensor,
    mv_y: int | torch.Tensor,
    bit_depth: int,
    filters: torch.Tensor,
    frac_bits: int,
) -> torch.Tensor:
    """The 14-bit ``predSamples`` of §8.5.3.3.3 for a filter table with ``frac_bits`` bits."""
    _check_bit_depth(bit_depth)
    if w <= 0 or h <= 0:
        raise ValueError(f"block size must be positive, got {w}x{h}")
    (xs, ys, mvx, mvy), scalar = _as_positions(x, y, mv_x, mv_y)
    num_taps = filters.shape[1]
    centre = (
        num_taps // 2 - 1
    )  # tap index of the integer sample: 3 for luma, 1 for chroma
    frac_mask = (1 << frac_bits) - 1
    # Arithmetic >> and & split a negative vector correctly: -1 = -1 * 4 + 3 quarter samples.
    x_int, x_frac = xs + (mvx >> frac_bits), mvx & frac_mask
    y_int, y_frac = ys + (mvy >> frac_bits), mvy & frac_mask

    window = padded_window(
        ref.to(torch.int64),
        x_int - centre,
        y_int - centre,
        w + num_taps - 1,
        h + num_taps - 1,
    )
    shift1 = min(4, bit_depth - 8)
    shift2 = 6
    temp = _filter_rows(window, filters[x_frac], w) >> shift1  # (N, h + taps - 1, w)
    pred = (
        _filter_rows(temp.transpose(1, 2), filters[y_frac], h).transpose(1, 2) >> shift2
    )
    pred = pred.to(torch.int32)
    return pred[0] if scalar else pred


def luma_prediction(
    ref: torch.Tensor,
    x: int | torch.Tensor,
    y: int | torch.Tensor,
    w: int,
    h: int,
    mv_x: int | torch.Tensor,
    mv_y: int | torch.Tensor,
    bit_depth: int = 8,
) -> torch.Tensor:
    """Luma ``predSamplesLX`` (14-bit intermediate) of a ``w x h`` block, H.265 §8.5.3.3.3.1.

    ``ref`` is the (H, W) reference luma plane; ``(x, y)`` the block's top-left sample;
    ``(mv_x, mv_y)`` the motion vector in quarter samples. 8-tap filters of Table 8-12,
    reference coordinates clipped to the picture. Positions and vectors may be 1-D tensors of
    N blocks; the result is ``(h, w)`` or ``(N, h, w)`` int32. Pass it to :func:`uni_pred` or
    :func:`bi_pred` for samples.
    """
    return _fractional_prediction(
        ref, x, y, w, h, mv_x, mv_y, bit_depth, LUMA_FILTERS, LUMA_FRAC_BITS
    )


def chroma_prediction(
    ref: torch.Tensor,
    x: int | torch.Tensor,
    y: int | torch.Tensor,
    w: int,
    h: int,
    mv_x: int | torch.Tensor,
    mv_y: int | torch.Tensor,
    bit_depth: int = 8,
) -> torch.Tensor:
    """Chroma ``predSamplesLX`` (14-bit intermediate) of a ``w x h`` block, H.265 §8.5.3.3.3.2.

    ``ref`` is one (H, W) reference chroma plane; ``(x, y)`` the block's top-left in chroma
    samples; ``(mv_x, mv_y)`` the chroma vector in eighth samples. For 4:2:0 that is the luma
    quarter-sample vector unchanged (``mvC = mv * 2 / SubWidthC``, eq. 8-210/8-211). 4-tap
    filters of Table 8-13, reference coordinates clipped to the picture. Shapes as in
    :func:`luma_prediction`.
    """
    return _fractional_prediction(
        ref, x, y, w, h, mv_x, mv_y, bit_depth, CHROMA_FILTERS, CHROMA_FRAC_BITS
    )


def uni_pred(pred14: torch.Tensor, bit_depth: int = 8) -> torch.Tensor:
    """Samples from one prediction, default weighted sample prediction (§8.5.3.3.4.2).

    ``Clip3(0, 2^B - 1, (pred14 + offset1) >> shift1)`` with ``shift1 = 14 - B`` and
    ``offset1 = 2^(shift1 - 1)`` (0 when ``shift1 = 0``). Returns int32.
    """
    _check_bit_depth(bit_depth)
    shift = INTERMEDIATE_BITS - bit_depth
    offset = (1 << shift) >> 1
    samples = (pred14.to(torch.int64) + offset) >> shift
    return samples.clamp(0, (1 << bit_depth) - 1).to(torch.int32)


def bi_pred(
    pred0: torch.Tensor, pred1: torch.Tensor, bit_depth: int = 8
) -> torch.Tensor:
    """Samples from two predictions, their rounded average (§8.5.3.3.4.2, default weights).

    ``Clip3(0, 2^B - 1, (pred0 + pred1 + offset2) >> shift2)`` with ``shift2 = 15 - B`` and
    ``offset2 = 2^(shift2 - 1)``. Returns int32.
    """
    _check_bit_depth(bit_depth)
    shift = INTERMEDIATE_BITS + 1 - bit_depth
    offset = 1 << (shift - 1)
    samples = (pred0.to(torch.int64) + pred1.to(torch.int64) + offset) >> shift
    return samples.clamp(0, (1 << bit_depth) - 1).to(torch.int32)
