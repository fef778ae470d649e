"""The numba deblocking of classic pictures equals the torch reference of deblock.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic import deblock, loopfilter


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


@pytest.mark.parametrize("seed,qp", [(0, 22), (1, 32), (2, 37), (3, 45), (4, 51)])
def test_numba_deblocking_matches_torch(seed, qp):
    planes, ids = _picture(seed)
    ours = loopfilter.deblock_picture(planes, ids, qp)
    edges_ver, edges_hor = deblock.block_edges(torch.from_numpy(ids))
    bs_ver = deblock.boundary_strength(edges_ver, True, True)
    bs_hor = deblock.boundary_strength(edges_hor, True, True)
    y, cb, cr = (torch.from_numpy(p) for p in planes)
    assert np.array_equal(ours[0], deblock.deblock_luma(y, bs_ver, bs_hor, qp).numpy())
    assert np.array_equal(ours[1], deblock.deblock_chroma(cb, bs_ver, bs_hor, qp).numpy())
    assert np.array_equal(ours[2], deblock.deblock_chroma(cr, bs_ver, bs_hor, qp).numpy())
    assert not np.array_equal(ours[0], planes[0]) or qp < 16  # the filter did act


def test_disabled_deblocking_copies():
    planes, ids = _picture(5)
    out = loopfilter.deblock_picture(planes, ids, 37, enabled=False)
    assert all(np.array_equal(a, b) and a is not b for a, b in zip(out, planes))
