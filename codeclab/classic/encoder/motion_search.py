"""Integer-sample motion estimation of a whole picture at once: a predictive search in torch.

Before the encoder decides anything, every 16x16 block of the picture gets an integer
vector into each reference picture: the one minimising

    J(mv) = SAD(block, reference moved by mv) + lambda_sad * R(mv - predictor)

with ``R`` an Exp-Golomb-like length of the difference in quarter samples and
``lambda_sad = sqrt(lambda)`` (HM's ``TEncSearch::xPatternSearch`` cost). The search is the
predictive "zonal" strategy of HM's TZ search and x264's UMH, but run for all N blocks of
a picture in lockstep, as batched tensor operations::

    1. predictors   zero, and the vectors the caller proposes (co-located motion of the
                    previous picture, the other reference's field scaled by distance)
    2. star         around the best: the points (0, +-d), (+-d, 0) for d = 1, 2, 4, ... up
                    to the search range and (+-d/2, +-d/2) for d = 2, 4, all evaluated at
                    once; again around the new best for the blocks that moved (3 rounds)
    3. diamond      the four neighbours (+-1, 0), (0, +-1) of the best, repeated for the
                    blocks that moved (a per-block "converged" mask: early termination)
    4. propagation  the current vectors of the four neighbouring blocks, then 3 again
                    (two rounds)

Each evaluation gathers the K candidate windows of the N blocks from the reference,
replicate-padded by the search range (the same picture a decoder's clipped reference
coordinates see), as one ``(N, K, 128)`` tensor: the SAD reads every other row. The per-CU refinement that follows
(:mod:`~codeclab.classic.encoder.inter`: around these vectors and the AMVP predictors, then half and quarter
samples with the HEVC filters) is scalar numba work per CU.
"""

from __future__ import annotations

import numpy as np
import torch

from codeclab.classic.common.syntax import MVP_IDX
from codeclab.classic.encoder.analysis import satd
from codeclab.classic.encoder.syntax import flag_bits, mvd_bits
from codeclab.entropy.rate import ONE_BIT
from codeclab.kernels import kernel

BLOCK = 16
SEARCH_RANGE = 64
MAX_DIAMOND_STEPS = 16
MAX_STAR_ROUNDS = 3
PROPAGATION_ROUNDS = 2


def mv_bits(diff: torch.Tensor) -> torch.Tensor:
    """Approximate bits of a vector difference in quarter samples, per component summed:
    1 for zero, else ``2 floor(log2 |d|) + 3`` (the abs_mvd flags, EG1 and sign of §7.3.8.9).
    Integers throughout, so that every machine makes the same choices."""
    magnitude = diff.abs()
    _, exponent = torch.frexp(magnitude.to(torch.float32))  # |d| = m 2^e, 1/2 <= m < 1: exact
    return torch.where(magnitude > 0, 2 * exponent.to(torch.int64) + 1, 1).sum(-1)


def _padded_reference(reference: torch.Tensor, height: int, width: int, margin: int) -> torch.Tensor:
    """The coded ``height x width`` reference with ``margin`` replicated samples on every side."""
    rows = (torch.arange(-margin, height + margin)).clamp(0, height - 1)
    cols = (torch.arange(-margin, width + margin)).clamp(0, width - 1)
    return reference[:height, :width].to(torch.int16)[rows[:, None], cols[None, :]].contiguous()


class _Blocks:
    """The blocks of the current picture and the gather arithmetic into the padded reference."""

    def __init__(self, current: torch.Tensor, reference: torch.Tensor, height: int, width: int,
                 block: int, search_range: int):
        self.rows, self.cols = -(-height // block), -(-width // block)
        self.block, self.range = block, search_range
        self.margin = search_range + block
        ref = _padded_reference(reference, height, width, self.margin)
        self.stride = ref.shape[1]
        self.ref = ref.reshape(-1)
        cur = _padded_reference(current, height, width, 0)
        rows = (torch.arange(self.rows * block)).clamp(max=height - 1)
        cols = (torch.arange(self.cols * block)).clamp(max=width - 1)
        cur = cur[rows[:, None], cols[None, :]]
        # (N, block^2): blocks in raster order.
        self.cur = cur.reshape(self.rows, block, self.cols, block).permute(0, 2, 1, 3).reshape(
            self.rows * self.cols, block * block)
        by, bx = torch.meshgrid(torch.arange(self.rows), torch.arange(self.cols), indexing="ij")
        self.origin = ((by.reshape(-1) * block + self.margin) * self.stride
                       + bx.reshape(-1) * block + self.margin)
        # The SAD reads every other row of a block: half the work, and still a faithful
        # ranking of candidate vectors (the CU search then measures exactly).
        i, j = torch.meshgrid(torch.arange(0, block, 2), torch.arange(block), indexing="ij")
        self.offsets = (i * self.stride + j).reshape(-1)
        self.cur = self.cur.reshape(-1, block, block)[:, ::2].reshape(len(self.cur), -1).contiguous()

    def sad(self, index: torch.Tensor, mv: torch.Tensor) -> torch.Tensor:
        """SAD of blocks ``index`` (n,) at candidate vectors ``mv`` (n, K, 2) -> (n, K)."""
        start = self.origin[index, None] + mv[..., 1] * self.stride + mv[..., 0]
        windows = self.ref[start[..., None] + self.offsets]
        return (windows - self.cur[index, None, :]).abs_().sum(-1, dtype=torch.int64)


def _neighbour_median(mv: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Median of the left, above and above-right vectors of each block (zero outside): the
    rate predictor, as in H.264's motion vector prediction."""
    field = mv.reshape(rows, cols, 2)
    padded = torch.zeros(rows + 1, cols + 2, 2, dtype=mv.dtype)
    padded[1:, 1:-1] = field
    left, above, above_right = padded[1:, :-2], padded[:-1, 1:-1], padded[:-1, 2:]
    return torch.stack([left, above, above_right]).median(0).values.reshape(-1, 2)


def integer_motion_search(current: torch.Tensor, reference: torch.Tensor, height: int, width: int,
                          sqrt_lambda: float, predictors: torch.Tensor | None = None,
                          block: int = BLOCK, search_range: int = SEARCH_RANGE,
                          wide: bool = True) -> torch.Tensor:
    """Integer vectors of every ``block`` x ``block`` block of ``current`` into ``reference``.

    Args:
        current, reference: luma planes (at least ``height x width``, the coded picture).
        sqrt_lambda: weight of the vector rate against the SAD.
        predictors: (rows, cols, P, 2) extra start vectors in integer samples, or None.
        wide: run the star search (step 2); without it the search only refines the
            predictors, enough when they come from a field already searched.

    Returns:
        int32 (rows, cols, 2) vectors (x, y) in integer samples, |component| <= search_range.
    """
    blocks = _Blocks(current, reference, height, width, block, search_range)
    n = blocks.rows * blocks.cols
    everyone = torch.arange(n)
    candidates = [torch.zeros(n, 1, 2, dtype=torch.int64)]
    if predictors is not None:
        candidates.append(predictors.reshape(n, -1, 2).to(torch.int64))
    start = torch.cat(candidates, 1).clamp(-search_range, search_range)
    rate_origin = torch.zeros(n, 2, dtype=torch.int64)

    # Costs in 1/16 of a SAD unit, integers: the same choices on every machine.
    weight = round(16 * sqrt_lambda)

    def cost(index, mv):
        rate = mv_bits(4 * (mv - rate_origin[index, None, :]))
        return 16 * blocks.sad(index, mv).to(torch.int64) + weight * rate

    def pick(index, mv, best_mv, best_cost):
        """Keep, per block, the cheapest of its candidates and its current best."""
        mv = mv.clamp(-search_range, search_range)
        costs = cost(index, mv)
        value, k = costs.min(1)
        better = value < best_cost[index]
        chosen = mv[torch.arange(len(index)), k]
        best_mv[index[better]] = chosen[better]
        best_cost[index[better]] = value[better]
        return index[better]

    # 1. Predictors.
    costs = cost(everyone, start)
    best_cost, k = costs.min(1)
    best_mv = start[everyone, k]
    rate_origin = _neighbour_median(best_mv, blocks.rows, blocks.cols)
    best_cost = cost(everyone, best_mv[:, None, :])[:, 0]
    # 2. Expanding star around the best predictor.
    star = []
    d = 1
    while d <= search_range:
        star += [(0, -d), (-d, 0), (d, 0), (0, d)]
        if 2 <= d <= 4:  # the diagonal points only near the centre
            star += [(-d // 2, -d // 2), (d // 2, -d // 2), (-d // 2, d // 2), (d // 2, d // 2)]
        d *= 2
    star = torch.tensor(star, dtype=torch.int64)
    active = everyone
    for _ in range(MAX_STAR_ROUNDS if wide else 0):  # again around the new best, for the blocks that moved
        if len(active) == 0:
            break
        active = pick(active, best_mv[active, None, :] + star, best_mv, best_cost)
    diamond = torch.tensor([(0, -1), (-1, 0), (1, 0), (0, 1)], dtype=torch.int64)

    def refine(active):
        # 3. Small diamond until no block moves (each block stops on its own).
        for _ in range(MAX_DIAMOND_STEPS):
            if len(active) == 0:
                break
            active = pick(active, best_mv[active, None, :] + diamond, best_mv, best_cost)

    refine(everyone)
    # 4. Propagation: try the neighbours' vectors, then refine the blocks that took one.
    for _ in range(PROPAGATION_ROUNDS):
        field = best_mv.reshape(blocks.rows, blocks.cols, 2)
        padded = torch.nn.functional.pad(field.permute(2, 0, 1)[None].float(), (1, 1, 1, 1),
                                         mode="replicate")[0].permute(1, 2, 0).long()
        neighbours = torch.stack([padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1],
                                  padded[2:, 1:-1]], 2).reshape(n, 4, 2)
        moved = pick(everyone, neighbours, best_mv, best_cost)
        refine(moved)
    return best_mv.reshape(blocks.rows, blocks.cols, 2).to(torch.int32)


#: Integer diamond steps of the per-CU refinement.
MAX_REFINE_STEPS = 8


@kernel
def integer_sad(S, ref, mvx, mvy, x, y, size):
    """SAD of the luma block at integer vector (mvx, mvy) (quarter units, multiples of 4)."""
    margin = S.inter.margin
    plane = S.inter.phases[ref, 0]
    rows, cols = plane.shape
    orig = S.orig[0]
    y0 = y + (mvy >> 2) + margin
    x0 = x + (mvx >> 2) + margin
    total = 0
    if y0 >= 0 and x0 >= 0 and y0 + size <= rows and x0 + size <= cols:
        for i in range(size):
            for j in range(size):
                total += abs(orig[y + i, x + j] - plane[y0 + i, x0 + j])
    else:
        for i in range(size):
            yy = min(max(y0 + i, 0), rows - 1)
            for j in range(size):
                total += abs(orig[y + i, x + j] - plane[yy, min(max(x0 + j, 0), cols - 1)])
    return total


# -------------------------------------------------------------------- motion search
@kernel
def mv_rate(S, mvx, mvy, predictors):
    """``(bits, mvp_idx)``: Q15 cost of coding (mvx, mvy) against the better predictor."""
    best, best_idx = 1 << 60, 0
    for i in range(2):
        bits = (mvd_bits(S.ctx, mvx - predictors[i, 0], mvy - predictors[i, 1])
                + flag_bits(S.ctx, MVP_IDX, i))
        if bits < best:
            best, best_idx = bits, i
    return best, best_idx


@kernel
def integer_search(S, cfg, x, y, size, ref, predictors):
    """Best integer vector of the CU (x, y, size) into reference ``ref``: ``(J, mvx, mvy)``
    with J = SAD + sqrt(lambda) R(mvd), vectors in quarter samples (multiples of 4)."""
    me = S.inter.me_mv[ref]
    rows, cols = me.shape[0], me.shape[1]
    lam = cfg.sqrt_lam / ONE_BIT
    best_cost, bx, by = np.inf, 0, 0
    # Start points: the block search's vectors under the CU, the predictors, zero.
    n_blocks = max(size >> 4, 1)
    count = n_blocks * n_blocks + 3
    for k in range(count):
        if k < n_blocks * n_blocks:
            v = min((y >> 4) + k // n_blocks, rows - 1)
            u = min((x >> 4) + k % n_blocks, cols - 1)
            cx, cy = 4 * me[v, u, 0], 4 * me[v, u, 1]
        elif k < n_blocks * n_blocks + 2:
            i = k - n_blocks * n_blocks
            cx, cy = (predictors[i, 0] + 2) & ~3, (predictors[i, 1] + 2) & ~3
        else:
            cx, cy = 0, 0
        if (k > 0 and cx == bx and cy == by) or abs(cx) > MAX_MV or abs(cy) > MAX_MV:
            continue
        bits, _ = mv_rate(S, cx, cy, predictors)
        cost = integer_sad(S, ref, cx, cy, x, y, size) + lam * bits
        if cost < best_cost:
            best_cost, bx, by = cost, cx, cy
    # A small diamond around the best, while it moves.
    for _ in range(MAX_REFINE_STEPS):
        moved = False
        cx0, cy0 = bx, by
        for d in range(4):
            cx = cx0 + (4 if d == 0 else (-4 if d == 1 else 0))
            cy = cy0 + (4 if d == 2 else (-4 if d == 3 else 0))
            if abs(cx) > MAX_MV or abs(cy) > MAX_MV:
                continue
            bits, _ = mv_rate(S, cx, cy, predictors)
            cost = integer_sad(S, ref, cx, cy, x, y, size) + lam * bits
            if cost < best_cost:
                best_cost, bx, by, moved = cost, cx, cy, True
        if not moved:
            break
    return best_cost, bx, by


@kernel
def fractional_search(S, cfg, x, y, size, ref, predictors, bx, by):
    """Refine the integer vector (bx, by): the eight half-sample neighbours, then the eight
    quarter-sample neighbours of the best, by J = SATD + sqrt(lambda) R(mvd).
    Returns ``(J, mvx, mvy, mvp_idx)``."""
    lam = cfg.sqrt_lam / ONE_BIT
    pred = S.inter.block
    bits, _ = mv_rate(S, bx, by, predictors)
    phase_block(S, ref, bx, by, x, y, size, pred)
    best_cost = satd(S.orig[0], x, y, pred, size) + lam * bits
    for step in (2, 1):
        cx0, cy0 = bx, by
        for d in range(9):
            if d == 4:
                continue
            cx, cy = cx0 + step * (d % 3 - 1), cy0 + step * (d // 3 - 1)
            if abs(cx) > MAX_MV or abs(cy) > MAX_MV:
                continue
            bits, _ = mv_rate(S, cx, cy, predictors)
            phase_block(S, ref, cx, cy, x, y, size, pred)
            cost = satd(S.orig[0], x, y, pred, size) + lam * bits
            if cost < best_cost:
                best_cost, bx, by = cost, cx, cy
    _, mvp_idx = mv_rate(S, bx, by, predictors)
    return best_cost, bx, by, mvp_idx


#: Largest vector component the encoder uses (quarter samples), so that every |mvd| < 2^15.
MAX_MV = 1 << 14


# -------------------------------------------------------------------- predicted samples
@kernel
def phase_block(S, ref, mvx, mvy, x, y, size, out):
    """Predicted luma samples of the block (x, y, size) at vector (mvx, mvy) into
    ``out[:size, :size]``, read from the reference's quarter-sample phases."""
    margin = S.inter.margin
    plane = S.inter.phases[ref, 4 * (mvy & 3) + (mvx & 3)]
    rows, cols = plane.shape
    y0 = y + (mvy >> 2) + margin
    x0 = x + (mvx >> 2) + margin
    if y0 >= 0 and x0 >= 0 and y0 + size <= rows and x0 + size <= cols:
        for i in range(size):
            for j in range(size):
                out[i, j] = plane[y0 + i, x0 + j]
    else:  # beyond the margin every window is clipped to the border: clip the position
        for i in range(size):
            yy = min(max(y0 + i, 0), rows - 1)
            for j in range(size):
                out[i, j] = plane[yy, min(max(x0 + j, 0), cols - 1)]
