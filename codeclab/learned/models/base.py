"""What the hyperprior family shares: Ballé's transforms, gain units, and coding the latents.

Every model here is a variational autoencoder for compression (Ballé et al., "End-to-end
optimized image compression", ICLR 2017; "Variational image compression with a scale
hyperprior", ICLR 2018)::

    x --g_a--> y --*gain--> y_g --Q--> y_hat_g --*inverse gain--> g_s --> x_hat
                                          |
                                    entropy coded with a prior (factorized, hyper, context)

with the analysis ``g_a`` four stride-2 5x5 convolutions separated by GDN, and the
synthesis ``g_s`` its mirror with transposed convolutions and IGDN, so a picture of
``H x W`` has a latent of ``H/16 x W/16 x M`` (``N`` channels inside). Hyper-latents
downsample by 4 more; pictures are coded padded to multiples of :data:`SIZE_MULTIPLE`.

Quantization while training follows Minnen and Singh ("Channel-wise autoregressive entropy
models", ICIP 2020): the rate term sees ``y + U(-1/2, 1/2)`` (a smooth bound of the
rate), the synthesis and the context model see ``round(y - mu) + mu`` with a
straight-through gradient, as they will at test time. Hyper-latents ``z`` are fed to the
hyper-synthesis with noise (Ballé 2018), so it learns to accept any offset the coder's
rounding around the per-channel median may give.

Coding a Gaussian latent (``encode_gaussian``): the table index of every element and its
mean come from the integer programs of :mod:`..integer`, identical in encoder and decoder;
symbols ``round(y - mu)`` go to one ANS stream (:func:`~codeclab.entropy.encode_symbols`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor, nn

from codeclab.entropy.conditional import GaussianConditional
from codeclab.entropy.factorized import EntropyBottleneck
from codeclab.entropy.quantization import from_symbols, to_symbols
from codeclab.entropy.stream import decode_symbols, encode_symbols
from codeclab.entropy.tables import CdfTables, ScaleGrid, parametric_tables
from codeclab.learned import banded, integer
from codeclab.learned.gain import DEFAULT_LAMBDAS, GainUnits
from codeclab.learned.layers import GDN, conv, deconv, parameters_key
from codeclab.learned.parallel import row_workers

#: Pictures are coded padded to a multiple of this (four stride-2 layers, then two more).
SIZE_MULTIPLE = 64

#: The scale grid of every Gaussian latent (CodecLab's default: 16 steps per octave).
GRID = ScaleGrid()

#: Negative slope of the LeakyReLUs: a power of two, so the integer networks shift.
LEAKY_SLOPE = 2.0 ** -4


def leaky_relu() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE)


def analysis_transform(N: int, M: int) -> nn.Sequential:
    """g_a: (3, H, W) -> (M, H/16, W/16), Ballé 2018."""
    return nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M))


def synthesis_transform(N: int, M: int) -> nn.Sequential:
    """g_s: (M, H/16, W/16) -> (3, H, W), Ballé 2018."""
    return nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
                         deconv(N, N), GDN(N, inverse=True), deconv(N, 3))


def scales_from_log2(log2_scales: Tensor) -> Tensor:
    """``2^L``, capped at the grid's largest scale (the likelihood bounds the smallest)."""
    return torch.exp2(log2_scales.clamp(max=GRID.k_max / GRID.steps_per_octave))


def bottleneck_likelihoods(bottleneck: EntropyBottleneck, z: Tensor) -> tuple[Tensor, Tensor]:
    """``bottleneck(z)`` -> (z_hat, likelihoods) in float32 even under autocast: a bfloat16
    likelihood has 3 significant digits, too few for its ``-log2``."""
    with torch.autocast(z.device.type, enabled=False):
        return bottleneck(z.float())


def gaussian_likelihoods(gaussian: GaussianConditional, y: Tensor, log2_scales: Tensor,
                         means: Tensor | None = None) -> Tensor:
    """Likelihoods of ``y`` (noisy in training) under N(mu, (2^L)^2), in float32."""
    with torch.autocast(y.device.type, enabled=False):
        _, likelihoods = gaussian(y.float(), scales_from_log2(log2_scales.float()),
                                  None if means is None else means.float())
    return likelihoods


def gaussian_tables() -> CdfTables:
    """The integer tables of the Gaussian at every grid scale (built once per process)."""
    return parametric_tables("gaussian", GRID)


def encode_gaussian(y: Tensor, indexes: Tensor, means: Tensor | None) -> bytes:
    """Symbols ``round(y - mu)`` coded with tables ``indexes`` (``means`` on the 1/64 grid)."""
    symbols = to_symbols(y, means).cpu().numpy()
    return encode_symbols(symbols, indexes.cpu().numpy(), gaussian_tables())


def decode_gaussian(data: bytes, indexes: Tensor, means: Tensor | None) -> Tensor:
    """Inverse of :func:`encode_gaussian`: ``y_hat = symbol + mu`` (float32, shape of ``indexes``)."""
    symbols = decode_symbols(data, indexes.cpu().numpy(), gaussian_tables())
    symbols = torch.from_numpy(symbols).reshape(indexes.shape).to(indexes.device)
    return from_symbols(symbols, means)


def cached_program(module: nn.Module, build: Callable[[nn.Module], integer.Program] = integer.integerize,
                   ) -> integer.Program:
    """``build(module)``, an integer program, rebuilt only when one of the module's parameters
    changed (optimizer steps and ``load_state_dict`` bump the tensors' version counters)."""
    key = parameters_key(module)
    slot = f"_program_{build.__name__}"  # a plain attribute: not a parameter, never saved
    cached = getattr(module, slot, None)
    if cached is None or cached[0] != key:
        with torch.no_grad():
            cached = (key, build(module))
        setattr(module, slot, cached)
    return cached[1]


def decoding(method: Callable) -> Callable:
    """Decorator of ``decompress``: no autograd, and torch's intra-op threads turned into row
    workers for the whole call (:mod:`..parallel`), shared by the integer programs and g_s."""
    @functools.wraps(method)
    def decode(*args, **kwargs):
        with torch.no_grad(), row_workers():
            return method(*args, **kwargs)
    return decode


def check_picture(x: Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected pictures of shape (N, 3, H, W), got {tuple(x.shape)}")
    if x.shape[-2] % SIZE_MULTIPLE or x.shape[-1] % SIZE_MULTIPLE:
        raise ValueError(f"picture sides must be multiples of {SIZE_MULTIPLE} (pad first), "
                         f"got {x.shape[-1]}x{x.shape[-2]}")


class CompressionModel(nn.Module):
    """Transforms and gain units of a model with ``N`` inner and ``M`` latent channels.

    Subclasses add a prior and implement ``forward(x, lmbda)``, ``compress(x, lmbda)`` and
    ``decompress(strings, shape, lmbda)``.
    """

    size_multiple = SIZE_MULTIPLE
    variable_rate = True
    #: Picture pixels per element of the ``shape`` that ``compress`` returns (the hyper-latent's).
    shape_stride = 64

    def __init__(self, N: int, M: int, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__()
        self.N, self.M = int(N), int(M)
        self.g_a = analysis_transform(N, M)
        self.g_s = synthesis_transform(N, M)
        self.gain = GainUnits(M, lambdas)

    @property
    def lambdas(self) -> tuple[float, ...]:
        return self.gain.lambdas

    def analyze(self, x: Tensor, lmbda: Tensor | float) -> Tensor:
        """``y_g = g_a(x) * gain(lambda)``, channels-last."""
        gain, _ = self.gain(lmbda)
        return self.g_a(x.contiguous(memory_format=torch.channels_last)) * gain.to(x.dtype)

    def synthesize(self, y_hat: Tensor, lmbda: Tensor | float) -> Tensor:
        """``x_hat = g_s(y_hat_g * inverse_gain(lambda))`` (unclamped)."""
        _, inverse = self.gain(lmbda)
        return self.g_s((y_hat * inverse.to(y_hat.dtype)).contiguous(memory_format=torch.channels_last))

    def reconstruct(self, y_hat: Tensor, lmbda: Tensor | float) -> dict:
        """The decoder's last step: ``{"x_hat": clamp(g_s(y_hat_g * g'), 0, 1)}`` (NCHW), with
        g_s run in row bands so the picture is the same for any thread count (:mod:`..banded`)."""
        _, inverse = self.gain(lmbda)
        x_hat = banded.synthesize(self.g_s, y_hat * inverse.to(y_hat.dtype))
        return {"x_hat": x_hat.clamp_(0.0, 1.0).contiguous()}
