"""Training pairs: the reconstruction of a shard is the classic codec's, samples are fixed by
their index, and the loss mask spares real picture edges but not cut ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.codec import ClassicCodec
from codeclab.errors import InputError
from codeclab.hybrid.nnlf.training.pairs import PairDataset, build_pairs, code_crop, downscale, load_shard, loss_mask
from codeclab.io.image import read_image


def _quiet(message: str) -> None:
    pass


def test_a_pair_is_what_the_classic_codec_reconstructs(sample_image_path):
    crop = read_image(sample_image_path)[:, :64, :64].contiguous()
    pair = code_crop(crop, 35)
    encoded = ClassicCodec().configure(bit_depth=8).encode_image(crop, 35)  # the 8-bit codec the filter serves
    from codeclab.bitstream.container import Matrix
    from codeclab.classic.common.rgb import planes_to_rgb

    planes = tuple(pair[k].astype(np.int32) for k in ("recon_y", "recon_cb", "recon_cr"))
    assert torch.equal(planes_to_rgb(planes, 64, 64, Matrix.BT709), encoded.recon)
    assert pair["orig_y"].shape == (64, 64) and pair["orig_cb"].shape == (32, 32)


def test_shards_and_samples(samples_dir, tmp_path):
    shards = build_pairs(samples_dir, tmp_path, crops_per_photo=2, size=64, qp_range=(27, 29), note=_quiet)
    assert [s.name for s in shards] == ["kodim05_crop256.npz", "kodim15_crop256.npz", "kodim23_crop256.npz"]
    arrays = load_shard(shards[0])
    assert arrays["recon_y"].shape == (2, 64, 64) and set(arrays["qp"].tolist()) <= {27, 28, 29}
    before = shards[0].stat().st_mtime_ns
    build_pairs(samples_dir, tmp_path, crops_per_photo=2, size=64, note=_quiet)  # kept, not redone
    assert shards[0].stat().st_mtime_ns == before

    dataset = PairDataset(tmp_path, window=32, margin=4, seed=3)
    assert len(dataset) == 6
    a, b = dataset[17], dataset[17]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["recon_y"].shape == (1, 32, 32) and a["recon_c"].shape == (2, 16, 16)
    assert a["mask_y"].shape == (1, 32, 32) and a["mask_c"].shape == (1, 16, 16)


def test_loss_mask_keeps_picture_edges_and_drops_cut_edges():
    assert loss_mask(0, 8, 16, 2).tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert loss_mask(8, 8, 16, 2).tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    assert loss_mask(4, 8, 16, 2).tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    assert loss_mask(0, 16, 16, 2).tolist() == [1] * 16


def test_bad_pair_folders_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no training pairs"):
        PairDataset(tmp_path, 32, 4, 0)
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(InputError, match="cannot read"):
        PairDataset(tmp_path, 32, 4, 0)
    with pytest.raises(InputError, match="multiples of the 64x64 CTU"):
        build_pairs(tmp_path, tmp_path, size=96)


def test_downscaled_photos_give_pairs_of_the_smaller_picture(samples_dir, tmp_path):
    photo = read_image(next(iter(sorted(samples_dir.glob("*.png")))))
    small = downscale(photo, 0.5)
    assert small.dtype == torch.uint8 and small.shape == (3, 128, 128)
    # Antialiased: a 2x2 block average is close to the resized sample (not a decimation).
    mean = photo.float().reshape(3, 128, 2, 128, 2).mean(dim=(2, 4))
    assert (small.float() - mean).abs().mean() < 3
    assert downscale(photo, 1.0) is photo
    shards = build_pairs(samples_dir, tmp_path, crops_per_photo=1, size=64, qp_range=(30, 30), scale=0.5,
                         note=_quiet)
    assert load_shard(shards[0])["recon_y"].shape == (1, 64, 64)
    skipped = []
    assert build_pairs(samples_dir, tmp_path / "none", crops_per_photo=1, size=192, scale=0.5,
                       note=skipped.append) == []
    assert len(skipped) == 3 and "smaller than" in skipped[0]
    with pytest.raises(InputError, match="scale"):
        build_pairs(samples_dir, tmp_path, scale=1.5, note=_quiet)
