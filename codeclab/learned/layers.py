"""The layers of the hyperprior family: strided convolutions and GDN.

**Down- and up-sampling.** Analysis transforms use ``k x k`` convolutions of stride 2 with
"same" padding ``k // 2``; synthesis transforms the transposed convolution with padding
``k // 2`` and output padding ``s - 1``, which maps ``H x W`` to exactly ``sH x sW``.

:class:`Deconv` keeps the transposed convolution's parameters (Ballé's 5 x 5 kernels) but
runs it as its *polyphase* forward convolution: output sample ``o = s u + r`` only sees
the kernel taps ``t = r + p - s (i - u)``, so each of the ``s^2`` output phases ``(r, q)``
is an ordinary convolution of the input with a ``K' x K'`` sub-kernel, and a pixel
shuffle interleaves the phases (Shi et al., "Is the deconvolution layer the same as a
convolutional layer?", 2016). The phases are stacked phase-major::

    W'[(r s + q) C + c, i, a, b] = W[i, c, r + p - s (a - P'), q + p - s (b - P')]   (0 if outside)

For 5 x 5, stride 2: K' = 3, P' = 1, and W' holds 36 taps per pair of channels where the
transposed convolution has 25; :func:`phase_kernels` trims each phase to its own kernel
(3x3, 3x2, 2x3, 2x2), which the decoder uses. Why forward convolutions at all: a band of
output rows then needs just a band of input rows plus P' on each side, which is how
:mod:`.banded` makes the reconstruction independent of the thread count.

**GDN** (Ballé, Laparra, Simoncelli, "Density modeling of images using a generalized
normalization transformation", ICLR 2016; "End-to-end optimized image compression", ICLR
2017), per pixel over channels ``i``::

    GDN:   y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
    IGDN:  y_i = x_i * sqrt(beta_i + sum_j gamma_ij x_j^2)      (its approximate inverse)

``beta > 0`` and ``gamma >= 0`` are kept positive by the reparametrisation of Ballé 2017
(appendix): ``beta = max(b, sqrt(beta_min + eps))^2 - eps`` with a pedestal
``eps = 2^-36`` keeping the gradient alive near zero. The bound passes its gradient
straight through (:func:`~codeclab.entropy.quantization.lower_bound`). The channel sum is
one matrix product over the pixels of a channels-last tensor (``(N H W, C) @ gamma^T``),
about twice as fast as a 1 x 1 convolution on CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.entropy.quantization import lower_bound

#: The pedestal of the non-negative reparametrisation (Ballé 2017).
PEDESTAL = 2.0 ** -36


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """``k x k`` convolution with "same" padding: ``H x W -> H/s x W/s``."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> Deconv:
    """``k x k`` transposed convolution: ``H x W -> sH x sW`` (run as its polyphase convolution)."""
    return Deconv(in_channels, out_channels, kernel_size, stride)


def parameters_key(module: nn.Module) -> tuple:
    """Identity and version of each parameter: changes whenever one is replaced or updated in
    place (optimizer steps, ``load_state_dict``), so derived tensors can be cached on it."""
    return tuple((p.data_ptr(), p.device, -1 if p.is_inference() else p._version) for p in module.parameters())


def phase_taps(kernel_size: int, stride: int, padding: int) -> tuple[Tensor, int]:
    """``(taps, P')``: ``taps[r, a]`` is the kernel tap that output phase ``r`` applies to input
    ``u + a - P'`` (``t = r + p - s (a - P')``), or -1 where that tap lies outside the kernel."""
    s = stride
    reach = max(padding + s - 1, kernel_size - 1 - padding + s - 1) // s  # P': farthest input seen
    taps = torch.full((s, 2 * reach + 1), -1, dtype=torch.long)
    for r in range(s):
        for a in range(2 * reach + 1):
            t = r + padding - s * (a - reach)
            if 0 <= t < kernel_size:
                taps[r, a] = t
    return taps, reach


def polyphase_kernel(weight: Tensor, stride: int, padding: int) -> tuple[Tensor, int]:
    """The forward convolution equivalent to a transposed one, before :func:`pixel_shuffle`.

    ``weight`` (C_in, C_out, k, k) of ``conv_transpose2d(stride, padding, output_padding =
    stride - 1)`` -> ``(W', P')`` with ``W'`` of shape (s^2 C_out, C_in, K', K'), phase-major,
    for ``conv2d(padding=P')`` (module docstring). Differentiable: a gather with zeros.
    """
    c_in, c_out, k, _ = weight.shape
    s = stride
    taps, reach = phase_taps(k, s, padding)
    valid = taps >= 0
    rows = taps.clamp_min(0)
    # gathered[i, c, r, a, q, b] = W[i, c, taps[r, a], taps[q, b]]
    gathered = weight[:, :, rows[:, :, None, None], rows[None, None, :, :]]
    mask = (valid[:, :, None, None] & valid[None, None, :, :]).to(weight.dtype)
    sub = gathered * mask  # (C_in, C_out, s, K', s, K')
    sub = sub.permute(2, 4, 1, 0, 3, 5).reshape(s * s * c_out, c_in, 2 * reach + 1, 2 * reach + 1)
    return sub, reach


def phase_kernels(weight: Tensor, stride: int, padding: int) -> tuple[list[tuple[int, int, int, int, Tensor]], int]:
    """Each output phase's own kernel, ``W'`` without its rows and columns of zeros.

    Returns ``([(r, q, a0, b0, K_rq)], P')``: phase ``(r, q)`` is ``conv2d`` of the input padded
    by ``P'``, starting at row ``a0`` and column ``b0``, with ``K_rq`` (C_out, C_in, kr, kq). For
    5 x 5 / 2 the kernels are 3x3, 3x2, 2x3, 2x2: the 25 taps, none of the 36 - 25 zeros.
    """
    c_out = weight.shape[1]
    full, reach = polyphase_kernel(weight, stride, padding)
    taps, _ = phase_taps(weight.shape[-1], stride, padding)
    spans = [(int(v.nonzero().min()), int(v.nonzero().max()) + 1) for v in taps >= 0]  # valid rows per phase
    kernels = []
    for r, (a0, a1) in enumerate(spans):
        for q, (b0, b1) in enumerate(spans):
            block = full[(r * stride + q) * c_out:(r * stride + q + 1) * c_out]
            kernels.append((r, q, a0, b0, block[:, :, a0:a1, b0:b1].contiguous()))
    return kernels, reach


class Deconv(nn.ConvTranspose2d):
    """A transposed convolution computed as ``pixel_shuffle(conv2d(x, W'))`` (module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f"Deconv needs an odd kernel (sH x sW output), got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2,
                         output_padding=stride - 1)

    def _derived(self, name: str, compute):
        """``compute()``, kept until the weights change when autograd is off."""
        if torch.is_grad_enabled() and self.weight.requires_grad:
            return compute()
        key = parameters_key(self)
        cached = self.__dict__.get(name)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, compute())
            self.__dict__[name] = cached
        return cached[1]

    def polyphase(self) -> tuple[Tensor, Tensor | None, int]:
        """``(W', bias repeated per phase, P')``."""
        def compute():
            s = self.stride[0]
            weight, reach = polyphase_kernel(self.weight, s, self.padding[0])
            return weight.contiguous(), None if self.bias is None else self.bias.repeat(s * s), reach
        return self._derived("_polyphase", compute)

    def phases(self) -> tuple[list[tuple[int, int, int, int, Tensor]], int]:
        """:func:`phase_kernels` of this layer."""
        return self._derived("_phases", lambda: phase_kernels(self.weight, self.stride[0], self.padding[0]))

    def forward(self, x: Tensor) -> Tensor:
        weight, bias, reach = self.polyphase()
        return pixel_shuffle(F.conv2d(x, weight, bias, padding=reach), self.stride[0])


def pixel_shuffle(x: Tensor, s: int) -> Tensor:
    """Interleave phase-major phases: (N, s^2 C, H, W) -> (N, C, sH, sW), channels-last.

    Channel ``(r s + q) C + c`` goes to row ``s h + r``, column ``s w + q`` of channel ``c``;
    in the channels-last layout that is one permutation of a 6-d view (one copy).
    """
    n, channels, h, w = x.shape
    c = channels // (s * s)
    nhwc = x.permute(0, 2, 3, 1).reshape(n, h, w, s, s, c).permute(0, 1, 3, 2, 4, 5)
    return nhwc.reshape(n, h * s, w * s, c).permute(0, 3, 1, 2)


def nonnegative(parameter: Tensor, minimum: float = 0.0) -> Tensor:
    """``max(p, sqrt(minimum + eps))^2 - eps``: the value of a reparametrised non-negative parameter."""
    bound = (minimum + PEDESTAL) ** 0.5
    return lower_bound(parameter, bound).square() - PEDESTAL


def nonnegative_init(value: Tensor) -> Tensor:
    """The parameter whose :func:`nonnegative` value is ``value``."""
    return torch.sqrt(torch.clamp(value + PEDESTAL, min=PEDESTAL))


class GDN(nn.Module):
    """Generalized divisive normalization (``inverse=False``) or its inverse, IGDN."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6,
                 gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_min = beta_min
        self.beta = nn.Parameter(nonnegative_init(torch.ones(channels)))
        self.gamma = nn.Parameter(nonnegative_init(gamma_init * torch.eye(channels)))

    def forward(self, x: Tensor) -> Tensor:
        beta = nonnegative(self.beta, self.beta_min)
        gamma = nonnegative(self.gamma)
        n, c, h, w = x.shape
        pixels = x.permute(0, 2, 3, 1).reshape(-1, c)  # a view when x is channels-last
        norm = torch.addmm(beta, pixels.square(), gamma.t())
        norm = norm.sqrt_() if self.inverse else norm.rsqrt_()  # in place: pictures are large
        # Without autograd the product can overwrite ``norm`` too (same bits: x * n == n * x).
        out = pixels * norm if torch.is_grad_enabled() else norm.mul_(pixels)
        return out.reshape(n, h, w, c).permute(0, 3, 1, 2)  # channels-last (N, C, H, W)
