"""The standard's tools written plainly in torch (H.265 §8.4-8.7): the reference.

One tool per file, vectorised over blocks, easy to read beside the standard: :mod:`.transform`,
:mod:`.quant`, :mod:`.intra` and :mod:`.intra_modes`, :mod:`.interp`, :mod:`.deblock`.
The codec runs the numba kernels of :mod:`codeclab.classic.common`, which take their tables
from here; the tests hold the two to the same samples.
"""
