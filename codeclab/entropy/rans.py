"""A byte-wise rANS coder in numba, for decoders that pick each symbol's table as they go.

:mod:`.stream` codes through ``constriction``, one vectorised call per group of symbols.
An autoregressive decoder (the overfitted codec's context model, :mod:`codeclab.learned.overfit`)
cannot group: the table of every latent depends on the latents decoded just before it, so
the model and the coder must run interleaved, symbol by symbol, inside one compiled loop.
This module gives that loop its coder as plain ``@kernel`` functions (:mod:`codeclab.kernels`) (Duda 2013; the byte-wise
variant of Giesen's ``rans_byte.h``, written from the description):

::

    state x in [L, 256 L),  L = 2^23;   table: start c_s, frequency f_s, sum 2^PRECISION

    encode s (in reverse order):  while x >= f_s 2^(31 - PRECISION): emit x mod 256, x //= 256
                                  x = (x // f_s) 2^PRECISION + (x mod f_s) + c_s
    decode (forward):             v = x mod 2^PRECISION;  find s with c_s <= v < c_s + f_s
                                  x = f_s (x >> PRECISION) + v - c_s
                                  while x < L: x = 256 x + next byte

The encoder starts from ``x = L`` and writes its final state first (4 bytes, high byte
first); the decoder must end exactly at ``x = L`` with every byte read, which is checked:
a damaged stream fails that test (or an earlier range check) instead of decoding quietly.
Reading past the end supplies zero bytes and is reported, so a truncated stream costs no
more work than its symbol count and never reads outside the buffer.

Frequencies are integers >= 1 summing to ``2^PRECISION``; a value outside a table's
alphabet is its escape entry followed by :data:`ESCAPE_BITS` raw bits (coded as a uniform
symbol), so every value in ``[-2^15, 2^15)`` can be coded.
"""

from __future__ import annotations

import numpy as np

from codeclab.kernels import kernel

#: Bits of probability resolution of every table.
PRECISION = 16
#: Lower bound of the coder state.
RANS_L = 1 << 23
#: Raw bits after an escape: values in [-2^(ESCAPE_BITS - 1), 2^(ESCAPE_BITS - 1)).
ESCAPE_BITS = 16


@kernel
def encode(starts, freqs):
    """Bytes (uint8 array) coding the symbols ``(starts[i], freqs[i])`` in decoding order."""
    n = starts.shape[0]
    out = np.empty(4 * n + 8, dtype=np.uint8)  # at most 4 bytes per symbol, plus the state
    pos = out.shape[0]
    x = np.uint64(RANS_L)
    for i in range(n - 1, -1, -1):
        f = np.uint64(freqs[i])
        bound = f << np.uint64(31 - PRECISION)
        while x >= bound:
            pos -= 1
            out[pos] = np.uint8(x & np.uint64(255))
            x >>= np.uint64(8)
        x = (x // f << np.uint64(PRECISION)) + x % f + np.uint64(starts[i])
    for _ in range(4):  # the final state, read first (high byte first) by the decoder
        pos -= 1
        out[pos] = np.uint8(x & np.uint64(255))
        x >>= np.uint64(8)
    return out[pos:].copy()


@kernel(inline="always")
def _shift_in(x, pos, overrun, data):
    """``x = 256 x + data[pos]``; past the end a zero byte, counted in ``overrun``."""
    byte = np.uint64(0)
    if pos < data.shape[0]:
        byte = np.uint64(data[pos])
    else:
        overrun += 1
    return (x << np.uint64(8)) | byte, pos + 1, overrun


@kernel
def init(data):
    """(state, position, overrun) of a decoder at the start of ``data``."""
    x, pos, overrun = np.uint64(0), 0, 0
    for _ in range(4):
        x, pos, overrun = _shift_in(x, pos, overrun, data)
    return x, pos, overrun


@kernel
def peek(x):
    """The slot ``x mod 2^PRECISION`` that selects the next symbol."""
    return np.int64(x & np.uint64((1 << PRECISION) - 1))


@kernel
def advance(x, pos, overrun, data, start, freq):
    """Remove the symbol ``(start, freq)`` found at :func:`peek` and renormalise."""
    x = np.uint64(freq) * (x >> np.uint64(PRECISION)) + np.uint64(peek(x) - start)
    while x < np.uint64(RANS_L):
        x, pos, overrun = _shift_in(x, pos, overrun, data)
    return x, pos, overrun


@kernel
def find(cdf, first, count, slot):
    """Index ``i`` in ``0 .. count - 1`` with ``cdf[first + i] <= slot < cdf[first + i + 1]``."""
    lo, hi = 0, count - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if cdf[first + mid] <= slot:
            lo = mid
        else:
            hi = mid - 1
    return lo


@kernel
def finished(x, pos, overrun, data):
    """True when the decoder ended exactly where the encoder started, with every byte read."""
    return overrun == 0 and pos == data.shape[0] and x == np.uint64(RANS_L)


def encode_bytes(starts: np.ndarray, freqs: np.ndarray) -> bytes:
    """:func:`encode` on any integer arrays, as ``bytes``."""
    return encode(np.ascontiguousarray(starts, dtype=np.int64),
                  np.ascontiguousarray(freqs, dtype=np.int64)).tobytes()
