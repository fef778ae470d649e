"""``classic-nn``: the classic codec with its neural tools on.

The same HEVC-class coder as ``classic`` (:mod:`codeclab.classic.codec`: intra pictures and
low-delay P sequences), with the neural in-loop filter of :mod:`.loopfilter` in the stage
after deblocking -- for a sequence, on every picture before it enters the reference buffer::

    classic:     ... ─► deblocking ─────────────────────────────► picture
    classic-nn:  ... ─► deblocking ─► neural loop filter (id 1) ─► picture

Nothing but the picture-filter stage differs: the picture parameters name the tool (its id
byte), so the plain ``classic`` decoder decodes a ``classic-nn`` stream too, and the
container's codec id only says which encoder configuration made it. Comparing the two codecs
at the same QPs measures the filter alone (``codeclab bench --codecs classic,classic-nn``).
"""

from __future__ import annotations

from ..classic.codec import ClassicCodec
from ..codec import register
from .loopfilter import NeuralLoopFilter


@register
class ClassicNNCodec(ClassicCodec):
    """The classic codec with the neural in-loop filter after deblocking (quality = QP)."""

    name = "classic-nn"
    codec_id = 0x0002
    description = ("CodecLab classic + neural in-loop filter: the classic codec with an integer CNN after "
                   "deblocking (QP-conditioned, per-picture residual scale, per-CTU RDO flags); quality = QP")
    picture_filter = NeuralLoopFilter()
