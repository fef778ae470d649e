"""The overfitted codec as CodecLab codecs: ``overfit`` (fast), ``overfit-medium``, ``overfit-slow``.

The three names share one bitstream format and one decoder; they differ in how long the
encoder optimises (:data:`.encoder.EFFORTS`), and each has its own container id so that
``codeclab bench`` reports them as separate rows. ``effort=`` (or ``--effort`` on the
command line) overrides the preset with another preset or an iteration count.

Quality ``q`` in 1..8 (continuous, kept in steps of 1/256) is the rate-distortion weight

    lambda(q) = LAMBDA_LOW_QUALITY (LAMBDA_HIGH_QUALITY / LAMBDA_LOW_QUALITY)^((q - 1) / 7)

of the loss ``MSE + lambda bpp`` (MSE of RGB in [0, 1]); higher quality, more bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.codec import Codec, Encoded, register
from codeclab.errors import BitstreamError, InputError

if TYPE_CHECKING:
    import torch

#: lambda at quality 1 and at quality 8.
LAMBDA_LOW_QUALITY = 3e-2
LAMBDA_HIGH_QUALITY = 2e-4
QUALITY_STEPS = 256


def quality_lambda(quality: float) -> float:
    return LAMBDA_LOW_QUALITY * (LAMBDA_HIGH_QUALITY / LAMBDA_LOW_QUALITY) ** ((quality - 1.0) / 7.0)


class OverfitCodec(Codec):
    """Cool-chic-style codec (module docstring); ``effort``, ``device`` and ``seed`` set the encoder."""

    preset: ClassVar[str] = "fast"
    quality_range = (1.0, 8.0)
    integer_quality = False
    higher_is_better = True
    default_qualities = (2.0, 4.0, 6.0, 8.0)

    def __init__(self, effort: str | int | None = None, device: str = "cpu", seed: int = 0,
                 progress: bool = False) -> None:
        self.effort = effort if effort is not None else self.preset
        self.device = device
        self.seed = seed
        self.progress = progress

    @classmethod
    def _describe(cls) -> str:
        from codeclab.learned.overfit.effort import EFFORTS
        from codeclab.learned.overfit.prior import has_prior

        e = EFFORTS[cls.preset]
        a = e.architecture
        start = (f"prior networks + {e.total_iterations - e.final}" if has_prior(a)
                 else f"{e.starts} starts x {e.warmup} + {e.iterations}")
        return (f"overfitted picture codec (Cool-chic/C3 class), preset {cls.preset}: {start} + {e.final} "
                f"iterations; {a.levels} latent grids, ARM hidden "
                f"{a.arm_hidden}, synthesis width {a.synthesis_width}, {a.macs_per_pixel():.0f} MAC/pixel to decode")

    def configure(self, *, effort: str | int | None = None, device: str | None = None) -> "OverfitCodec":
        from codeclab.learned.overfit.effort import effort_of

        if effort is not None:
            try:
                effort_of(effort)
            except ValueError as e:
                raise InputError(str(e)) from None
            self.effort = effort
        if device is not None:
            import torch

            try:
                where = torch.device(device)
                torch.empty(1, device=where)  # fails where this build or machine has no such device
            except (RuntimeError, AssertionError) as e:
                raise InputError(f"--device {device}: {str(e).splitlines()[0] if str(e) else 'not available'}") from None
            self.device = device
        return self

    def check_quality(self, quality: float) -> float:
        quality = super().check_quality(quality)
        return round(float(quality) * QUALITY_STEPS) / QUALITY_STEPS

    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        from codeclab.learned.overfit.encoder import effort_of, encode_picture
        from codeclab.learned.overfit.syntax import pack_params

        effort = effort_of(self.effort)
        progress = None
        if self.progress:
            from tqdm import tqdm

            progress = tqdm(total=effort.total_iterations, desc=f"{self.name} q={quality:g}", unit="it", leave=False)
        try:
            encoded = encode_picture(image, quality_lambda(quality), effort, self.device, self.seed, progress)
        finally:
            if progress is not None:
                progress.close()
        stats = {"latent_bytes": encoded.latent_bytes, "network_bytes": encoded.network_bytes,
                 "effort": effort.name, "iterations": effort.total_iterations}
        return Encoded(pack_params(effort.architecture, quality), encoded.payload, encoded.recon, stats)

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        from codeclab.learned.overfit.decoder import decode_picture

        if header.color_format != ColorFormat.RGB or header.bit_depth != 8:
            raise BitstreamError(f"{self.name} pictures are 8-bit RGB, the header says "
                                 f"{header.color_format.name} {header.bit_depth}-bit")
        return decode_picture(header.height, header.width, params, payload)

    def draw_syntax(self, header: StreamHeader, params: bytes, payload: bytes, show: tuple[str, ...]) -> bytes:
        """``info --show latents``: the decoded picture and every latent grid with its bits."""
        from codeclab.errors import UnsupportedError
        from codeclab.learned.overfit.decoder import decode_parts, reconstruct
        from codeclab.learned.overfit.drawing import LAYERS, draw_latents, grid_bits
        from codeclab.learned.overfit.syntax import integer_arm

        unknown = [layer for layer in show if layer not in LAYERS]
        if unknown or not show:
            raise UnsupportedError(f"{self.name} draws {', '.join(LAYERS)}; not {', '.join(unknown) or 'nothing'}")
        grids, q = decode_parts(header.height, header.width, params, payload)
        picture = reconstruct(grids, q, header.height, header.width)
        return draw_latents(picture, grids, grid_bits(grids, integer_arm(q)))

    def describe_params(self, params: bytes) -> dict:
        from codeclab.learned.overfit.syntax import unpack_params

        architecture, quality = unpack_params(params)
        return {"quality": quality, "lambda": quality_lambda(quality), "levels": architecture.levels,
                "arm_hidden": architecture.arm_hidden, "synthesis_width": architecture.synthesis_width,
                "decoder_mac_per_pixel": round(architecture.macs_per_pixel(), 1)}


class _Description:
    def __get__(self, obj, owner) -> str:
        return owner._describe()


OverfitCodec.description = _Description()


@register
class Overfit(OverfitCodec):
    name = "overfit"
    codec_id = 0x0210
    preset = "fast"


@register
class OverfitMedium(OverfitCodec):
    name = "overfit-medium"
    codec_id = 0x0211
    preset = "medium"


@register
class OverfitSlow(OverfitCodec):
    name = "overfit-slow"
    codec_id = 0x0212
    preset = "slow"
