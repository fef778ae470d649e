"""The neural tools hybrid lends the classic codec, registered as its picture tools.

The classic codec names its tools only in the bitstream (a filter's id byte, the
``neural_intra`` flag) and finds them in :data:`~codeclab.classic.common.tools.PICTURE_TOOLS`;
this module, declared as a ``codeclab.picture_tools`` entry point, is where they are added.
Each entry is a light factory: the networks and their kernels load when a picture uses them.
"""

from __future__ import annotations

from codeclab.classic.common.tools import PICTURE_TOOLS, register_filter


def neural_loop_filter():
    """The neural in-loop filter (:class:`codeclab.hybrid.nnlf.tool.NeuralLoopFilter`)."""
    from codeclab.hybrid.nnlf.tool import NeuralLoopFilter

    return NeuralLoopFilter()


def neural_intra_program() -> tuple:
    """The shipped program of the network intra modes (:func:`codeclab.hybrid.nip.training.shipped_program`)."""
    from codeclab.hybrid.nip.program import shipped_program

    return shipped_program()


# 1 is :data:`codeclab.hybrid.nnlf.tool.NEURAL_FILTER_ID` (the tool's own module is only
# imported when a picture uses it; tests/hybrid check the two agree).
register_filter(1, neural_loop_filter, name="neural-loop-filter")
PICTURE_TOOLS.add("neural-intra", neural_intra_program)
