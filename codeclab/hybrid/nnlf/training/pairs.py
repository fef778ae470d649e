"""Training pairs of the neural loop filter: classic reconstructions beside their originals.

The filter learns to map what the decoder has (the deblocked reconstruction) to what the
encoder saw (the original), for the QP the picture was coded at. Pairs are made by the
codec itself, as in JVET's NNVC common training conditions (reconstructions of the
training set coded by the reference encoder at several QPs)::

    photo ─► (downscaled by --scale) ─► random size x size crop ─► RGB -> Y'CbCr 4:2:0
                                           │            (the classic codec's colour path)
                                           │
                 QP ~ U{qp_low..qp_high} ──┤
                                           ▼
                            classic encoder (plain, no picture filter)
                                           │
            shard <photo>.npz:  recon_y, recon_cb, recon_cr   (deblocked reconstruction)
                                orig_y,  orig_cb,  orig_cr    (what it should become)
                                qp

Downscaling the photos (``--scale 0.6``) before cropping is the usual multi-scale
augmentation of restoration training: the 40 training photos of about 1280x850 become
pictures of Kodak's 768x512 scale, with denser texture per sample, new content for the
filter rather than new crops of the same. One shard per photo, written atomically, so an
interrupted run resumes where it stopped.
Shards are NumPy ``.npz`` archives of plain uint8 arrays, read with ``allow_pickle=False``.

:class:`PairDataset` serves the training loop (``codeclab train``): sample ``k`` is a random
``window`` x ``window`` region of a random pair (fixed by ``(seed, k)``, :mod:`codeclab.train.seeding`)
with a *loss mask*. A convolution with zero padding sees different surroundings at a window
edge cut through the picture than at a real picture edge, so within ``margin`` samples of a
cut edge (the network's receptive radius) the loss is masked out, while real picture edges
are kept: the network learns both its interior and its border behaviour exactly as it runs.

Never train on Kodak: it is the evaluation set.

    codeclab make-pairs --data ../shared/data/train --out /work/runs/nnlf_data
    codeclab make-pairs --data ../shared/data/train --out /work/runs/nnlf_s60 --scale 0.6 --seed 1
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from codeclab.errors import InputError
from codeclab.io.files import atomic_write
from codeclab.io.image import default_note, read_image
from codeclab.train import seeding
from codeclab.train.datasets import as_rgb, find_images, picture_size, random_crop

#: Fields of a shard, in order: reconstruction planes, original planes, QP.
PLANE_FIELDS = ("recon_y", "recon_cb", "recon_cr", "orig_y", "orig_cb", "orig_cr")
#: Stream of :mod:`codeclab.train.seeding` for the crops and QPs of a photo (beside CROPS=0 .. INIT=3).
PAIRS = 16


def code_crop(crop: torch.Tensor, qp: int) -> dict[str, np.ndarray]:
    """(3, S, S) uint8 RGB, S a multiple of 64 -> the six uint8 planes of one pair at ``qp``,
    coded with the tools ``classic`` codes with (the filter learns what it will be given)."""
    from codeclab.classic.codec import ClassicCodec
    from codeclab.classic.common.parameters import PictureParams
    from codeclab.classic.common.rgb import rgb_to_planes
    from codeclab.classic.encoder.picture import encode_planes

    params = PictureParams(qp=qp, sign_hiding=ClassicCodec.sign_hiding)
    original = rgb_to_planes(crop, params.matrix)
    recon = encode_planes(original, params, rdoq=ClassicCodec.rdoq).planes
    planes = (*recon, *original)
    return {name: np.asarray(p, dtype=np.uint8) for name, p in zip(PLANE_FIELDS, planes)}


def downscale(photo: torch.Tensor, scale: float) -> torch.Tensor:
    """(3, H, W) uint8 photo resized by ``scale`` <= 1: antialiased bicubic (a low-pass
    before resampling, as Pillow's resize does), rounded and clipped back to uint8."""
    if scale == 1.0:
        return photo
    height, width = (max(1, round(side * scale)) for side in photo.shape[1:])
    small = F.interpolate(photo[None].to(torch.float32), size=(height, width), mode="bicubic",
                          antialias=True, align_corners=False)[0]
    return small.round().clamp(0, 255).to(torch.uint8)


def photo_pairs(photo: torch.Tensor, count: int, size: int, qp_range: tuple[int, int],
                generator: torch.Generator) -> dict[str, np.ndarray]:
    """``count`` pairs from one (3, H, W) photo: random crops (and flips), uniform random QPs."""
    low, high = qp_range
    pairs = []
    for _ in range(count):
        crop = random_crop(photo, size, generator)
        qp = int(torch.randint(low, high + 1, (), generator=generator))
        pairs.append({**code_crop(crop, qp), "qp": np.uint8(qp)})
    return {name: np.stack([p[name] for p in pairs]) for name in (*PLANE_FIELDS, "qp")}


def build_pairs(data: str | os.PathLike, out: str | os.PathLike, *, crops_per_photo: int = 15,
                size: int = 256, qp_range: tuple[int, int] = (22, 42), seed: int = 0,
                scale: float = 1.0, note: Callable[[str], None] = default_note) -> list[Path]:
    """Write one shard per photo of ``data`` into ``out`` (existing shards are kept); return them.

    Each photo is first downscaled by ``scale`` (0 < scale <= 1; :func:`downscale`)."""
    if size % 64 or size < 64:
        raise InputError(f"pair crops must be multiples of the 64x64 CTU, got {size}")
    if not 0 <= qp_range[0] <= qp_range[1] <= 51:
        raise InputError(f"QP range must lie in 0..51, got {qp_range[0]}..{qp_range[1]}")
    if not 0 < scale <= 1:
        raise InputError(f"the photo scale must lie in (0, 1], got {scale}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shards = []
    for index, path in enumerate(find_images(data)):
        shard = out / f"{path.stem}.npz"
        shards.append(shard)
        if shard.exists():
            continue
        if min(picture_size(path)) * scale < size:
            note(f"{path.name} scaled by {scale} is smaller than the {size}x{size} crop: skipped")
            shards.pop()
            continue
        started = time.perf_counter()
        photo = downscale(as_rgb(read_image(path, note=note)), scale)
        arrays = photo_pairs(photo, crops_per_photo, size, qp_range, seeding.generator(seed, PAIRS, index))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(shard, buffer.getvalue())
        note(f"{shard.name}: {crops_per_photo} pairs, QPs {sorted(set(arrays['qp'].tolist()))}, "
             f"{time.perf_counter() - started:.1f} s")
    return shards


def load_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of one shard, checked for the fields and shapes a pair needs."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in (*PLANE_FIELDS, "qp")}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read training pairs {path}: {' '.join(str(exc).split())}") from None
    count, height, width = arrays["recon_y"].shape
    chroma = (count, height // 2, width // 2)
    expected = {"recon_y": (count, height, width), "orig_y": (count, height, width), "qp": (count,),
                **{name: chroma for name in ("recon_cb", "recon_cr", "orig_cb", "orig_cr")}}
    if any(arrays[name].shape != shape or arrays[name].dtype != np.uint8 for name, shape in expected.items()):
        raise InputError(f"training pairs {path}: unexpected array shapes or types")
    return arrays


def loss_mask(start: int, window: int, side: int, margin: int) -> torch.Tensor:
    """(window,) 0/1 mask along one axis of a window at ``start`` of a ``side``-long picture:
    0 within ``margin`` of a window edge that cuts the picture, 1 elsewhere."""
    mask = torch.ones(window)
    if start > 0:
        mask[:margin] = 0
    if start + window < side:
        mask[window - margin:] = 0
    return mask


class PairDataset(torch.utils.data.Dataset):
    """Sample ``k`` -> a random ``window``-sided region of a random pair, as uint8 tensors.

    Returns ``{"recon_y": (1, w, w), "recon_c": (2, w/2, w/2), "orig_y", "orig_c", "qp": ()
    int64, "mask_y": (1, w, w), "mask_c": (1, w/2, w/2)}``; ``margin`` (even, luma samples)
    is the receptive radius the loss masks at cut edges. All shards are kept in memory.
    """

    def __init__(self, root: str | os.PathLike, window: int, margin: int, seed: int) -> None:
        root = Path(root)
        self.paths = sorted(root.glob("*.npz")) if root.is_dir() else []
        if not self.paths:
            raise InputError(f"{root} holds no training pairs (*.npz): make them with "
                             f"'codeclab make-pairs --data PHOTOS --out {root}'")
        if window % 2 or margin % 2 or window <= 2 * margin:
            raise InputError(f"window {window} and margin {margin} must be even, the window more than twice the margin")
        shards = [load_shard(p) for p in self.paths]
        sides = {s["recon_y"].shape[1:] for s in shards}
        if len(sides) != 1:
            raise InputError(f"{root}: training pairs of different sizes {sorted(sides)}")
        self.height, self.width = sides.pop()
        if window > min(self.height, self.width):
            raise InputError(f"window {window} exceeds the {self.width}x{self.height} training pairs")
        self.planes = {name: torch.from_numpy(np.concatenate([s[name] for s in shards])) for name in PLANE_FIELDS}
        self.qp = torch.from_numpy(np.concatenate([s["qp"] for s in shards]).astype(np.int64))
        self.window, self.margin, self.seed = window, margin, seed

    def __len__(self) -> int:
        """Number of stored pairs (the sample index itself runs on without end)."""
        return len(self.qp)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        generator = seeding.generator(self.seed, seeding.CROPS, k)
        i = int(torch.randint(len(self.qp), (), generator=generator))
        w, half = self.window, self.window // 2
        top = 2 * int(torch.randint((self.height - w) // 2 + 1, (), generator=generator))
        left = 2 * int(torch.randint((self.width - w) // 2 + 1, (), generator=generator))
        y = np.s_[top:top + w, left:left + w]
        c = np.s_[top // 2:top // 2 + half, left // 2:left // 2 + half]
        p = self.planes
        mask_y = loss_mask(top, w, self.height, self.margin)[:, None] * loss_mask(left, w, self.width, self.margin)
        return {"recon_y": p["recon_y"][i][y][None], "orig_y": p["orig_y"][i][y][None],
                "recon_c": torch.stack([p["recon_cb"][i][c], p["recon_cr"][i][c]]),
                "orig_c": torch.stack([p["orig_cb"][i][c], p["orig_cr"][i][c]]),
                "qp": self.qp[i], "mask_y": mask_y[None], "mask_c": mask_y[None, ::2, ::2].contiguous()}


def run(args) -> int:
    """``codeclab make-pairs``: code crops of training photos with the classic codec."""
    shards = build_pairs(args.data, args.out, crops_per_photo=args.crops, size=args.size,
                         qp_range=tuple(args.qp_range), seed=args.seed, scale=args.scale)
    print(f"{len(shards)} shards in {args.out}")
    return 0
