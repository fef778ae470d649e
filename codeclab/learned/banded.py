"""The synthesis transform in row bands: the same reconstruction for any thread count.

A decoder's picture must not depend on how many threads decoded it. The table choices are
exact by construction (:mod:`.integer`); the synthesis transform ``g_s`` is float32, and a
multi-threaded convolution may split its work -- and so order its sums and round them --
differently for 1, 2 or 3 threads (oneDNN does, for some shapes, by up to 1e-6: enough to
move a few samples across a rounding boundary of the 8-bit output).

So decoding fixes the work split itself. Every upsampling layer (``Deconv``, then IGDN)
is cut into bands of :data:`BAND_ROWS` input rows; a band of output rows needs only its
input rows and ``P'`` more on each side (zeros beyond the picture), and each of the s^2
output phases is a convolution with its own small kernel (:func:`~.layers.phase_kernels`:
3x3, 3x2, 2x3, 2x2 for Ballé's 5x5 / 2, the transposed convolution's 25 taps exactly)::

    input rows [r0 - P', r1 + P')  --conv2d per phase (r, q)-->  rows [r0, r1) of phase (r, q)
        --IGDN per pixel-->  written to output rows s*[r0, r1) + r, columns s*w + q

Each band runs on *one* thread (intra-op threads set to 1) and the bands are spread over a
pool as large as the thread count asked for. The floating-point work of every output
sample is then fixed by the picture's size alone -- the band layout and single-threaded
kernels -- and the thread count only decides which worker computes which band. The result
is identical across thread counts by construction, and equal to the layer-by-layer float
computation up to rounding. It is not a promise across CPUs: another vector width picks
other kernels.

IGDN is per pixel, so it runs on each phase before the interleave, and its last product
is written straight into the interleaved output: the pixel shuffle costs no pass of its
own. Batches are decoded picture by picture, so the batch size does not matter either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.learned.layers import GDN, Deconv, nonnegative
from codeclab.learned.parallel import bands, for_each, row_workers, rows_with_halo

#: Input rows per band: fixed, so the split never depends on the thread count.
BAND_ROWS = 16


def upsampling_steps(g_s: nn.Sequential) -> list[tuple[Deconv, GDN | None]]:
    """``g_s`` as (Deconv, following IGDN or None) pairs."""
    steps, layers = [], list(g_s)
    while layers:
        deconv = layers.pop(0)
        if not isinstance(deconv, Deconv):
            raise TypeError(f"banded synthesis takes Deconv [+ IGDN] layers, got {type(deconv).__name__}")
        gdn = layers.pop(0) if layers and isinstance(layers[0], GDN) else None
        if gdn is not None and not gdn.inverse:
            raise TypeError("banded synthesis takes IGDN after a Deconv, not GDN")
        steps.append((deconv, gdn))
    return steps


def phase_target(out: Tensor, r0: int, r1: int, s: int) -> Tensor:
    """Output rows ``[s r0, s r1)`` of one picture as a (rows, columns, r, q, C) view."""
    c, width = out.shape[1], out.shape[-1] // s
    rows = out[0, :, s * r0:s * r1]  # (C, s h, s w)
    return rows.view(c, r1 - r0, s, width, s).permute(1, 3, 2, 4, 0)


def upsample_band(x: Tensor, out: Tensor, r0: int, r1: int, phases: list, bias: Tensor | None,
                  reach: int, s: int, gdn: tuple[Tensor, Tensor] | None) -> None:
    """Rows ``[r0, r1)`` of every phase of one picture: convolutions, IGDN, interleave into ``out``."""
    band = rows_with_halo(x, r0, r1, reach)
    h, w = r1 - r0, x.shape[-1]
    target = phase_target(out, r0, r1, s)
    for r, q, a0, b0, kernel in phases:
        kh, kw = kernel.shape[-2:]
        # Columns are padded by the convolution itself; the phase starts b0 columns in.
        y = F.conv2d(band[:, :, a0:a0 + h + kh - 1], kernel, bias, padding=(0, reach))
        pixels = y[0].permute(1, 2, 0)  # (h, w', C), contiguous: channels-last
        if gdn is None:
            target[:, :, r, q].copy_(pixels[:, b0:b0 + w])
            continue
        beta, gamma_t = gdn
        flat = pixels.reshape(-1, pixels.shape[-1])
        norm = torch.addmm(beta, flat.square(), gamma_t).sqrt_().view(pixels.shape)
        torch.mul(pixels[:, b0:b0 + w], norm[:, b0:b0 + w], out=target[:, :, r, q])


def upsample(deconv: Deconv, gdn: GDN | None, x: Tensor, memory_format: torch.memory_format) -> Tensor:
    """One Deconv (+ IGDN) on a batch, band by band, picture by picture."""
    phases, reach = deconv.phases()
    s = deconv.stride[0]
    n, _, height, width = x.shape
    out = torch.empty(n, deconv.out_channels, s * height, s * width, device=x.device)
    out = out.contiguous(memory_format=memory_format)
    norm = None if gdn is None else (nonnegative(gdn.beta, gdn.beta_min), nonnegative(gdn.gamma).t().contiguous())

    def run(job) -> None:
        i, (r0, r1) = job
        upsample_band(x[i:i + 1], out[i:i + 1], r0, r1, phases, deconv.bias, reach, s, norm)

    for_each([(i, rows) for i in range(n) for rows in bands(height, BAND_ROWS)], run)
    return out


@torch.no_grad()
def synthesize(g_s: nn.Sequential, y: Tensor) -> Tensor:
    """``g_s(y)`` for decoding: bands on CPU (module docstring); the plain modules elsewhere."""
    if y.device.type != "cpu":
        return g_s(y)
    x = y.contiguous(memory_format=torch.channels_last)
    steps = upsampling_steps(g_s)
    with row_workers():
        for k, (deconv, gdn) in enumerate(steps):
            last = k == len(steps) - 1  # the picture itself: plain NCHW
            x = upsample(deconv, gdn, x, torch.contiguous_format if last else torch.channels_last)
    return x
