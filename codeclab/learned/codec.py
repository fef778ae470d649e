"""The learned models as CodecLab codecs: ``codeclab encode --codec learned --quality 5.5``.

Each registered model of :mod:`.models` is a :class:`~codeclab.codec.Codec` over its
shipped weights (:mod:`.weights`); ``learned`` names the flagship. Quality is continuous in
1..8 (higher is better) and picks a point on the model's lambda ladder by geometric
interpolation (gain units, :mod:`.gain`): quality ``q`` is ladder position
``(q - 1) / 7 * (K - 1)``, so 1 and 8 are the ladder's ends (about 0.1 and 1.5 bpp on
Kodak for the default ladder). Quality is kept in steps of 1/256, the precision the
parameter block stores.

Encoding pads the picture at the bottom/right to a multiple of 64 (replicating the edge),
runs ``model.compress``, and takes as reconstruction ``model.decompress`` of the very
strings it wrote, cropped: the decoder's output by construction.

Parameter block::

    u16  quality * 256
    u32  weights fingerprint       CRC-32 of the model's tensors (:func:`.weights.weights_fingerprint`)

Payload::

    u8   S                         number of entropy-coded streams (1 factorized, 2 hyperprior
                                   and mean-scale, 3 checkerboard: z, anchors, non-anchors)
    u16  h, u16 w                  shape of the latent ``compress`` names (picture / shape_stride)
    u32  length[S]                 byte length of each stream
    ...  streams                   each as :func:`codeclab.entropy.encode_symbols` wrote it

The decoder checks the fingerprint, the stream count, the shape against the container's
picture size and the lengths against the payload before any decoding (``BitstreamError``).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.codec import Codec, Encoded, register
from codeclab.errors import BitstreamError, InputError
from codeclab.learned.weights import has_pretrained

if TYPE_CHECKING:  # the models load when a picture is coded, not when the codec is listed
    import torch
    from torch import nn

#: Quality is stored in steps of 1/QUALITY_STEPS.
QUALITY_STEPS = 256

_PARAMS = struct.Struct(">HI")
_PAYLOAD_HEAD = struct.Struct(">BHH")
_LENGTH = struct.Struct(">I")


def quality_lambda(quality: float, lambdas: tuple[float, ...]) -> float:
    """The lambda of quality ``q`` in 1..8: ladder position ``(q - 1) / 7 * (K - 1)``."""
    from codeclab.learned.gain import lambda_at

    return lambda_at((quality - 1.0) / 7.0 * (len(lambdas) - 1), lambdas)


def pack_payload(strings: list[bytes], shape: tuple[int, int]) -> bytes:
    head = _PAYLOAD_HEAD.pack(len(strings), *shape)
    return head + b"".join(_LENGTH.pack(len(s)) for s in strings) + b"".join(strings)


def unpack_payload(payload: bytes, streams: int) -> tuple[list[bytes], tuple[int, int]]:
    """(streams, (h, w)); ``BitstreamError`` unless the payload holds exactly ``streams`` streams."""
    if len(payload) < _PAYLOAD_HEAD.size:
        raise BitstreamError("learned payload truncated before its header")
    count, h, w = _PAYLOAD_HEAD.unpack_from(payload, 0)
    if count != streams:
        raise BitstreamError(f"learned payload holds {count} streams, this model codes {streams}")
    at = _PAYLOAD_HEAD.size + count * _LENGTH.size
    if at > len(payload):
        raise BitstreamError("learned payload truncated in its stream lengths")
    lengths = [_LENGTH.unpack_from(payload, _PAYLOAD_HEAD.size + i * _LENGTH.size)[0] for i in range(count)]
    if at + sum(lengths) != len(payload):
        raise BitstreamError(f"learned payload: streams of {sum(lengths)} bytes announced, "
                             f"{len(payload) - at} present")
    strings = []
    for length in lengths:
        strings.append(payload[at:at + length])
        at += length
    return strings, (h, w)


def to_uint8(x_hat: torch.Tensor) -> torch.Tensor:
    """A reconstruction in [0, 1] -> 8-bit samples, ``round(255 x)``."""
    import torch

    return torch.round(x_hat.clamp(0.0, 1.0) * 255.0).to(torch.uint8)


class _Description:
    """``description`` computed on read (whether weights are shipped can change)."""

    def __get__(self, obj, owner) -> str:
        return owner.describe()


class LearnedCodec(Codec):
    """A registered model with its weights, as a still-image codec (module docstring).

    ``LearnedCodec()`` loads the shipped weights on first use; ``model=`` gives a model
    (e.g. randomly initialised, in tests) and ``weights=`` another .safetensors file.
    """

    model_name: ClassVar[str]
    model_class_name: ClassVar[str]  #: the model's class in :mod:`.models`
    streams: ClassVar[int]
    quality_range = (1.0, 8.0)
    integer_quality = False
    higher_is_better = True
    default_qualities = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    paper: ClassVar[str] = ""
    description = _Description()

    def __init__(self, model: nn.Module | None = None, weights: str | Path | None = None,
                 device: str | torch.device = "cpu") -> None:
        if model is not None:
            from codeclab.learned import models

            model_class = getattr(models, self.model_class_name)
            if not isinstance(model, model_class):
                raise InputError(f"codec {self.name} codes {model_class.__name__} models, got {type(model).__name__}")
        self._model = model.eval() if model is not None else None
        self._weights = weights
        self._device = device
        self._fingerprint: int | None = None

    @classmethod
    def describe(cls) -> str:
        shipped = "weights shipped" if has_pretrained(cls.model_name) else "no trained weights yet"
        return f"{cls.paper}, variable rate (gain units), quality 1..8 continuous; {shipped}"

    @property
    def model(self) -> nn.Module:
        if self._model is None:
            from codeclab.learned.weights import load_pretrained

            self._model = load_pretrained(self._weights or self.model_name, self._device)
        return self._model

    @property
    def fingerprint(self) -> int:
        if self._fingerprint is None:
            from codeclab.learned.weights import weights_fingerprint

            self._fingerprint = weights_fingerprint(self.model)
        return self._fingerprint

    def check_quality(self, quality: float) -> float:
        quality = super().check_quality(quality)
        return round(float(quality) * QUALITY_STEPS) / QUALITY_STEPS

    def _lambda(self, quality: float) -> torch.Tensor:
        import torch

        return torch.tensor([quality_lambda(quality, self.model.lambdas)])

    def _device_of_model(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        import torch

        from codeclab.io.padding import crop, pad_to_multiple

        model, lmbda = self.model, self._lambda(quality)
        height, width = image.shape[-2:]
        x = pad_to_multiple(image[None].to(self._device_of_model(), torch.float32) / 255.0, model.size_multiple)
        encoded = model.compress(x, lmbda)
        n, h, w = encoded["shape"]
        payload = pack_payload(encoded["strings"], (h, w))
        recon = model.decompress(encoded["strings"], encoded["shape"], lmbda)["x_hat"]
        params = _PARAMS.pack(round(quality * QUALITY_STEPS), self.fingerprint)
        stats = {"stream_bytes": [len(s) for s in encoded["strings"]]}
        return Encoded(params, payload, to_uint8(crop(recon[0], height, width)).cpu(), stats)

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        from codeclab.io.padding import crop, padded_size

        if header.color_format != ColorFormat.RGB or header.bit_depth != 8:
            raise BitstreamError(f"{self.name} pictures are 8-bit RGB, the header says "
                                 f"{header.color_format.name} {header.bit_depth}-bit")
        quality, fingerprint = self._unpack_params(params)
        if fingerprint != self.fingerprint:
            raise BitstreamError(f"{self.name} stream made with other weights "
                                 f"(fingerprint {fingerprint:08x}, these are {self.fingerprint:08x})")
        model = self.model
        strings, shape = unpack_payload(payload, self.streams)
        padded = padded_size(header.height, header.width, model.size_multiple)
        expected = (padded[0] // model.shape_stride, padded[1] // model.shape_stride)
        if shape != expected:
            raise BitstreamError(f"latent of {shape[1]}x{shape[0]} does not match a "
                                 f"{header.width}x{header.height} picture (expected {expected[1]}x{expected[0]})")
        recon = model.decompress(strings, (1, *shape), self._lambda(quality))["x_hat"]
        return to_uint8(crop(recon[0], header.height, header.width)).cpu()

    def _unpack_params(self, params: bytes) -> tuple[float, int]:
        if len(params) != _PARAMS.size:
            raise BitstreamError(f"{self.name} parameter block has {len(params)} bytes, expected {_PARAMS.size}")
        steps, fingerprint = _PARAMS.unpack(params)
        quality = steps / QUALITY_STEPS
        lo, hi = self.quality_range
        if not lo <= quality <= hi:
            raise BitstreamError(f"{self.name} quality {quality} outside {lo:g}..{hi:g}")
        return quality, fingerprint

    def describe_params(self, params: bytes) -> dict:
        quality, fingerprint = self._unpack_params(params)
        return {"model": self.model_name, "quality": quality, "weights_crc32": f"{fingerprint:08x}"}


@register
class Factorized(LearnedCodec):
    name = "factorized"
    codec_id = 0x0200
    model_name = "factorized"
    model_class_name = "FactorizedPrior"
    streams = 1
    paper = "factorized prior (Ballé et al. 2017/2018)"


@register
class Hyperprior(LearnedCodec):
    name = "hyperprior"
    codec_id = 0x0201
    model_name = "hyperprior"
    model_class_name = "ScaleHyperprior"
    streams = 2
    paper = "scale hyperprior (Ballé et al. 2018)"


@register
class MeanScale(LearnedCodec):
    name = "mean-scale"
    codec_id = 0x0202
    model_name = "mean-scale"
    model_class_name = "MeanScaleHyperprior"
    streams = 2
    paper = "mean-scale hyperprior (Minnen et al. 2018)"


@register
class Checkerboard(LearnedCodec):
    name = "checkerboard"
    codec_id = 0x0203
    model_name = "checkerboard"
    model_class_name = "CheckerboardMeanScale"
    streams = 3
    paper = "checkerboard context on the mean-scale hyperprior (He et al. 2021)"


@register
class Learned(Checkerboard):
    """The flagship under the name the README and ``codeclab bench`` use."""

    name = "learned"
    codec_id = 0x0204
    paper = "flagship = checkerboard (He et al. 2021 on Minnen et al. 2018)"

