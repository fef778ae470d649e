"""Training and validation pictures from a folder of images.

Training sees an endless stream of random crops (Ballé et al. 2017 trained on random
256x256 crops of photos; CompressAI's ``ImageFolder`` + ``RandomCrop`` does the same).
Sample ``k`` of the stream is drawn from its own generator, seeded by ``(seed, k)``
(:mod:`.seeding`)::

    i          ~ U{0 .. n_images - 1}          which picture
    s          ~ U(lo, hi), capped so the window fits      only with a scale range (below)
    top, left  ~ U{0 .. H - w}, U{0 .. W - w}   a window of w = round(crop / s) samples
    flip_v, flip_h ~ Bernoulli(1/2)            mirror the crop vertically / horizontally

so the stream is a *map* ``k -> crop``: any process or data-loader worker computes any sample,
and the batch of a step is fixed by the step number alone (see
:class:`.distributed.StepBatchSampler`). A training set of a few dozen photos is small, so
the decoded pictures are kept in memory by default (decode once, crop many times: about
3 bytes per pixel, 130 MB for 40 one-megapixel photos).

With a scale range (``--scale-range 0.5 1``), the window is ``crop / s`` samples wide and
is resized to ``crop`` with an antialiased bilinear filter: the crop shows the picture
downscaled by ``s``. Downscaling hides the block traces of JPEG sources (BSDS500) and the
noise of camera pictures, and widens the range of scales the codec learns from (Ballé et
al. 2018 downscaled their training pictures for the same reason). With ``(1, 1)`` no scale
is drawn and the stream is the plain crop stream.

Several folders (``--data A B``) form one set: the pictures of all of them, in order.

Pictures smaller than the crop are skipped with a note: padding would add mirrored or
flat borders and upscaling would add interpolation blur, content no camera produced that
the codec would then learn to spend bits on. Grey pictures are repeated to three channels.

Samples stay uint8 until :func:`to_unit_float` turns a batch into floats in [0, 1] on the
training device: a quarter of the bytes to move, and the conversion runs on the GPU.

Validation reads every picture of a folder whole, or its centre crop, in sorted order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from codeclab.errors import InputError
from codeclab.io.image import default_note, read_image
from codeclab.train import seeding

#: File name endings scanned as pictures (anything else in the folder is ignored).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".webp"})


def find_images(root: str | os.PathLike) -> list[Path]:
    """Every picture file under ``root``, recursively, sorted; hidden files and folders skipped."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"image folder {root} does not exist or is not a folder")
    paths = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not paths:
        raise InputError(f"image folder {root} holds no pictures ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths


def picture_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cannot read image {path}: {' '.join(str(exc).split())}") from None


def as_rgb(image: torch.Tensor) -> torch.Tensor:
    """(1|3, H, W) -> (3, H, W): grey is repeated into the three channels."""
    return image.expand(3, -1, -1).contiguous() if image.shape[0] == 1 else image


def random_crop(image: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A ``size`` x ``size`` crop at a uniform position, flipped vertically and horizontally
    with probability 1/2 each; (C, H, W) in, contiguous (C, size, size) out."""
    height, width = image.shape[-2:]
    top = int(torch.randint(height - size + 1, (), generator=generator))
    left = int(torch.randint(width - size + 1, (), generator=generator))
    flip_v, flip_h = torch.randint(2, (2,), generator=generator).tolist()
    crop = image[:, top:top + size, left:left + size]
    dims = [d for d, flip in ((-2, flip_v), (-1, flip_h)) if flip]
    return crop.flip(dims) if dims else crop.contiguous()


def random_scaled_crop(image: torch.Tensor, size: int, scale_range: tuple[float, float],
                       generator: torch.Generator) -> torch.Tensor:
    """A ``size`` x ``size`` crop of ``image`` downscaled by ``s ~ U(lo, hi)``: a window of
    ``round(size / s)`` samples at a uniform position, resized to ``size`` (antialiased
    bilinear, rounded back to uint8) and flipped as :func:`random_crop` does. ``s`` is
    capped below so the window fits the picture."""
    low, high = scale_range
    height, width = image.shape[-2:]
    low = max(low, size / min(height, width))
    s = low + (max(high, low) - low) * float(torch.rand((), generator=generator, dtype=torch.float64))
    window = min(max(size, round(size / s)), height, width)
    crop = random_crop(image, window, generator)
    if window == size:
        return crop
    resized = F.interpolate(crop[None].float(), size=(size, size), mode="bilinear", antialias=True,
                            align_corners=False)
    return resized[0].round_().clamp_(0, 255).to(torch.uint8)


def centre_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` window (each side capped at the picture's own)."""
    height, width = image.shape[-2:]
    h, w = min(size, height), min(size, width)
    top, left = (height - h) // 2, (width - w) // 2
    return image[:, top:top + h, left:left + w].contiguous()


def _quiet(message: str) -> None:
    """Drop conversion notes while decoding on the fly (they would repeat for every crop)."""


class RandomCropDataset(torch.utils.data.Dataset):
    """Sample ``k`` -> a random (3, crop, crop) uint8 crop of one of the pictures of ``roots``.

    A map over the sample index with no end (use it with a batch sampler that names the
    indices). ``roots`` is one folder or several. ``cache=True`` decodes every picture once,
    now; ``cache=False`` decodes the picture of each sample when it is drawn (slow, for sets
    that do not fit in memory). ``scale_range`` draws a downscaling per crop (module docstring).
    """

    def __init__(self, roots: str | os.PathLike | Sequence[str | os.PathLike], crop: int, seed: int, *,
                 cache: bool = True, scale_range: tuple[float, float] = (1.0, 1.0),
                 note: Callable[[str], None] = default_note) -> None:
        if crop < 1:
            raise InputError(f"crop size must be positive, got {crop}")
        low, high = scale_range
        if not 0 < low <= high <= 1:
            raise InputError(f"scale range must satisfy 0 < low <= high <= 1, got {low} {high}")
        self.crop, self.seed, self.scale_range = int(crop), int(seed), (float(low), float(high))
        roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
        if not roots:
            raise InputError("no training folder given")
        root = ", ".join(str(r) for r in roots)
        paths = [p for r in roots for p in find_images(r)]
        sizes = [picture_size(p) for p in paths]
        small = [(p, s) for p, s in zip(paths, sizes) if min(s) < crop]
        if small:
            shown = ", ".join(f"{p.name} ({w}x{h})" for p, (h, w) in small[:3])
            note(f"{root}: skipped {len(small)} of {len(paths)} pictures smaller than the "
                 f"{crop}x{crop} crop: {shown}{', ...' if len(small) > 3 else ''}")
        self.paths = [p for p, s in zip(paths, sizes) if min(s) >= crop]
        if not self.paths:
            raise InputError(f"{root}: every picture is smaller than the {crop}x{crop} crop; use a smaller --crop")
        self.images = [as_rgb(read_image(p, note=note)) for p in self.paths] if cache else None

    def picture(self, i: int) -> torch.Tensor:
        """Picture ``i`` as (3, H, W) uint8."""
        if self.images is not None:
            return self.images[i]
        return as_rgb(read_image(self.paths[i], note=_quiet))

    def __getitem__(self, k: int) -> torch.Tensor:
        generator = seeding.generator(self.seed, seeding.CROPS, k)
        i = int(torch.randint(len(self.paths), (), generator=generator))
        if self.scale_range == (1.0, 1.0):
            return random_crop(self.picture(i), self.crop, generator)
        return random_scaled_crop(self.picture(i), self.crop, self.scale_range, generator)


def load_validation_images(root: str | os.PathLike, crop: int | None = None,
                           note: Callable[[str], None] = default_note) -> list[tuple[str, torch.Tensor]]:
    """``(name, (3, H, W) uint8)`` for every picture under ``root``, sorted by path; whole
    pictures, or their centre ``crop`` x ``crop`` windows. Names are relative to ``root``."""
    root = Path(root)
    pictures = []
    for path in find_images(root):
        image = as_rgb(read_image(path, note=note))
        pictures.append((path.relative_to(root).as_posix(), image if crop is None else centre_crop(image, crop)))
    return pictures


def to_unit_float(batch: torch.Tensor) -> torch.Tensor:
    """uint8 samples -> float32 in [0, 1] (``x / 255``), the models' input convention."""
    return batch.to(torch.float32).div_(255.0)
