"""The numba deblocking of classic pictures equals the torch reference of deblock.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common import deblocking as loopfilter
from codeclab.classic.common.picture import new_picture
from codeclab.classic.common.reference import deblock


def _picture(seed: int, height: int = 64, width: int = 96):
    """Blocky planes (flat 8x8 tiles plus mild noise: edges the filter acts on) and TU ids."""
    rng = np.random.default_rng(seed)
    tiles = rng.integers(60, 200, size=(height // 8, width // 8))
    y = np.kron(tiles, np.ones((8, 8), np.int64)) + rng.integers(-3, 4, size=(height, width))
    chroma = [np.kron(rng.integers(100, 160, size=(height // 16, width // 16)),
                      np.ones((8, 8), np.int64)) + rng.integers(-2, 3, size=(height // 2, width // 2))
              for _ in range(2)]
    # Transform blocks of 4, 8 and 16 samples: ids merge random pairs of 4x4 blocks.
    ids = np.arange((height // 4) * (width // 4)).reshape(height // 4, width // 4)
    ids = np.where(rng.random(ids.shape) < 0.5, ids // 2 * 2, ids)
    return [np.clip(p, 0, 255).astype(np.int32) for p in [y] + chroma], ids.astype(np.int32)


def _as_picture(planes, ids, height: int = 64, width: int = 96, coded=None):
    pic = new_picture(height, width, coded)
    for plane, data in zip(pic.planes, planes):
        plane[:] = data
    pic.tu_id[:] = ids
    return pic


@pytest.mark.parametrize("seed,qp", [(0, 22), (1, 32), (2, 37), (3, 45), (4, 51)])
def test_numba_deblocking_matches_torch(seed, qp):
    planes, ids = _picture(seed)
    ours = loopfilter.deblock_picture(_as_picture(planes, ids), qp)
    edges_ver, edges_hor = deblock.block_edges(torch.from_numpy(ids))
    bs_ver = deblock.boundary_strength(edges_ver, True, True)
    bs_hor = deblock.boundary_strength(edges_hor, True, True)
    y, cb, cr = (torch.from_numpy(p) for p in planes)
    assert np.array_equal(ours[0], deblock.deblock_luma(y, bs_ver, bs_hor, qp).numpy())
    assert np.array_equal(ours[1], deblock.deblock_chroma(cb, bs_ver, bs_hor, qp).numpy())
    assert np.array_equal(ours[2], deblock.deblock_chroma(cr, bs_ver, bs_hor, qp).numpy())
    assert not np.array_equal(ours[0], planes[0]) or qp < 16  # the filter did act


def _inter_scene(seed: int, height: int = 64, width: int = 96):
    """Random motion on the 4x4 grid: intra/ref 0/ref 1 blocks, small vectors, sparse levels."""
    rng = np.random.default_rng(seed)
    planes, ids = _picture(seed, height, width)
    pic = _as_picture(planes, ids, height, width)
    units = (height // 4, width // 4)
    # Motion constant over 8x8 pieces (like CUs), so that some edges see equal motion.
    coarse = (height // 8, width // 8)
    pic.ref_idx[:] = np.kron(rng.choice([-1, 0, 1, 1], size=coarse), np.ones((2, 2), np.int32))
    pic.mv[:] = np.kron(rng.integers(-6, 7, size=coarse + (2,)), np.ones((2, 2, 1), np.int32))
    levels = (rng.random((height, width)) < 0.002) * rng.integers(1, 4, size=(height, width))
    pic.levels[0][:] = levels
    coded = np.zeros(ids.max() + 1, bool)
    np.logical_or.at(coded, np.kron(ids, np.ones((4, 4), np.int32)).ravel(), levels.ravel() != 0)
    return pic, coded[ids], units


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inter_boundary_strength_matches_torch(seed):
    pic, coded, units = _inter_scene(seed)
    pocs = np.array([9, 7])
    bs_ver, bs_hor = loopfilter.edge_strengths(pic.tu_id, pic.levels[0], pic.ref_idx, pic.mv,
                                               pocs, 64, 96)
    ref = torch.from_numpy(np.where(pic.ref_idx >= 0, pocs[np.maximum(pic.ref_idx, 0)], -1))
    refs = torch.stack([ref, torch.full_like(ref, -1)], -1)            # list 0 only
    mvs = torch.stack([torch.from_numpy(pic.mv), torch.zeros(units + (2,), dtype=torch.int32)], -2)
    for vertical, ours in ((True, bs_ver), (False, bs_hor)):
        sides = [deblock.edge_sides(torch.from_numpy(m), vertical) for m in
                 (pic.tu_id, pic.ref_idx < 0, coded)]
        (id_p, id_q), (intra_p, intra_q), (coded_p, coded_q) = sides
        ref_p, ref_q = deblock.edge_sides(refs, vertical)
        mv_p, mv_q = deblock.edge_sides(mvs, vertical)
        expected = deblock.boundary_strength(id_p != id_q, intra_p, intra_q, coded_p=coded_p,
                                             coded_q=coded_q, ref_p=ref_p, ref_q=ref_q,
                                             mv_p=mv_p, mv_q=mv_q).numpy()
        inside = (slice(None), slice(1, None)) if vertical else (slice(1, None), slice(None))
        assert np.array_equal(ours[inside], expected[inside])
        assert set(np.unique(ours)) == {0, 1, 2}


def test_inter_deblocking_matches_torch():
    pic, _, _ = _inter_scene(3)
    pocs = np.array([9, 7])
    ours = loopfilter.deblock_picture(pic, 32, pocs=pocs)
    bs_ver, bs_hor = (torch.from_numpy(b) for b in loopfilter.edge_strengths(
        pic.tu_id, pic.levels[0], pic.ref_idx, pic.mv, pocs, 64, 96))
    y, cb, cr = (torch.from_numpy(p) for p in pic.planes)
    assert np.array_equal(ours[0], deblock.deblock_luma(y, bs_ver, bs_hor, 32).numpy())
    assert np.array_equal(ours[1], deblock.deblock_chroma(cb, bs_ver, bs_hor, 32).numpy())
    assert np.array_equal(ours[2], deblock.deblock_chroma(cr, bs_ver, bs_hor, 32).numpy())


def test_only_the_coded_picture_is_filtered():
    planes, ids = _picture(6)
    pic = _as_picture(planes, ids, coded=(40, 72))
    out = loopfilter.deblock_picture(pic, 45)
    assert np.array_equal(out[0][:, 72:], planes[0][:, 72:]) and np.array_equal(out[0][40:], planes[0][40:])
    assert not np.array_equal(out[0][:40, :72], planes[0][:40, :72])


def test_disabled_deblocking_copies():
    planes, ids = _picture(5)
    out = loopfilter.deblock_picture(_as_picture(planes, ids), 37, enabled=False)
    assert all(np.array_equal(a, b) and a is not b for a, b in zip(out, planes))
