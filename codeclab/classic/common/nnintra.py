"""Neural intra prediction: the normative integer kernel (numba) that the decoder runs.

An extra family of luma intra modes whose prediction is a small multilayer perceptron of
the reference samples, in the spirit of the fully connected intra predictors of Pfaff et
al., "Neural network based intra prediction for video coding" (SPIE 10752, 2018), which
VVC later reduced to its affine matrix-based intra prediction (MIP, JVET-N0217). The
network's weights are *data* handed to this kernel (a :data:`Program`); how they are
trained and shipped is :mod:`codeclab.hybrid.nip.training`. For an n x n luma block,
``log2 n = s + 2``, with the ``4n + 1`` substituted (unsmoothed) references of
:mod:`~codeclab.classic.common.reference.intra`::

    b    = reduced boundary: the left column (2n samples, bottom-up) and the top row (2n)
           each averaged in 8 groups of g = n / 4 samples, ``(sum + g/2) >> log2 g``,
           with the corner between them: 17 samples
    m    = (sum of the 16 side samples of b + 8) >> 4          (the block's expected level)
    x    = b - m                                               (17 integers)
    h1   = max(0, (W1[s] x  + B1[s] + 2^(k1-1)) >> k1)          (H hidden units)
    h2   = max(0, (W2[s] h1 + B2[s] + 2^(k2-1)) >> k2)          (H hidden units)
    R    = clip(m + ((W3[s, head] h2 + B3[s, head] + 2^(k3-1)) >> k3), 0, 2^B - 1)

R is the prediction on an r x r grid, r = min(n, 8). Blocks larger than 8 are filled by
linear interpolation with factor f = n / 8, first along the rows that R covers (the left
reference sample at x = -1, R at x = f j + f - 1), then down every column (the top reference
at y = -1), each step ``((f - d) a + d b + f/2) >> log2 f`` -- MIP's up-sampling.

Everything is int64 arithmetic on integers, so encoder and decoder agree on every machine
and thread count by construction; ``tests/hybrid/test_intra.py`` checks this kernel bit for
bit against the vectorised torch version of :mod:`codeclab.hybrid.nip.training`.

Modes: the luma mode map stores network head ``k`` as mode ``NN_MODE_BASE + k``. For the
most probable modes of later blocks and for chroma's DM such a block counts as planar (as
VVC treats MIP blocks).
"""

from __future__ import annotations

import numpy as np

from codeclab.errors import UnsupportedError
from codeclab.kernels import kernel

#: Luma mode of network head 0 (the 35 HEVC modes come first).
NN_MODE_BASE = 35
#: Reduced boundary samples per side, and the network's inputs (two sides and the corner).
BOUNDARY = 8
INPUTS = 2 * BOUNDARY + 1
#: Side of the predicted grid of blocks larger than it.
GRID = 8


def empty_program() -> tuple:
    """The :data:`Program` of a codec without neural intra prediction (no sizes)."""
    return (np.zeros((0, 1, INPUTS), np.int64), np.zeros((0, 1), np.int64),
            np.zeros((0, 1, 1), np.int64), np.zeros((0, 1), np.int64),
            np.zeros((0, 1, 1), np.int64), np.zeros((0, 1), np.int64), np.zeros((0, 3), np.int64))


def intra_program(enabled: bool) -> tuple:
    """The program a picture with ``neural_intra = enabled`` is coded with: the one of the
    picture tool ``"neural-intra"`` (:data:`~codeclab.classic.common.tools.PICTURE_TOOLS`), or none."""
    if not enabled:
        return empty_program()
    from codeclab.classic.common.tools import PICTURE_TOOLS

    if "neural-intra" not in PICTURE_TOOLS.names():
        raise UnsupportedError("this installation has no neural intra tool (picture tool 'neural-intra')")
    return PICTURE_TOOLS.get("neural-intra")()


#: A program: ``(W1, B1, W2, B2, W3, B3, shifts)`` int64, indexed by size s = log2 n - 2:
#: W1 (4, H, 17), B1 (4, H), W2 (4, H, H), B2 (4, H), W3 (4, heads * 64, H) with head k's
#: r x r outputs at rows ``k r^2 .. (k + 1) r^2 - 1`` (the rest zero for 4x4), B3 likewise,
#: shifts (4, 3) = k1, k2, k3. Biases include no rounding term.
Program = tuple


#: Smallest prediction unit that may use a network mode (smaller ones code no nn_intra_flag):
#: all sizes, 4x4 included (the measurement is in ``nip.json``'s ``design_notes``).
MIN_NN_SIZE = 4


@kernel
def nn_heads_for(program, size):
    """Network modes a prediction unit of ``size`` x ``size`` may choose (0: none, and no flag)."""
    return program_heads(program) if size >= MIN_NN_SIZE else 0


@kernel
def program_heads(program):
    """Number of network modes of a program (0: the tool is off)."""
    if program[0].shape[0] == 0:
        return 0
    return program[4].shape[1] // (GRID * GRID)


@kernel
def _round_shift(value, shift):
    return (value + (1 << (shift - 1))) >> shift if shift > 0 else value


@kernel
def nn_predict(refs, n, head, program, bit_depth, pred):
    """Predict the n x n luma block from ``refs[:4n+1]`` with network head ``head`` into
    ``pred[:n, :n]`` (module docstring)."""
    w1, b1, w2, b2, w3, b3, shifts = program
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    s = log2n - 2
    hidden = w1.shape[1]
    g = n >> 2
    log2g = log2n - 2
    x = np.empty(INPUTS, np.int64)
    total = 0
    for k in range(BOUNDARY):
        left, top = 0, 0
        for i in range(g):
            left += refs[k * g + i]
            top += refs[2 * n + 1 + k * g + i]
        x[k] = _round_shift(left, log2g)
        x[BOUNDARY + 1 + k] = _round_shift(top, log2g)
        total += x[k] + x[BOUNDARY + 1 + k]
    x[BOUNDARY] = refs[2 * n]
    mean = (total + 8) >> 4
    for i in range(INPUTS):
        x[i] -= mean
    h1 = np.empty(hidden, np.int64)
    for j in range(hidden):
        acc = b1[s, j]
        for i in range(INPUTS):
            acc += w1[s, j, i] * x[i]
        h1[j] = max(_round_shift(acc, shifts[s, 0]), 0)
    h2 = np.empty(hidden, np.int64)
    for j in range(hidden):
        acc = b2[s, j]
        for i in range(hidden):
            acc += w2[s, j, i] * h1[i]
        h2[j] = max(_round_shift(acc, shifts[s, 1]), 0)
    r = min(n, GRID)
    max_value = (1 << bit_depth) - 1
    f = n // r
    first = head * r * r
    for o in range(r * r):
        acc = b3[s, first + o]
        for i in range(hidden):
            acc += w3[s, first + o, i] * h2[i]
        value = min(max(mean + _round_shift(acc, shifts[s, 2]), 0), max_value)
        pred[(o // r) * f + f - 1, (o % r) * f + f - 1] = value
    if f == 1:
        return
    log2f = 1 if f == 2 else 2
    half = f >> 1
    for i in range(r):  # the rows R covers, from the left reference
        y = i * f + f - 1
        a = refs[2 * n - 1 - y]
        for j in range(r):
            b = pred[y, j * f + f - 1]
            for d in range(1, f):
                pred[y, j * f + d - 1] = ((f - d) * a + d * b + half) >> log2f
            a = b
    for x0 in range(n):  # every column, from the top reference
        a = refs[2 * n + 1 + x0]
        for i in range(r):
            b = pred[i * f + f - 1, x0]
            for d in range(1, f):
                pred[i * f + d - 1, x0] = ((f - d) * a + d * b + half) >> log2f
            a = b
