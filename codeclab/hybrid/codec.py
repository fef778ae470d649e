"""``classic-nn``: the classic codec with its neural tools on.

The same HEVC-class coder as ``classic`` (:mod:`codeclab.classic.codec`: intra pictures and
low-delay P sequences), with two neural tools in the stages they replace or join:

- neural intra prediction (:mod:`.intra`): network luma modes beside the 35 HEVC modes,
  chosen by RDO per prediction unit and signalled by ``nn_intra_flag``;
- the neural in-loop filter of :mod:`.loopfilter` in the stage after deblocking -- for a
  sequence, on every picture before it enters the reference buffer::

    classic:     intra/inter prediction ─► ... ─► deblocking ─────────────────────────────► picture
    classic-nn:  + network intra modes  ─► ... ─► deblocking ─► neural loop filter (id 1) ─► picture

The picture parameters name both tools (the ``neural_intra`` flag, the filter's id byte), so
the plain ``classic`` decoder decodes a ``classic-nn`` stream too, and the container's codec
id only says which encoder configuration made it. Comparing the two codecs at the same QPs
measures the tools together (``codeclab bench --codecs classic,classic-nn``); ``classic-nip``,
the classic codec with the network intra modes and no filter, measures the intra tool alone
(``codeclab bench --codecs classic,classic-nip,classic-nn --reference classic``).
"""

from __future__ import annotations

from codeclab.classic.codec import ClassicCodec
from codeclab.codec import register


class _NeuralLoopFilterOnFirstUse:
    """The class attribute ``picture_filter``: :class:`.loopfilter.NeuralLoopFilter`, built when
    first read (its module loads the filter's kernels and weights; listing codecs needs neither)."""

    def __init__(self) -> None:
        self._filter = None

    def __get__(self, obj, owner):
        if self._filter is None:
            from codeclab.hybrid.nnlf.tool import NeuralLoopFilter

            self._filter = NeuralLoopFilter()
        return self._filter


@register
class ClassicNNCodec(ClassicCodec):
    """The classic codec with network intra modes and the neural in-loop filter (quality = QP)."""

    name = "classic-nn"
    codec_id = 0x0002
    description = ("CodecLab classic + neural tools: network intra modes (integer MLPs, chosen by RDO) and an "
                   "integer CNN in-loop filter after deblocking (QP-conditioned, per-CTU RDO flags); quality = QP")
    picture_filter = _NeuralLoopFilterOnFirstUse()
    neural_intra = True
    bit_depth = 8  # the networks were trained on 8-bit samples
    cclm = False  # measured and trained without it


@register
class ClassicNIPCodec(ClassicCodec):
    """The classic codec with the network intra modes only, no neural filter (quality = QP):
    the intra tool of ``classic-nn`` measured on its own."""

    name = "classic-nip"
    codec_id = 0x0003
    description = ("CodecLab classic + network intra modes only (integer MLPs beside the 35 HEVC modes, "
                   "chosen by RDO; no neural filter); quality = QP")
    neural_intra = True
    bit_depth = 8  # the networks were trained on 8-bit samples
    cclm = False  # measured and trained without it
