"""Padding a picture to a whole number of blocks, and cropping it back.

Block codecs code a picture of ``ceil(H / m) m`` x ``ceil(W / m) m`` samples and signal the
real size, which the decoder crops out again (HEVC's conformance window, ITU-T H.265
§7.4.3.2.1). Padding goes at the bottom and the right only, so the picture keeps its origin
and cropping is a plain slice. The padded samples are never shown, so the best padding is
the cheapest to code: repeating the edge sample ("replicate", what HM and most encoders do)
continues the picture without a new edge.

Padding is done by gathering with an index vector along each axis, e.g. for replicate::

    rows = [0, 1, ..., H-1, H-1, H-1]        (clamped to the last row)
    padded = x[..., rows, :][..., :, cols]

which works for every dtype, uint8 and uint16 included (``torch.nn.functional.pad`` in
replicate mode does not), and on any leading dimensions.
"""

from __future__ import annotations

import torch

from codeclab.errors import InputError

PAD_MODES = ("replicate", "reflect", "zeros")


def padded_size(height: int, width: int, multiple: int | tuple[int, int]) -> tuple[int, int]:
    """The smallest (H', W') >= (height, width) that are multiples of ``multiple`` (int or (mh, mw))."""
    mh, mw = (multiple, multiple) if isinstance(multiple, int) else multiple
    if mh < 1 or mw < 1:
        raise InputError(f"padding multiple must be positive, got {multiple}")
    return -(-height // mh) * mh, -(-width // mw) * mw


def _source_index(length: int, padded: int, mode: str, device: torch.device) -> torch.Tensor:
    """For each output position 0..padded-1, the input position it copies."""
    i = torch.arange(padded, device=device)
    if mode == "reflect" and length > 1:
        # Mirror about the last sample without repeating it (..., L-2, L-1, L-2, ...); the
        # pattern has period 2(L - 1), so any amount of padding is defined.
        period = 2 * (length - 1)
        i = i % period
        return torch.where(i < length, i, period - i)
    return i.clamp(max=length - 1)


def pad_to_multiple(x: torch.Tensor, multiple: int | tuple[int, int], mode: str = "replicate") -> torch.Tensor:
    """Pad a (..., H, W) tensor at the bottom/right to multiples of ``multiple``.

    ``mode``: "replicate" (repeat the edge), "reflect" (mirror, edge not repeated) or
    "zeros". The input is returned unchanged (not copied) when it already fits.
    """
    if mode not in PAD_MODES:
        raise InputError(f"padding mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    if x.dim() < 2 or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise InputError(f"expected a non-empty (..., H, W) tensor, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    out_h, out_w = padded_size(height, width, multiple)
    if (out_h, out_w) == (height, width):
        return x
    if mode == "zeros":
        out = x.new_zeros(x.shape[:-2] + (out_h, out_w))
        out[..., :height, :width] = x
        return out
    rows = _source_index(height, out_h, mode, x.device)
    cols = _source_index(width, out_w, mode, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The top-left (..., height, width) of ``x`` (a view): undoes :func:`pad_to_multiple`."""
    if x.dim() < 2 or not (1 <= height <= x.shape[-2] and 1 <= width <= x.shape[-1]):
        raise InputError(f"cannot crop {height}x{width} out of shape {tuple(x.shape)}")
    return x[..., :height, :width]
