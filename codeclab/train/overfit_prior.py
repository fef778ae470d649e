"""Fitting the overfitted codec's prior networks (:mod:`codeclab.learned.overfit.prior`).

For each quality ``q`` the prior is the networks of one overfit of a mosaic of training
crops at ``lambda(q)``: 16 crops of different pictures share the networks, so these learn
what serves pictures in general, not one of them::

    training pictures ──16 random crops, 192 x 192, downscaled 0.5-1──► a 768 x 768 mosaic
    mosaic ──:func:`codeclab.learned.overfit.encoder.optimise` at lambda(q)──► prior of q

``codeclab fit-prior`` runs it one quality after another (under ``torchrun`` each process
takes every world-size-th quality); each quality's networks are written atomically when
done, so a killed run resumes at the first quality without a file, and the process that
finds every quality done merges them into the shipped file and its card.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from codeclab.io import read_image
from codeclab.io.files import atomic_write
from codeclab.learned.overfit.architecture import Architecture
from codeclab.learned.overfit.codec import quality_lambda
from codeclab.learned.overfit.effort import EFFORTS
from codeclab.learned.overfit.encoder import forward, optimise, quantize_latent, rd_loss
from codeclab.learned.overfit.prior import PRIOR_PATH
from codeclab.train.datasets import as_rgb, find_images, random_scaled_crop

#: Mosaic layout: TILES x TILES crops of CROP x CROP samples.
TILES, CROP = 4, 192


def mosaic(paths: list[Path], generator: torch.Generator, tiles: int = TILES, crop: int = CROP,
           scale_range=(0.5, 1.0)) -> Tensor:
    """(3, tiles crop, tiles crop) uint8: crops of pictures drawn from ``paths`` side by side."""
    rows = []
    for _ in range(tiles):
        row = []
        for _ in range(tiles):
            path = paths[int(torch.randint(len(paths), (), generator=generator))]
            row.append(random_scaled_crop(as_rgb(read_image(path)), crop, scale_range, generator))
        rows.append(torch.cat(row, dim=-1))
    return torch.cat(rows, dim=-2)


def _quality_file(out: Path, quality: float) -> Path:
    return out / f"prior_q{quality:g}.safetensors"


def fit_quality(paths: list[Path], quality: float, effort, seed: int, tiles: int = TILES,
                crop: int = CROP) -> tuple[dict[str, Tensor], dict]:
    """The networks of an overfit of a mosaic of training crops at ``quality``, and its record."""
    generator = torch.Generator().manual_seed(seed)
    target = mosaic(paths, generator, tiles, crop).float() / 255.0
    lmbda = quality_lambda(quality)
    started = time.perf_counter()
    state = optimise(target, lmbda, effort, seed, use_prior=False)
    with torch.no_grad():
        x, bits = forward([quantize_latent(y, "hard") for y in state.latents], state.nets, *target.shape[-2:])
        _, mse, bpp = rd_loss(x, target, bits, lmbda)
    record = {"quality": quality, "lambda": lmbda, "seconds": round(time.perf_counter() - started, 1),
              "mosaic_bpp_latents": round(float(bpp), 4), "mosaic_psnr": round(-10 * math.log10(float(mse)), 3)}
    return state.nets, record


def fit(data: list[str], qualities: list[float], out: Path, iterations: int, seed: int,
        command: str = "", note=print, tiles: int = TILES, crop: int = CROP) -> Path | None:
    """Fit the missing qualities of this process's share; merge when every quality has its file."""
    from safetensors.torch import save

    paths = sorted(p for folder in data for p in find_images(folder))
    effort = replace(EFFORTS["fast"], name=f"prior-{iterations}", iterations=iterations)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    out.mkdir(parents=True, exist_ok=True)
    for index, quality in enumerate(qualities):
        path = _quality_file(out, quality)
        if index % world != rank or path.is_file():
            continue
        note(f"fitting the prior of quality {quality:g} ({iterations} steps on a {tiles * crop}-px mosaic)")
        nets, record = fit_quality(paths, quality, effort, seed + index, tiles, crop)
        header = {"record": json.dumps(record)}
        atomic_write(path, save({k: v.contiguous() for k, v in nets.items()}, metadata=header))
        note(f"quality {quality:g}: {record}")
    if not all(_quality_file(out, q).is_file() for q in qualities):
        return None
    layout = f"{tiles}x{tiles} crops of {crop} px"
    return merge(qualities, out, data, iterations, seed, command, effort.architecture, layout)


def merge(qualities: list[float], out: Path, data: list[str], iterations: int, seed: int, command: str,
          architecture: Architecture, layout: str) -> Path:
    """Every quality's networks into one file ``out/overfit_prior.safetensors`` plus its card."""
    from safetensors import safe_open
    from safetensors.torch import save

    tensors, records = {}, []
    for quality in qualities:
        with safe_open(str(_quality_file(out, quality)), framework="pt") as f:
            records.append(json.loads(f.metadata()["record"]))
            for name in f.keys():
                tensors[f"q{quality:g}/{name}"] = f.get_tensor(name).to(torch.float32)
    card = {"model": "overfit-prior", "architecture": vars(architecture), "qualities": qualities,
            "lambdas": [r["lambda"] for r in records], "command": command, "data": data,
            "mosaic": f"{layout}, downscaled 0.5-1", "steps": iterations,
            "processes": int(os.environ.get("WORLD_SIZE", 1)),
            "seed": seed, "fits": records, "seconds": round(sum(r["seconds"] for r in records), 1),
            "hardware": f"{platform.machine()} CPU, {torch.get_num_threads()} thread(s)",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = out / PRIOR_PATH.name
    metadata = {"codeclab.model": "overfit-prior", "architecture": json.dumps(vars(architecture), sort_keys=True)}
    atomic_write(path, save(tensors, metadata=metadata))
    atomic_write(path.with_suffix(".json"), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path
