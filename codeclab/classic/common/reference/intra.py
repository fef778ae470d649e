"""HEVC intra prediction: reference samples, smoothing, planar, DC, 33 angles, MPM coding.

A block of n x n samples is predicted from the ``4n + 1`` reconstructed samples around it:
the column to its left (2n samples, reaching below the block), the corner, and the row above
(2n samples, reaching past its right edge). This module keeps them in one array, in the order
of the substitution process of H.265 §8.4.4.2.2 (bottom-left up, then left to right)::

    index:   0 .. 2n-1             2n          2n+1 .. 4n
    sample:  p[-1][2n-1] .. p[-1][0]   p[-1][-1]   p[0][-1] .. p[2n-1][-1]
             (left column, upwards)    (corner)    (top row, rightwards)

In this order the standard's three reference steps are one-dimensional:

- substitution (§8.4.4.2.2): a sample that is not available (outside the picture, or not
  decoded yet) copies the nearest available one before it; before the first available sample
  they copy that one; with none at all every sample is ``1 << (B - 1)``;
- smoothing (§8.4.4.2.3): the ``[1 2 1] / 4`` filter along the array, both ends kept, for
  luma (and 4:4:4 chroma) blocks whose mode is far enough from horizontal and vertical
  (``min(|m - 26|, |m - 10|) > intraHorVerDistThres[n]``, thresholds 7, 1, 0 for n = 8, 16, 32;
  never for n = 4 or DC); a flat 32x32 luma neighbourhood instead gets the strong
  (bi-linear) smoothing, a straight line from the corner to each far end;
- horizontal modes are vertical modes on the array reversed (left and top swap places),
  transposed: mode ``m < 18`` predicts like mode ``36 - m``.

The 35 modes (§8.4.4.2.4 to §8.4.4.2.6), with ``p`` the (smoothed) references and
``pred[y][x]`` row y, column x:

- 0 planar: ``((n-1-x) p[-1][y] + (x+1) p[n][-1] + (n-1-y) p[x][-1] + (y+1) p[-1][n] + n)
  >> (log2n + 1)``, the average of a horizontal and a vertical linear interpolation;
- 1 DC: the mean of the n top and n left samples; for luma n < 32 the first row and column
  are blended with their neighbours (``(p + 3 dc + 2) >> 2``, corner ``(l + 2 dc + t + 2) >> 2``);
- 2..34 angular: each row y of a vertical mode (18..34) is the reference row shifted by
  ``(y + 1) * intraPredAngle / 32`` samples, linearly interpolated at 1/32 sample::

      i = ((y+1) * A) >> 5,  f = ((y+1) * A) & 31
      pred[y][x] = ((32 - f) * ref[x + i + 1] + f * ref[x + i + 2] + 16) >> 5

  with ``A = intraPredAngle[m]``; for negative angles the reference row is extended to the
  left with left-column samples picked by ``invAngle`` (``ref[x] = p[-1][-1 + ((x * invAngle +
  128) >> 8)]``). Modes 10 and 26 on luma n < 32 add the gradient of the other edge to their
  first column/row (the boundary filter).

The positions and weights of an angular mode depend only on (mode, n), so they are tabulated
once per size; predicting is then one gather of two references plus a weighted sum, for any
number of blocks and modes at once.

MPM (§8.4.2) and chroma mode derivation (§8.4.3) are here too, as small pure functions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from codeclab.classic.common.tables import INTRA_HOR_VER_DIST_THRES, INTRA_PRED_ANGLE  # noqa: F401 (part of this module's interface)

PLANAR, DC, HORIZONTAL, DIAGONAL, VERTICAL = 0, 1, 10, 18, 26
NUM_MODES = 35
BLOCK_SIZES = (4, 8, 16, 32)

#: INTRA_PRED_ANGLE, INTRA_HOR_VER_DIST_THRES: :mod:`codeclab.classic.common.tables`.
#: invAngle = round(256 * 32 / intraPredAngle) for the negative angles, modes 11..25 (Table 8-5).
INV_ANGLE = {
    11: -4096, 12: -1638, 13: -910, 14: -630, 15: -482, 16: -390, 17: -315, 18: -256,
    19: -315, 20: -390, 21: -482, 22: -630, 23: -910, 24: -1638, 25: -4096,
}  # fmt: skip

#: intra_chroma_pred_mode 0..3 -> mode (Table 8-2); 4 is DM, the luma mode itself.
CHROMA_MODES = (PLANAR, VERTICAL, HORIZONTAL, DC)
DM_CHROMA = 4


# -- reference samples -----------------------------------------------------------------------


def _check_size(n: int) -> None:
    if n not in BLOCK_SIZES:
        raise ValueError(f"HEVC intra blocks are 4, 8, 16 or 32 samples wide, not {n}")


@cache
def reference_positions(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets ``(dx, dy)`` of the 4n+1 reference samples from the block's top-left sample."""
    k = torch.arange(4 * n + 1)
    dx = torch.where(k < 2 * n, -1, k - 2 * n - 1)
    dy = torch.where(k < 2 * n, 2 * n - 1 - k, -1)
    return dx, dy


def neighbouring_samples(
    plane: torch.Tensor,
    decoded: torch.Tensor,
    x: int | torch.Tensor,
    y: int | torch.Tensor,
    n: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 4n+1 neighbours of n x n blocks at (x, y) and whether each is available (§6.4.1).

    Args:
        plane: ``(H, W)`` integer plane of reconstructed samples (before deblocking).
        decoded: ``(H, W)`` bool map, True where the sample is already reconstructed. In a
            picture coded as one slice this is exactly the z-scan availability of §6.4.1: a
            neighbour is available when it lies inside the picture and precedes the block in
            decoding order.
        x, y: top-left corners (ints, or 1-D tensors of N blocks).
        n: block size.

    Returns:
        ``(samples, available)``: int32 ``(N, 4n+1)`` in the order of the module docstring,
        and bool ``(N, 4n+1)``.
    """
    height, width = plane.shape
    dx, dy = reference_positions(n)
    xs = torch.as_tensor(x, dtype=torch.int64).reshape(-1, 1) + dx.to(plane.device)
    ys = torch.as_tensor(y, dtype=torch.int64).reshape(-1, 1) + dy.to(plane.device)
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    xs, ys = xs.clamp(0, width - 1), ys.clamp(0, height - 1)
    return plane[ys, xs].to(torch.int32), inside & decoded[ys, xs]


def substitute_references(
    samples: torch.Tensor, available: torch.Tensor, bit_depth: int = 8
) -> torch.Tensor:
    """Replace unavailable reference samples (H.265 §8.4.4.2.2).

    Walking the array from index 0 (bottom-left) to 4n (top-right), an unavailable sample
    takes the value of the previous one; if the very first is unavailable it takes the first
    available value; if none is available all become ``1 << (B - 1)``.

    Args:
        samples: ``(N, 4n+1)`` integer samples (values at unavailable places are ignored).
        available: ``(N, 4n+1)`` bool.
        bit_depth: sample bit depth B.
    """
    position = torch.arange(samples.shape[-1], device=samples.device)
    # Index of the nearest available sample at or before each position (-1 if none yet).
    last_available = torch.cummax(torch.where(available, position, -1), dim=-1).values
    first_available = available.to(torch.int8).argmax(dim=-1, keepdim=True)
    source = torch.where(last_available >= 0, last_available, first_available)
    refs = samples.gather(-1, source).to(torch.int32)
    nothing = ~available.any(dim=-1, keepdim=True)
    return torch.where(nothing, torch.full_like(refs, 1 << (bit_depth - 1)), refs)


def reference_samples(
    plane: torch.Tensor,
    decoded: torch.Tensor,
    x: int | torch.Tensor,
    y: int | torch.Tensor,
    n: int,
    bit_depth: int = 8,
) -> torch.Tensor:
    """Reference samples ready for prediction: :func:`neighbouring_samples` + substitution.

    Returns int32 ``(N, 4n+1)``; smoothing depends on the mode and happens in :func:`predict`.
    """
    _check_size(n)
    samples, available = neighbouring_samples(plane, decoded, x, y, n)
    if bool(available.all()):  # the common case inside a picture: nothing to substitute
        return samples
    return substitute_references(samples, available, bit_depth)


def smoothing_flag(mode: int, n: int) -> bool:
    """filterFlag of §8.4.4.2.3: whether mode ``mode`` on an n x n block smooths its references."""
    if n == 4 or mode == DC:
        return False
    return min(abs(mode - VERTICAL), abs(mode - HORIZONTAL)) > INTRA_HOR_VER_DIST_THRES[n]


def smooth_references(
    refs: torch.Tensor, n: int, bit_depth: int = 8, strong: bool = False
) -> torch.Tensor:
    """Filter reference samples (H.265 §8.4.4.2.3), for every block of the batch.

    ``[1 2 1] / 4`` along the array, first and last sample unchanged. With ``strong`` (luma,
    ``strong_intra_smoothing_enabled_flag``) a 32x32 block whose neighbourhood is nearly
    linear, ``|corner + end - 2 * middle| < 1 << (B - 5)`` on both sides, gets instead the
    straight lines from the corner to the two far ends::

        left  (index i = 0..64):    (i * corner + (64 - i) * bottom_left + 32) >> 6
        top   (index i = 64..128):  ((128 - i) * corner + (i - 64) * top_right + 32) >> 6
    """
    smoothed = refs.clone()
    smoothed[:, 1:-1] = (refs[:, :-2] + 2 * refs[:, 1:-1] + refs[:, 2:] + 2) >> 2
    if not (strong and n == 32):
        return smoothed
    corner, bottom_left, top_right = refs[:, 64:65], refs[:, :1], refs[:, 128:]
    threshold = 1 << (bit_depth - 5)
    flat_top = (corner + top_right - 2 * refs[:, 96:97]).abs() < threshold
    flat_left = (corner + bottom_left - 2 * refs[:, 32:33]).abs() < threshold
    i = torch.arange(129, device=refs.device, dtype=refs.dtype)
    lines = torch.where(
        i <= 64,
        (i * corner + (64 - i) * bottom_left + 32) >> 6,
        ((128 - i) * corner + (i - 64) * top_right + 32) >> 6,
    )
    return torch.where(flat_top & flat_left, lines, smoothed)


# -- prediction ------------------------------------------------------------------------------


@cache
def _angular_tables(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For every mode, the two reference indices and the weight of each of the n*n samples.

    Returns ``(first, second, fraction)``, each ``(35, n*n)`` (int64 indices, int32 weights),
    rows 0 and 1 (planar, DC) unused::

        pred = ((32 - fraction) * refs[first] + fraction * refs[second] + 16) >> 5
    """
    last = 4 * n
    y = np.arange(n)[:, None]
    x = np.arange(n)[None, :]

    def array_index(k: np.ndarray, inv_angle: int) -> np.ndarray:
        # ref[k] of a vertical mode: the top row for k >= 0 (ref[0] is the corner), the left
        # column projected by invAngle for k < 0.
        projected = 2 * n - ((k * inv_angle + 128) >> 8)
        return np.clip(np.where(k >= 0, 2 * n + k, projected), 0, last)

    first = np.zeros((NUM_MODES, n, n), dtype=np.int64)
    second = np.zeros_like(first)
    fraction = np.zeros_like(first)
    for mode in range(2, NUM_MODES):
        vertical = mode if mode >= DIAGONAL else 36 - mode
        angle = INTRA_PRED_ANGLE[vertical - 2]
        inv_angle = INV_ANGLE.get(vertical, 0)
        shift = (y + 1) * angle
        k = x + (shift >> 5) + 1
        i0, i1 = array_index(k, inv_angle), array_index(k + 1, inv_angle)
        f = np.broadcast_to(shift & 31, (n, n))
        if mode < DIAGONAL:
            # Horizontal: vertical mode 36 - m on the reversed array, transposed.
            i0, i1, f = last - i0.T, last - i1.T, f.T
        first[mode], second[mode], fraction[mode] = i0, i1, f
    flat = (NUM_MODES, n * n)
    return (
        torch.from_numpy(first.reshape(flat)),
        torch.from_numpy(second.reshape(flat)),
        torch.from_numpy(fraction.reshape(flat).astype(np.int32)),
    )


@cache
def _smoothing_table(n: int) -> torch.Tensor:
    return torch.tensor([smoothing_flag(mode, n) for mode in range(NUM_MODES)])


def _left(refs: torch.Tensor, n: int) -> torch.Tensor:
    """``p[-1][y]`` for ``y = 0..n-1`` (the left column beside the block, top to bottom)."""
    return refs[:, n : 2 * n].flip(1)


def _top(refs: torch.Tensor, n: int) -> torch.Tensor:
    """``p[x][-1]`` for ``x = 0..n-1`` (the row above the block, left to right)."""
    return refs[:, 2 * n + 1 : 3 * n + 1]


def _planar(refs: torch.Tensor, n: int) -> torch.Tensor:
    """Planar prediction (§8.4.4.2.4) of ``(N, n, n)`` from ``(N, 4n+1)`` references."""
    left = _left(refs, n).unsqueeze(2)  # a column
    top = _top(refs, n).unsqueeze(1)  # a row
    top_right = refs[:, 3 * n + 1].view(-1, 1, 1)  # p[n][-1]
    bottom_left = refs[:, n - 1].view(-1, 1, 1)  # p[-1][n]
    i = torch.arange(n, device=refs.device, dtype=refs.dtype)
    x, y = i.view(1, 1, n), i.view(1, n, 1)
    total = (n - 1 - x) * left + (x + 1) * top_right + (n - 1 - y) * top + (y + 1) * bottom_left
    return (total + n) >> (n.bit_length())  # log2(n) + 1


def _dc(refs: torch.Tensor, n: int, edge_filter: bool) -> torch.Tensor:
    """DC prediction (§8.4.4.2.5) with the luma edge filter when asked."""
    left, top = _left(refs, n), _top(refs, n)
    total = left.sum(1, dtype=torch.int32) + top.sum(1, dtype=torch.int32)
    dc = ((total + n) >> n.bit_length()).view(-1, 1, 1)
    pred = dc.expand(-1, n, n).clone()
    if edge_filter:
        pred[:, 0, 1:] = (top[:, 1:] + 3 * dc[:, 0] + 2) >> 2
        pred[:, 1:, 0] = (left[:, 1:] + 3 * dc[:, 0] + 2) >> 2
        pred[:, 0, 0] = (left[:, 0] + 2 * dc[:, 0, 0] + top[:, 0] + 2) >> 2
    return pred


def _predict_modes(
    refs: torch.Tensor,
    modes: torch.Tensor,
    n: int,
    is_luma: bool,
    chroma_444: bool,
    bit_depth: int,
    strong_smoothing: bool,
) -> torch.Tensor:
    """Predict ``(N, M, n, n)``: block b with each of its modes ``modes[b]`` (``(N, M)``)."""
    _check_size(n)
    refs = refs.to(torch.int32)
    count, length = refs.shape
    if length != 4 * n + 1:
        raise ValueError(f"an {n}x{n} block has {4 * n + 1} reference samples, got {length}")
    modes = modes.to(device=refs.device, dtype=torch.int64)
    if bool(((modes < 0) | (modes >= NUM_MODES)).any()):
        raise ValueError("intra modes are 0..34")

    # Smoothed references sit after the plain ones; a mode that smooths reads from there.
    if is_luma or chroma_444:
        smoothed = smooth_references(refs, n, bit_depth, strong=strong_smoothing and is_luma)
        source = torch.cat([refs, smoothed], dim=1)
        offset = _smoothing_table(n).to(refs.device)[modes] * length
        planar_refs = smoothed if smoothing_flag(PLANAR, n) else refs
    else:
        source, offset, planar_refs = refs, torch.zeros_like(modes), refs
    first, second, fraction = (t.to(refs.device)[modes] for t in _angular_tables(n))
    first, second = first + offset.unsqueeze(-1), second + offset.unsqueeze(-1)
    flat = (count, -1)
    a = source.gather(1, first.reshape(flat)).view_as(first)
    b = source.gather(1, second.reshape(flat)).view_as(second)
    f = fraction
    angular = (((32 - f) * a + f * b + 16) >> 5).view(count, -1, n, n)

    boundary_filters = is_luma and n < 32
    mode_grid = modes.view(count, -1, 1, 1)
    pred = torch.where(mode_grid == PLANAR, _planar(planar_refs, n).unsqueeze(1), angular)
    pred = torch.where(mode_grid == DC, _dc(refs, n, boundary_filters).unsqueeze(1), pred)
    if boundary_filters:
        # Modes 26 and 10 never smooth, so the plain references are the ones they used.
        max_value = (1 << bit_depth) - 1
        corner = refs[:, 2 * n : 2 * n + 1]
        left, top = _left(refs, n), _top(refs, n)
        first_column = (top[:, :1] + ((left - corner) >> 1)).clamp(0, max_value)
        first_row = (left[:, :1] + ((top - corner) >> 1)).clamp(0, max_value)
        is_vertical = (modes == VERTICAL).unsqueeze(-1)
        is_horizontal = (modes == HORIZONTAL).unsqueeze(-1)
        pred[..., :, 0] = torch.where(is_vertical, first_column.unsqueeze(1), pred[..., :, 0])
        pred[..., 0, :] = torch.where(is_horizontal, first_row.unsqueeze(1), pred[..., 0, :])
    return pred


def _predict_one_mode(
    refs: torch.Tensor,
    mode: int,
    n: int,
    is_luma: bool,
    chroma_444: bool,
    bit_depth: int,
    strong_smoothing: bool,
) -> torch.Tensor:
    """:func:`_predict_modes` for a single mode shared by all blocks, ``(N, n, n)``."""
    _check_size(n)
    refs = refs.to(torch.int32)
    if refs.shape[-1] != 4 * n + 1:
        raise ValueError(
            f"an {n}x{n} block has {4 * n + 1} reference samples, not {refs.shape[-1]}"
        )
    if not 0 <= mode < NUM_MODES:
        raise ValueError("intra modes are 0..34")
    boundary_filters = is_luma and n < 32
    if mode == DC:
        return _dc(refs, n, boundary_filters)
    source = refs
    if (is_luma or chroma_444) and smoothing_flag(mode, n):
        source = smooth_references(refs, n, bit_depth, strong=strong_smoothing and is_luma)
    if mode == PLANAR:
        return _planar(source, n)
    first, second, f = (t[mode].to(refs.device) for t in _angular_tables(n))
    pred = (((32 - f) * source[:, first] + f * source[:, second] + 16) >> 5).view(-1, n, n)
    if boundary_filters and mode in (VERTICAL, HORIZONTAL):
        corner = refs[:, 2 * n : 2 * n + 1]
        left, top = _left(refs, n), _top(refs, n)
        max_value = (1 << bit_depth) - 1
        if mode == VERTICAL:
            pred[:, :, 0] = (top[:, :1] + ((left - corner) >> 1)).clamp(0, max_value)
        else:
            pred[:, 0, :] = (left[:, :1] + ((top - corner) >> 1)).clamp(0, max_value)
    return pred


def predict(
    refs: torch.Tensor,
    mode: int | torch.Tensor,
    n: int,
    is_luma: bool = True,
    *,
    chroma_444: bool = False,
    bit_depth: int = 8,
    strong_smoothing: bool = True,
) -> torch.Tensor:
    """Intra prediction of N blocks, one mode each (H.265 §8.4.4.2.3 to §8.4.4.2.6).

    Args:
        refs: ``(N, 4n+1)`` substituted reference samples (:func:`reference_samples`).
        mode: one mode 0..34 for all blocks, or ``(N,)`` modes.
        n: block size (4, 8, 16, 32).
        is_luma: luma gets reference smoothing, strong smoothing and the boundary filters
            (DC edges, modes 10/26) of ``cIdx == 0``.
        chroma_444: chroma of a 4:4:4 picture (``ChromaArrayType == 3``) smooths its
            references like luma, without strong smoothing or boundary filters.
        bit_depth: sample bit depth B.
        strong_smoothing: ``strong_intra_smoothing_enabled_flag`` (HM default on).

    Returns:
        int32 ``(N, n, n)`` predictions, ``[b, y, x]``.
    """
    if isinstance(mode, int):  # one mode for all: compute that mode only (the decoder's case)
        return _predict_one_mode(refs, mode, n, is_luma, chroma_444, bit_depth, strong_smoothing)
    modes = torch.as_tensor(mode, dtype=torch.int64).reshape(-1).expand(refs.shape[0])
    pred = _predict_modes(
        refs, modes.unsqueeze(1), n, is_luma, chroma_444, bit_depth, strong_smoothing
    )
    return pred[:, 0]


def predict_all_modes(
    refs: torch.Tensor,
    n: int,
    is_luma: bool = True,
    *,
    chroma_444: bool = False,
    bit_depth: int = 8,
    strong_smoothing: bool = True,
) -> torch.Tensor:
    """All 35 predictions of N blocks at once, ``(N, 35, n, n)`` int32 (for SATD pre-selection).

    ``predict_all_modes(refs, n)[:, m]`` equals ``predict(refs, m, n)``; see :func:`predict`.
    """
    modes = torch.arange(NUM_MODES).expand(refs.shape[0], NUM_MODES)
    return _predict_modes(refs, modes, n, is_luma, chroma_444, bit_depth, strong_smoothing)


# -- mode coding -----------------------------------------------------------------------------


