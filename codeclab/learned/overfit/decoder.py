"""The overfitted codec's decoder: parse, decode the latents with the integer ARM, synthesise.

Normative, and all of it exact integer arithmetic (:mod:`.arm`, :mod:`.synthesis`), so the
picture is the same on every machine and thread count; the encoder calls
:func:`reconstruct` on its own quantised latents and networks to get its reconstruction.
Imports nothing of the encoder.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import BitstreamError
from .latents import decode_latents
from .synthesis import ACT_FRAC, combine, integer_to_pixels, synthesize
from .syntax import QuantizedNetworks, integer_arm, integer_synthesis, unpack_params, unpack_payload


def reconstruct(grids: list[np.ndarray], q: QuantizedNetworks, height: int, width: int) -> torch.Tensor:
    """Integer latent grids + quantised networks -> (3, H, W) uint8 picture."""
    taps, tap_shift, params, shifts = integer_synthesis(q)
    latents = [torch.from_numpy(np.ascontiguousarray(g, np.float64))[None, None] * 2.0 ** ACT_FRAC for g in grids]
    with torch.no_grad():
        x = combine(latents, taps, tap_shift)
        x = synthesize(x, params, shifts)
    return integer_to_pixels(x[0, :, :height, :width])


def decode_parts(height: int, width: int, params: bytes, payload: bytes) -> tuple[list[np.ndarray], QuantizedNetworks]:
    """The latent grids and networks of a stream; ``BitstreamError`` if it is damaged."""
    architecture, _ = unpack_params(params)
    q, latent_stream = unpack_payload(payload, architecture)
    grids, ok = decode_latents(latent_stream, architecture.latent_shapes(height, width), integer_arm(q))
    if not ok:
        raise BitstreamError("overfit latent stream is damaged")
    return grids, q


def decode_picture(height: int, width: int, params: bytes, payload: bytes) -> torch.Tensor:
    """The (3, H, W) uint8 picture of a stream; ``BitstreamError`` if it is damaged."""
    grids, q = decode_parts(height, width, params, payload)
    return reconstruct(grids, q, height, width)
