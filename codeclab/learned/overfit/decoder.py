"""The overfitted codec's decoder: parse, decode the latents with the integer ARM, synthesise.

Normative, and all of it exact integer arithmetic (:mod:`.arm`, :mod:`.synthesis`), so the
picture is the same on every machine and thread count; the encoder calls
:func:`reconstruct` on its own quantised latents and networks to get its reconstruction.
Imports nothing of the encoder. Pictures are limited to :data:`MAX_PIXELS` (4K UHD fits) and
the synthesis runs in bands of :data:`BAND_ROWS` rows, so memory stays near 1 GB at the
largest size; the bands overlap by the reach of the two 3x3 layers, so the picture is the
same as in one piece.
"""

from __future__ import annotations

import numpy as np
import torch

from codeclab.errors import BitstreamError
from codeclab.learned.overfit.architecture import MAX_PIXELS
from codeclab.learned.overfit.latents import decode_latents
from codeclab.learned.overfit.syntax import (QuantizedNetworks, integer_arm, integer_synthesis, unpack_params,
                                             unpack_payload)
from codeclab.learned.overfit.synthesis import ACT_FRAC, combine, integer_to_pixels, synthesize


def reconstruct(grids: list[np.ndarray], q: QuantizedNetworks, height: int, width: int) -> torch.Tensor:
    """Integer latent grids + quantised networks -> (3, H, W) uint8 picture."""
    taps, tap_shift, params, shifts = integer_synthesis(q)
    latents = [torch.from_numpy(np.ascontiguousarray(g, np.float64))[None, None] * 2.0 ** ACT_FRAC for g in grids]
    picture = torch.empty(3, height, width, dtype=torch.uint8)
    with torch.no_grad():
        x = combine(latents, taps, tap_shift)
        for r0 in range(0, height, BAND_ROWS):
            r1 = min(r0 + BAND_ROWS, height)
            lo, hi = max(r0 - HALO, 0), min(r1 + HALO, x.shape[-2])
            band = synthesize(x[:, :, lo:hi], params, shifts)
            picture[:, r0:r1] = integer_to_pixels(band[0, :, r0 - lo: r1 - lo, :width])
    return picture


#: Rows of picture synthesised at a time, and the overlap the two 3x3 layers need.
BAND_ROWS = 256
HALO = 2


def check_size(height: int, width: int) -> None:
    if height * width > MAX_PIXELS:
        raise BitstreamError(f"overfit pictures hold at most {MAX_PIXELS} pixels, not {width}x{height}")


def decode_parts(height: int, width: int, params: bytes, payload: bytes) -> tuple[list[np.ndarray], QuantizedNetworks]:
    """The latent grids and networks of a stream; ``BitstreamError`` if it is damaged."""
    check_size(height, width)
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
