"""The neural in-loop filter (picture-filter tool id 1): an integer CNN switched per CTU by RDO.

It plugs into the classic codec's stage after deblocking (:mod:`codeclab.classic.common.tools`)::

    deblocked planes ─► integer CNN (:mod:`.integer`, exact) ─► residual x scale ─► filtered planes
                   │                                                                   │
                   └──────────── per CTU and component: keep one ◄─────────────────────┘
                                                            (modes, scales, flags: side information)

The network sees the picture with its padding made by repeating the last row and column
(:func:`~codeclab.classic.common.tools.replicate_edges`: a video encoder leaves the padding of
CTUs that stick out of the picture uncoded), and every distortion below is measured inside
the picture only. The encoder runs the network once, then decides for each component (Y, Cb, Cr) by
rate-distortion cost ``J = D + lambda R``, with HM's intra lambda
(:func:`~codeclab.classic.encoder.rate_control.rd_lambda`; the decisions are made in :mod:`.encoder`) and, for chroma, HM's chroma distortion weight:

* a residual scale ``S / 8``, S in 4..11, applied before the residual is rounded to whole
  samples: NNVC's per-picture residual scaling, which lets the encoder soften or strengthen
  one set of weights where the picture wants it (the unit scale is what training optimised);
* a mode, for the best scale:

      0  off everywhere          D = sum SSE_off
      1  on everywhere           D = sum SSE_on
      2  one flag per CTU        each flag chosen greedily in coding order,
                                 min(SSE_off + lambda R(0), SSE_on + lambda R(1)),
                                 R from the flag's adaptive context (:mod:`codeclab.entropy.rate`)

  like VVC's ALF CTU flags (H.266 §7.3.8.2 ``alf_ctb_flag``) and their picture-level enables.

Side information (the payload's tail, :func:`~codeclab.classic.common.tools.join_side_info`)::

    u8   modes: bits 2c..2c+1 the mode of component c = 0, 1, 2 (Y, Cb, Cr); 3 is invalid;
         bits 6..7 zero                               -- all a picture that stays unfiltered costs
    when some mode is not 0:
    u16  weights fingerprint (low 16 bits of the CRC-32 of the integer program)
    u16  bits 3c..3c+2 the scale index k of component c (S = 4 + k; 0 when the mode is 0);
         bits 9..15 zero
    [ CABAC codeword (:mod:`codeclab.entropy.cabac`): the flags of the mode-2 components, Y then Cb
      then Cr, CTUs in raster order, one adaptive context per component; present iff a mode is 2 ]

The fingerprint makes a stream coded with other weights fail loudly instead of decoding into
a slightly wrong picture (a picture left unfiltered decodes the same with any weights). One
byte for a picture left alone matters in video, where the encoder often keeps the filter off
in P pictures of a few hundred bytes. The decoder runs the network only when some mode is not 0 -- the
luma branch only when luma is on somewhere, the chroma branch only when chroma is -- and any
malformed side information is a :class:`~codeclab.errors.BitstreamError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.tools import Planes, replicate_edges
from codeclab.hybrid.nnlf.integer import Program, program_fingerprint
from codeclab.hybrid.nnlf.runtime import apply_residual, residuals
from codeclab.hybrid.nnlf.syntax import NEURAL_FILTER_ID, OFF, ctu_select, read_side_info
from codeclab.hybrid.nnlf.weights import DEFAULT_WEIGHTS, load_program


class NeuralLoopFilter:
    """:class:`~codeclab.classic.common.tools.PictureFilter` of the integer CNN (tool id 1)."""

    tool_id = NEURAL_FILTER_ID

    def __init__(self, weights: str | os.PathLike = DEFAULT_WEIGHTS, device: str = "cpu") -> None:
        self.weights, self.device = Path(weights), device

    @property
    def program(self) -> Program:
        return load_program(self.weights)

    def encode(self, recon: Planes, original: Planes, qp: int, size: tuple[int, int]) -> tuple[Planes, bytes]:
        from codeclab.hybrid.nnlf.encoder import encode_filter  # encoder-side only

        return encode_filter(self.program, recon, original, qp, size, self.device)

    def decode(self, recon: Planes, qp: int, side_info: bytes, size: tuple[int, int]) -> Planes:
        rows, cols = recon[0].shape[0] // CTU_SIZE, recon[0].shape[1] // CTU_SIZE
        modes, scales, flags = read_side_info(side_info, program_fingerprint(self.program), rows * cols)
        if not any(modes):
            return recon
        recon = replicate_edges(recon, size)
        residual = residuals(self.program, *recon, qp, device=self.device, luma=modes[0] != OFF,
                             chroma=modes[1] != OFF or modes[2] != OFF)
        return tuple(recon[c] if modes[c] == OFF else
                     ctu_select(recon[c], apply_residual(recon[c], residual[c], scales[c]),
                                flags[c].reshape(rows, cols), CTU_SIZE if c == 0 else CTU_SIZE // 2)
                     for c in range(3))
