"""What an overfitted picture is made of: latent grids, context pattern, network sizes.

Everything here is normative (shared by encoder and decoder) and torch-free::

    level l = 0 .. L-1:  one latent grid y_l of ceil(H / 2^l) x ceil(W / 2^l) integers
    context of y_l[i, j]: CONTEXT offsets (di, dj), all decoded before it in raster order,
                          zero outside the grid

             dj: -3 -2 -1  0 +1 +2 +3
    di = -3:              x
    di = -2:        x  x  x
    di = -1:     x  x  x  x  x
    di =  0:  x  x  x  o

A stream states ``L``, the hidden width of the context model and the width of the
synthesis; the rest follows from the picture size.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Context of the autoregressive model: (row, column) offsets to already decoded latents.
CONTEXT = ((-3, 0),
           (-2, -1), (-2, 0), (-2, 1),
           (-1, -2), (-1, -1), (-1, 0), (-1, 1), (-1, 2),
           (0, -3), (0, -2), (0, -1))

#: Bicubic (a = -0.75) 2x upsampling taps, phase 0 (phase 1 is the mirror image).
BICUBIC_TAPS = (-0.0234375, 0.2265625, 0.8671875, -0.0703125)

#: Latent values are integers in [-LATENT_LIMIT, LATENT_LIMIT].
LATENT_LIMIT = 2047

#: Largest picture (samples per plane): 4K UHD (3840x2160) fits.
MAX_PIXELS = 1 << 23

#: Limits a decoder accepts (checked before anything is allocated).
MAX_LEVELS = 8
MAX_ARM_HIDDEN = 32
MAX_SYNTHESIS_WIDTH = 64


@dataclass(frozen=True)
class Architecture:
    """Sizes of one overfitted picture's networks."""

    levels: int = 7
    arm_hidden: int = 8
    synthesis_width: int = 16

    def __post_init__(self) -> None:
        if not (1 <= self.levels <= MAX_LEVELS and 1 <= self.arm_hidden <= MAX_ARM_HIDDEN
                and 1 <= self.synthesis_width <= MAX_SYNTHESIS_WIDTH):
            raise ValueError(f"architecture out of range: {self}")

    def latent_shapes(self, height: int, width: int) -> list[tuple[int, int]]:
        """(rows, columns) of each grid, full resolution first."""
        return [(-(-height // 2 ** level), -(-width // 2 ** level)) for level in range(self.levels)]

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every network tensor, in the order the stream codes them."""
        ctx, h, c, n = len(CONTEXT), self.arm_hidden, self.synthesis_width, self.levels
        return {
            "upsample.taps": (max(n - 1, 0), 4),
            "arm.0.weight": (h, ctx), "arm.0.bias": (h,),
            "arm.1.weight": (h, h), "arm.1.bias": (h,),
            "arm.2.weight": (2, h), "arm.2.bias": (2,),
            "synthesis.0.weight": (c, n, 1, 1), "synthesis.0.bias": (c,),
            "synthesis.1.weight": (3, c, 1, 1), "synthesis.1.bias": (3,),
            "synthesis.2.weight": (3, 3, 3, 3), "synthesis.2.bias": (3,),
            "synthesis.3.weight": (3, 3, 3, 3), "synthesis.3.bias": (3,),
        }

    def macs_per_pixel(self) -> float:
        """Multiply-accumulates of the decoder per picture sample (ARM over every latent,
        upsampling, synthesis)."""
        latents = sum(4.0 ** -level for level in range(self.levels))
        ctx, h, c, n = len(CONTEXT), self.arm_hidden, self.synthesis_width, self.levels
        arm = latents * (ctx * h + h * h + 2 * h)
        # 4 taps on the half-upsampled rows, then 4 on the output: 6 per output sample and channel
        upsample = sum(6.0 * (n - 1 - level) * 4.0 ** -level for level in range(n - 1))
        synthesis = n * c + c * 3 + 2 * 27 * 3
        return arm + upsample + synthesis


#: Groups of parameters that share a quantisation step (weights and biases separately).
GROUPS = ("upsample", "arm", "synthesis")


def group_of(name: str) -> str:
    return name.split(".", 1)[0]
