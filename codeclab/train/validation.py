"""Validation during training: rate and distortion on whole pictures, the rate real when possible.

A training loss only *estimates* the rate, as ``sum(-log2 p)`` of the model's likelihoods
(:mod:`.losses`). What a codec is judged by is the size of what it writes, so validation
measures a real size whenever it can, in this order:

1. a ``measure_real_rate(model, image, **conditioning) -> (num_bytes, x_hat)`` callable
   given to the loop (e.g. one that writes a complete ``.clb`` file and takes its length);
2. the model's own coder, CompressAI's convention::

       enc = model.compress(x, **conditioning)        # {"strings": [[bytes, ...], ...], "shape": ...}
       dec = model.decompress(enc["strings"], enc["shape"], **conditioning)   # {"x_hat": ...}

   whose rate is the total length of the entropy-coded strings (the payload; the
   container's header of a few bytes is not counted);
3. otherwise the model's estimate, from a forward pass in evaluation mode.

The result names its rate ``bpp_real`` or ``bpp_estimated``, never plain ``bpp``, so an
estimate cannot pass for a file size in a log or a model card. Rates are per pixel of the
picture itself (``8 * bytes / (H * W)``), distortion is measured on the reconstruction
rounded to 8 bits, as a decoder would output it; both are means over the pictures
(CompressAI's ``eval_model`` convention).

Pictures are padded at the bottom/right to ``model.size_multiple`` (1 when the model does
not say), replicating the edge (:mod:`codeclab.io.padding`), and cropped back. Coding a
model builds its integer tables first (``model.update()``, when it has one); that happens
on a copy, so training never sees the tables or any other side effect of validation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from codeclab.eval.metrics import ms_ssim_rgb, psnr_rgb
from codeclab.io.padding import crop, pad_to_multiple
from codeclab.train.datasets import to_unit_float
from codeclab.train.losses import bits_per_pixel

RateMeasure = Callable[..., tuple[int, Tensor]]


def has_compress_hook(model: nn.Module) -> bool:
    """True when the model codes pictures itself (``compress`` and ``decompress`` methods)."""
    return callable(getattr(model, "compress", None)) and callable(getattr(model, "decompress", None))


def count_bytes(strings) -> int:
    """Total length of the byte strings in a nested list/tuple (CompressAI's ``strings``)."""
    if isinstance(strings, (bytes, bytearray)):
        return len(strings)
    return sum(count_bytes(s) for s in strings)


def to_uint8(x_hat: Tensor) -> Tensor:
    """A reconstruction as the 8-bit picture a decoder outputs: ``round(255 * clamp(x, 0, 1))``."""
    if x_hat.dtype == torch.uint8:
        return x_hat
    return torch.round(x_hat.detach().float().clamp(0.0, 1.0) * 255.0).to(torch.uint8)


def _model_device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _padded_input(model: nn.Module, image: Tensor) -> Tensor:
    """(3, H, W) uint8 -> (1, 3, H', W') float in [0, 1], padded to ``model.size_multiple``."""
    x = to_unit_float(image[None].to(_model_device(model)))
    return pad_to_multiple(x, int(getattr(model, "size_multiple", 1)))


@torch.no_grad()
def compress_hook_rate(model: nn.Module, image: Tensor, **conditioning) -> tuple[int, Tensor]:
    """``(payload bytes, (3, H, W) uint8)`` from the model's own ``compress``/``decompress``."""
    height, width = image.shape[-2:]
    encoded = model.compress(_padded_input(model, image), **conditioning)
    decoded = model.decompress(encoded["strings"], encoded["shape"], **conditioning)
    return count_bytes(encoded["strings"]), to_uint8(crop(decoded["x_hat"][0], height, width)).cpu()


@torch.no_grad()
def estimated_rate(model: nn.Module, image: Tensor, **conditioning) -> tuple[float, Tensor]:
    """``(estimated bpp, (3, H, W) uint8)`` from one forward pass (``model`` in eval mode)."""
    height, width = image.shape[-2:]
    output = model(_padded_input(model, image), **conditioning)
    bpp = float(bits_per_pixel(output["likelihoods"], height * width)[0])
    return bpp, to_uint8(crop(output["x_hat"][0], height, width)).cpu()


def validate(model: nn.Module, pictures: Sequence[tuple[str, Tensor]], conditioning: dict | None = None, *,
             measure_real_rate: RateMeasure | None = None, with_ms_ssim: bool = False,
             keep: int = 2) -> tuple[dict[str, float], list[tuple[str, Tensor]]]:
    """Mean rate and quality of ``model`` over ``pictures`` (``(name, (3, H, W) uint8)``).

    Returns ``({"bpp_real" or "bpp_estimated": ..., "psnr": ..., ["ms_ssim": ...]},
    [(name, reconstruction) of the first ``keep`` pictures])``. ``model`` itself is not
    changed: the work happens on an evaluation-mode copy.
    """
    conditioning = conditioning or {}
    model = copy.deepcopy(model).eval()
    real = measure_real_rate is not None or has_compress_hook(model)
    if real and measure_real_rate is None:
        if callable(getattr(model, "update", None)):
            model.update()
        measure_real_rate = compress_hook_rate
    rates, psnrs, ms_ssims, shown = [], [], [], []
    for name, image in pictures:
        height, width = image.shape[-2:]
        if real:
            num_bytes, x_hat = measure_real_rate(model, image, **conditioning)
            rate = 8.0 * num_bytes / (height * width)
            x_hat = to_uint8(x_hat).cpu()
        else:
            rate, x_hat = estimated_rate(model, image, **conditioning)
        rates.append(rate)
        psnrs.append(psnr_rgb(image, x_hat))
        if with_ms_ssim:
            ms_ssims.append(ms_ssim_rgb(image, x_hat))
        if len(shown) < keep:
            shown.append((name, x_hat))
    result = {"bpp_real" if real else "bpp_estimated": sum(rates) / len(rates), "psnr": sum(psnrs) / len(psnrs)}
    if with_ms_ssim:
        result["ms_ssim"] = sum(ms_ssims) / len(ms_ssims)
    return result, shown
