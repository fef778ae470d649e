"""Motion vector prediction: the merge candidate list and the AMVP predictors of HEVC.

An inter CU rarely codes its vector outright. Either it *merges*, copying the whole motion
(vector and reference) of one of up to five candidates (``merge_idx``), or it codes a
difference to one of two predictors (``mvp_l0_flag`` + ``mvd``). Both lists are built from
the same neighbours, identically by encoder and decoder, from motion already decoded::

          B2 |        | B1 | B0           spatial neighbours of a CU at (x, y), side s:
          ---+--------+----+---           A1 = (x-1, y+s-1)   B1 = (x+s-1, y-1)
             |                            A0 = (x-1, y+s)     B0 = (x+s, y-1)
             |     CU                     B2 = (x-1, y-1)
          A1 |                            collocated (temporal): the bottom-right
          ---+                            (x+s, y+s), else the centre, of the same
          A0                              place in reference picture 0, on a 16x16 grid

- **Merge** (H.265 §8.5.3.2.2-4, P slices, 2Nx2N): A1, B1, B0, A0, B2 in this order, each
  left out when unavailable, intra, or equal to the neighbour it is compared with (B1 to A1,
  B0 to B1, A0 to A1, B2 to A1 and B1; B2 only while fewer than four were found); then the
  temporal candidate (reference index 0); then zero vectors with reference index 0, 1, ...
  up to :data:`MAX_MERGE_CANDIDATES`.
- **AMVP** (§8.5.3.2.6-7) for a target reference picture: A from A0, A1 (a neighbour that
  predicts from the same picture, else one scaled by picture distances); B from B0, B1, B2
  likewise (scaled ones only when neither A0 nor A1 exists, B's unscaled vector then also
  standing in for A); B is dropped when it equals A; the temporal candidate fills in when
  fewer than two remain, then zero vectors.
- **Scaling** (§8.5.3.2.7-8) of a vector pointing ``td`` pictures back to one pointing
  ``tb`` pictures back::

      tx = (16384 + |td| / 2) / td
      distScaleFactor = Clip3(-4096, 4095, (tb tx + 32) >> 6)
      mv' = Clip3(-32768, 32767, Sign(distScaleFactor mv) ((|distScaleFactor mv| + 127) >> 8))

- **Availability** (§6.4.1): a neighbour is available when it lies inside the coded picture
  and precedes the current CU in z-scan order (a smaller ``MinTbAddrZs``: CTU address, then
  the z-order of its 4x4 block inside the CTU), i.e. when the decoder has decoded it.

Vectors are in quarter luma samples; candidates are rows ``(mv_x, mv_y, ref_idx)``.
"""

from __future__ import annotations

from codeclab.classic.common.partition import CTU_LOG2, CTU_SIZE
from codeclab.kernels import kernel

MAX_MERGE_CANDIDATES = 5
AMVP_CANDIDATES = 2


@kernel
def z_address(x, y, ctus_per_row):
    """MinTbAddrZs of the 4x4 block at luma (x, y): CTU raster address, then z-order (§6.5.2)."""
    ctu = (y >> CTU_LOG2) * ctus_per_row + (x >> CTU_LOG2)
    ux, uy = (x & (CTU_SIZE - 1)) >> 2, (y & (CTU_SIZE - 1)) >> 2
    z = 0
    for bit in range(CTU_LOG2 - 2):
        z |= ((ux >> bit) & 1) << (2 * bit)
        z |= ((uy >> bit) & 1) << (2 * bit + 1)
    return (ctu << (2 * (CTU_LOG2 - 2))) | z


@kernel
def available(x, y, xn, yn, coded_height, coded_width):
    """Is luma (xn, yn) decoded before the CU at (x, y)? (z-scan availability, §6.4.1)"""
    if xn < 0 or yn < 0 or xn >= coded_width or yn >= coded_height:
        return False
    ctus_per_row = (coded_width + CTU_SIZE - 1) >> CTU_LOG2
    return z_address(xn, yn, ctus_per_row) < z_address(x, y, ctus_per_row)


@kernel
def scale_mv(value, td, tb):
    """One vector component scaled from distance ``td`` to ``tb`` (eq. 8-182..8-186)."""
    td = min(max(td, -128), 127)
    tb = min(max(tb, -128), 127)
    numerator = 16384 + (abs(td) >> 1)
    tx = numerator // td if td > 0 else -(numerator // -td)  # C division: towards zero
    factor = min(max((tb * tx + 32) >> 6, -4096), 4095)
    product = factor * value
    magnitude = (abs(product) + 127) >> 8
    scaled = magnitude if product > 0 else (-magnitude if product < 0 else 0)
    return min(max(scaled, -32768), 32767)


@kernel
def _inter_at(pic, x, y, xn, yn):
    """The neighbour at (xn, yn) is available and inter-coded."""
    coded_height, coded_width = pic.coded
    return available(x, y, xn, yn, coded_height, coded_width) and pic.ref_idx[yn >> 2, xn >> 2] >= 0


@kernel
def _same_motion(pic, xa, ya, xb, yb):
    ua, va, ub, vb = xa >> 2, ya >> 2, xb >> 2, yb >> 2
    return (pic.ref_idx[va, ua] == pic.ref_idx[vb, ub] and pic.mv[va, ua, 0] == pic.mv[vb, ub, 0]
            and pic.mv[va, ua, 1] == pic.mv[vb, ub, 1])


@kernel
def temporal_candidate(pic, refs, x, y, size, target_poc):
    """``(available, mv_x, mv_y)`` of the collocated vector scaled to ``target_poc`` (§8.5.3.2.8)."""
    if not refs.tmvp:
        return False, 0, 0
    coded_height, coded_width = pic.coded
    xb, yb = x + size, y + size
    for attempt in range(2):
        if attempt == 0:  # bottom right, only inside this CTU row and the picture
            if (y >> CTU_LOG2) != (yb >> CTU_LOG2) or yb >= coded_height or xb >= coded_width:
                continue
            xc, yc = (xb >> 4) << 4, (yb >> 4) << 4
        else:
            xc, yc = ((x + (size >> 1)) >> 4) << 4, ((y + (size >> 1)) >> 4) << 4
        col_ref = refs.col_ref_poc[yc >> 2, xc >> 2]
        if col_ref < 0:
            continue  # intra in the collocated picture
        mvx, mvy = refs.col_mv[yc >> 2, xc >> 2, 0], refs.col_mv[yc >> 2, xc >> 2, 1]
        col_diff, curr_diff = refs.col_poc - col_ref, refs.poc - target_poc
        if col_diff != curr_diff:
            mvx, mvy = scale_mv(mvx, col_diff, curr_diff), scale_mv(mvy, col_diff, curr_diff)
        return True, mvx, mvy
    return False, 0, 0


@kernel
def merge_candidates(pic, refs, x, y, size, num_refs, out):
    """Fill ``out[:5]`` with the merge candidates ``(mv_x, mv_y, ref_idx)`` of the CU (x, y, size)."""
    xa1, ya1 = x - 1, y + size - 1
    xb1, yb1 = x + size - 1, y - 1
    xb0, yb0 = x + size, y - 1
    xa0, ya0 = x - 1, y + size
    xb2, yb2 = x - 1, y - 1
    a1 = _inter_at(pic, x, y, xa1, ya1)
    b1 = _inter_at(pic, x, y, xb1, yb1)
    b0 = _inter_at(pic, x, y, xb0, yb0)
    a0 = _inter_at(pic, x, y, xa0, ya0)
    b2 = _inter_at(pic, x, y, xb2, yb2)
    flag_a1 = a1
    flag_b1 = b1 and not (a1 and _same_motion(pic, xa1, ya1, xb1, yb1))
    flag_b0 = b0 and not (b1 and _same_motion(pic, xb1, yb1, xb0, yb0))
    flag_a0 = a0 and not (a1 and _same_motion(pic, xa1, ya1, xa0, ya0))
    flag_b2 = (b2 and not (a1 and _same_motion(pic, xa1, ya1, xb2, yb2))
               and not (b1 and _same_motion(pic, xb1, yb1, xb2, yb2))
               and flag_a0 + flag_a1 + flag_b0 + flag_b1 != 4)
    count = 0
    for flag, xn, yn in ((flag_a1, xa1, ya1), (flag_b1, xb1, yb1), (flag_b0, xb0, yb0),
                         (flag_a0, xa0, ya0), (flag_b2, xb2, yb2)):
        if flag:
            out[count, 0] = pic.mv[yn >> 2, xn >> 2, 0]
            out[count, 1] = pic.mv[yn >> 2, xn >> 2, 1]
            out[count, 2] = pic.ref_idx[yn >> 2, xn >> 2]
            count += 1
    ok, mvx, mvy = temporal_candidate(pic, refs, x, y, size, refs.pocs[0])
    if ok:
        out[count, 0], out[count, 1], out[count, 2] = mvx, mvy, 0
        count += 1
    zero = 0
    while count < MAX_MERGE_CANDIDATES:
        out[count, 0], out[count, 1] = 0, 0
        out[count, 2] = zero if zero < num_refs else 0
        zero += 1
        count += 1


@kernel
def amvp_candidates(pic, refs, x, y, size, ref_idx, out):
    """Fill ``out[:2]`` with the vector predictors ``(mv_x, mv_y)`` for reference ``ref_idx``."""
    target = refs.pocs[ref_idx]
    xa0, ya0, xa1, ya1 = x - 1, y + size, x - 1, y + size - 1
    xs_b = (x + size, x + size - 1, x - 1)
    ys_b = (y - 1, y - 1, y - 1)
    a_ok = (_inter_at(pic, x, y, xa0, ya0), _inter_at(pic, x, y, xa1, ya1))
    xs_a, ys_a = (xa0, xa1), (ya0, ya1)
    scaled_flag = a_ok[0] or a_ok[1]
    # A: a neighbour predicting from the target picture, else the first one, scaled.
    flag_a, ax, ay = False, 0, 0
    for k in range(2):
        if a_ok[k] and not flag_a:
            u, v = xs_a[k] >> 2, ys_a[k] >> 2
            if refs.pocs[pic.ref_idx[v, u]] == target:
                flag_a, ax, ay = True, pic.mv[v, u, 0], pic.mv[v, u, 1]
    for k in range(2):
        if a_ok[k] and not flag_a:
            u, v = xs_a[k] >> 2, ys_a[k] >> 2
            td, tb = refs.poc - refs.pocs[pic.ref_idx[v, u]], refs.poc - target
            flag_a = True
            ax, ay = scale_mv(pic.mv[v, u, 0], td, tb), scale_mv(pic.mv[v, u, 1], td, tb)
    # B: likewise from B0, B1, B2; scaled only when no A neighbour exists at all.
    flag_b, bx, by = False, 0, 0
    for k in range(3):
        if not flag_b and _inter_at(pic, x, y, xs_b[k], ys_b[k]):
            u, v = xs_b[k] >> 2, ys_b[k] >> 2
            if refs.pocs[pic.ref_idx[v, u]] == target:
                flag_b, bx, by = True, pic.mv[v, u, 0], pic.mv[v, u, 1]
    if not scaled_flag and flag_b:
        flag_a, ax, ay = True, bx, by
    if not scaled_flag:
        flag_b = False
        for k in range(3):
            if not flag_b and _inter_at(pic, x, y, xs_b[k], ys_b[k]):
                u, v = xs_b[k] >> 2, ys_b[k] >> 2
                td, tb = refs.poc - refs.pocs[pic.ref_idx[v, u]], refs.poc - target
                flag_b = True
                bx, by = scale_mv(pic.mv[v, u, 0], td, tb), scale_mv(pic.mv[v, u, 1], td, tb)
    count = 0
    if flag_a:
        out[count, 0], out[count, 1] = ax, ay
        count += 1
    if flag_b and not (flag_a and ax == bx and ay == by):
        out[count, 0], out[count, 1] = bx, by
        count += 1
    if count < AMVP_CANDIDATES:
        ok, tx, ty = temporal_candidate(pic, refs, x, y, size, target)
        if ok:
            out[count, 0], out[count, 1] = tx, ty
            count += 1
    while count < AMVP_CANDIDATES:
        out[count, 0], out[count, 1] = 0, 0
        count += 1
