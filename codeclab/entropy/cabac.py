"""Context-adaptive binary arithmetic coding (CABAC) as in H.266/VVC.

A binary arithmetic coder keeps an interval ``[low, low + range)`` and, for every bin,
splits ``range`` in proportion to the probability of the less probable symbol (LPS):

    rLPS = range * p_LPS          (approximated below)
    bin == MPS:  range <- range - rLPS
    bin == LPS:  low   <- low + range - rLPS,  range <- rLPS

then doubles ``range`` (and ``low``) until it is back in ``[256, 510]``, shifting the
settled high bits of ``low`` out as bytes. The decoder mirrors the split by comparing its
``value`` window with ``range - rLPS``. A regular bin needs ~ -log2 p bits, a *bypass* bin
exactly one (p = 1/2, no context), a *terminate* bin marks the end of the stream.

What was chosen, and why
------------------------
* **Probability estimate: VVC's two-rate estimator** (H.266 §9.3.2.2 initialization,
  §9.3.4.3.2.2 state transition). Each context keeps two estimates of P(bin = 1), a fast
  one ``p0`` with 10-bit precision and a slow one ``p1`` with 14-bit precision, updated as
  exponential moving averages with window shifts ``shift0 = (shiftIdx >> 2) + 2`` and
  ``shift1 = (shiftIdx & 3) + 3 + shift0``:

      p0 <- p0 - (p0 >> shift0) + ((1023  * bin) >> shift0)
      p1 <- p1 - (p1 >> shift1) + ((16383 * bin) >> shift1)

  The coding probability is their average, as a 15-bit number ``p = 16 * p0 + p1``.
  The fast window follows changes in statistics within a few bins, the slow one gives a
  low-variance estimate in stationary parts, which is why VVC replaced HEVC's 64-state
  machine with it (Schwarz et al., "Quantization and entropy coding in the Versatile
  Video Coding (VVC) standard", IEEE TCSVT 2021). Keeping VVC's exact integer formulas
  means a context's behaviour can be checked against the standard text.
* **Interval subdivision: VVC's table-free multiplication** (H.266 §9.3.4.3.2.1)

      q    = p if p < 2^14 else 32767 - p                    (LPS probability, 15 bit)
      rLPS = (((range >> 5) * (q >> 9)) >> 1) + 4

  a 4 x 5-bit product instead of HEVC's 64 x 4 ``rangeTabLps``; the ``+ 4`` keeps rLPS
  away from zero. Its coarseness costs little: +0.04% against the ideal adaptive cost on
  the residual bins of a Kodak picture (``benchmarks/entropy.py``), and it needs no table.
* **Engine layout: HM/VTM's byte-wise renormalisation** with a 9-bit range, a ``low``
  register with ``bits_left`` counting free bits, and carry propagation through a
  buffered byte plus a count of pending 0xFF bytes (``TEncBinCABAC::writeOut`` in HM);
  the decoder keeps ``value`` scaled by 7 bits so one comparison decides a bin
  (``TDecBinCABAC``). The stream ends with a terminate bin of value 1, the remaining
  bits of ``low``, a stop bit 1 and zero bits up to the byte boundary (H.266 §9.3.4.3.5
  and the ``rbsp_trailing_bits()`` pattern); the decoder checks that pattern and that it
  ended on the last byte, so truncated or extended streams are detected.

Everything is a small pure function compiled with numba, so that the syntax parsers of
the classic codec can be numba functions that call the engine bin by bin. The coder's
registers travel as a tuple of integers that every call takes and returns (LLVM then keeps
them in machine registers; the engine runs at tens of millions of bins per second):

* encoder: ``reg = encoder_start()``; ``reg = encode_bin(reg, out, ctx, c, bin)``; ...;
  ``size = encoder_finish(reg, out)``, with ``out`` an ``np.uint8`` buffer that
  :func:`reserve` grows between syntax elements;
* decoder: ``reg = decoder_start(data)``; ``reg, bin = decode_bin(reg, data, ctx, c)``;
  ...; ``decoder_finish(reg, data)``;
* contexts: ``ctx = init_contexts(init_values, shift_idx, qp)``, an ``(n, 4)`` int32 array
  with rows ``[p0, p1, shift0, shift1]``, updated in place.

A decoder never reads outside ``data`` and never loops without bound: past the end it reads
zero bytes while its byte position runs on, so :func:`decoder_overrun` tells how far it
went; :func:`decoder_finish` (and the Python :class:`BinaryDecoder`) turns an overrun, or a
wrong stop pattern, into :class:`~codeclab.errors.BitstreamError`. The encoder never
writes outside ``out`` either: a full buffer makes the returned size exceed ``len(out)``.
With ``NUMBA_DISABLE_JIT=1`` the same code runs as plain Python (slowly), which is how the
algorithm can be stepped through in a debugger.
"""

from __future__ import annotations

import numpy as np

from codeclab.errors import BitstreamError
from codeclab.kernels import kernel

#: Columns of a context row.
C_P0, C_P1, C_SHIFT0, C_SHIFT1 = 0, 1, 2, 3
#: Default window: shift0 = 4 (fast, ~16 bins), shift1 = 7 (slow, ~128 bins).
DEFAULT_SHIFT_IDX = 8
#: VVC's "context not used" initial value (p ~ 0.43 at every QP).
CNU = 35
#: How many bytes past its end a decoder may read before the loops of a parser give up.
MAX_OVERRUN = 2

# The decoder's hot functions are inlined into their callers at numba-IR level, so a parser's
# loop is one compiled function whose registers never go through memory. The encoder's are
# plain kernels: they run once per coded bin, after the search, and every numba-IR copy is
# typed again at compile time (dozens of call sites in the syntax writers); LLVM inlines them
# where it pays.
_inline = kernel(inline="always")


# ----------------------------------------------------------------------------- contexts
def _context_rows(pre_ctx_state: np.ndarray, shift_idx) -> np.ndarray:
    shift_idx = np.broadcast_to(np.asarray(shift_idx, dtype=np.int64), pre_ctx_state.shape)
    if np.any((shift_idx < 0) | (shift_idx > 15)):
        raise ValueError("shiftIdx must be in 0..15")
    ctx = np.empty((pre_ctx_state.size, 4), dtype=np.int32)
    ctx[:, C_P0] = pre_ctx_state << 3
    ctx[:, C_P1] = pre_ctx_state << 7
    ctx[:, C_SHIFT0] = (shift_idx >> 2) + 2
    ctx[:, C_SHIFT1] = (shift_idx & 3) + 3 + ctx[:, C_SHIFT0]
    return ctx


def init_contexts(init_values, shift_idx=DEFAULT_SHIFT_IDX, qp: int = 32) -> np.ndarray:
    """Context rows from VVC ``initValue`` (0..63) and ``shiftIdx`` (0..15), H.266 §9.3.2.2.

        slopeIdx = initValue >> 3,  offsetIdx = initValue & 7
        m = slopeIdx - 4,  n = offsetIdx * 18 + 1
        preCtxState = Clip3(1, 127, ((m * (Clip3(0, 63, qp) - 16)) >> 1) + n)
        p0 = preCtxState << 3,  p1 = preCtxState << 7
    """
    init_values = np.atleast_1d(np.asarray(init_values, dtype=np.int64))
    if np.any((init_values < 0) | (init_values > 63)):
        raise ValueError("initValue must be in 0..63")
    m = (init_values >> 3) - 4
    n = (init_values & 7) * 18 + 1
    pre = np.clip(((m * (min(max(int(qp), 0), 63) - 16)) >> 1) + n, 1, 127)
    return _context_rows(pre, shift_idx)


def contexts_at(p_one, count: int | None = None, shift_idx=DEFAULT_SHIFT_IDX) -> np.ndarray:
    """Context rows starting at probability ``p_one`` = P(bin = 1), in steps of 1/128."""
    p_one = np.asarray(p_one, dtype=np.float64)
    if count is not None:
        p_one = np.broadcast_to(p_one, (count,))
    pre = np.clip(np.rint(np.atleast_1d(p_one) * 128), 1, 127).astype(np.int64)
    return _context_rows(pre, shift_idx)


@_inline
def context_probability(ctx, c):
    """15-bit probability that the next bin of context ``c`` is 1: ``16 * p0 + p1``."""
    return 16 * np.int64(ctx[c, C_P0]) + np.int64(ctx[c, C_P1])


@_inline
def update_context(ctx, c, bin):
    """Two-rate exponential moving average update, H.266 §9.3.4.3.2.2."""
    s0 = ctx[c, C_SHIFT0]
    s1 = ctx[c, C_SHIFT1]
    ctx[c, C_P0] = ctx[c, C_P0] - (ctx[c, C_P0] >> s0) + ((1023 * bin) >> s0)
    ctx[c, C_P1] = ctx[c, C_P1] - (ctx[c, C_P1] >> s1) + ((16383 * bin) >> s1)


@_inline
def lps_range(ctx, c, rng):
    """(rLPS, valMps) for context ``c`` at the current range, H.266 §9.3.4.3.2.1."""
    p = 16 * np.int64(ctx[c, C_P0]) + np.int64(ctx[c, C_P1])
    mps = p >> 14
    q = 32767 - p if mps else p
    return (((rng >> 5) * (q >> 9)) >> 1) + 4, mps


@_inline
def renorm_shift(lps):
    """Doublings that bring rLPS (4..255) back to >= 256 (HM's ``sm_aucRenormTable``)."""
    return 1 + (lps < 128) + (lps < 64) + (lps < 32) + (lps < 16) + (lps < 8)


# ----------------------------------------------------------------------------- encoder
@_inline
def encoder_start():
    """Registers ``(low, range, bits_left, num_buffered, buffered_byte, pos)`` at start.

    low = 0, range = 510, 23 free bits in ``low`` (HM ``TEncBinCABAC::start``).
    """
    return (np.int64(0), np.int64(510), np.int64(23), np.int64(0), np.int64(0xFF), np.int64(0))


@_inline
def _put_byte(out, pos, byte):
    # A full buffer is never written past; the position runs on so the caller sees it.
    if pos < out.shape[0]:
        out[pos] = byte & 0xFF
    return pos + 1


@_inline
def _write_out(reg, out):
    """Move the top byte of ``low`` out; 0xFF bytes wait until a carry is ruled out."""
    low, rng, bits_left, num_buffered, buffered, pos = reg
    lead = low >> (24 - bits_left)
    bits_left += 8
    low &= 0xFFFFFFFF >> bits_left
    if lead == 0xFF:
        num_buffered += 1
    elif num_buffered > 0:
        carry = lead >> 8
        pos = _put_byte(out, pos, buffered + carry)
        buffered = lead & 0xFF
        while num_buffered > 1:
            pos = _put_byte(out, pos, 0xFF + carry)
            num_buffered -= 1
    else:
        num_buffered = 1
        buffered = lead
    return (low, rng, bits_left, num_buffered, buffered, pos)


@kernel
def encode_bin(reg, out, ctx, c, bin):
    """Code one regular bin with context ``c``, adapt the context, return the registers."""
    low, rng, bits_left, num_buffered, buffered, pos = reg
    lps, mps = lps_range(ctx, c, rng)
    update_context(ctx, c, bin)
    rng -= lps
    if bin != mps:
        nbits = renorm_shift(lps)
        low = (low + rng) << nbits
        rng = lps << nbits
        bits_left -= nbits
    elif rng >= 256:
        return (low, rng, bits_left, num_buffered, buffered, pos)
    else:
        low <<= 1
        rng <<= 1
        bits_left -= 1
    reg = (low, rng, bits_left, num_buffered, buffered, pos)
    if bits_left < 12:
        reg = _write_out(reg, out)
    return reg


@kernel
def encode_bypass(reg, out, bin):
    """Code one equiprobable bin (exactly one bit, no context)."""
    low, rng, bits_left, num_buffered, buffered, pos = reg
    low <<= 1
    if bin:
        low += rng
    bits_left -= 1
    reg = (low, rng, bits_left, num_buffered, buffered, pos)
    if bits_left < 12:
        reg = _write_out(reg, out)
    return reg


@kernel
def encode_bypass_bits(reg, out, value, nbits):
    """Code the ``nbits`` low bits of ``value`` as bypass bins, most significant first."""
    for i in range(nbits - 1, -1, -1):
        reg = encode_bypass(reg, out, (value >> i) & 1)
    return reg


@kernel
def encode_terminate(reg, out, bin):
    """Code a terminate bin (its rLPS is fixed at 2); bin 1 closes the arithmetic codeword."""
    low, rng, bits_left, num_buffered, buffered, pos = reg
    rng -= 2
    if bin:
        low = (low + rng) << 7
        rng = 2 << 7
        bits_left -= 7
    elif rng >= 256:
        return (low, rng, bits_left, num_buffered, buffered, pos)
    else:
        low <<= 1
        rng <<= 1
        bits_left -= 1
    reg = (low, rng, bits_left, num_buffered, buffered, pos)
    if bits_left < 12:
        reg = _write_out(reg, out)
    return reg


@kernel
def encoder_finish(reg, out):
    """Terminate with bin 1, flush ``low``, add stop bit + zero alignment; return the size.

    HM ``TEncBinCABAC::finish`` followed by ``rbsp_trailing_bits``. A size larger than
    ``len(out)`` means the buffer was too small (nothing was written past its end).
    """
    low, rng, bits_left, num_buffered, buffered, pos = encode_terminate(reg, out, 1)
    if low >> (32 - bits_left):  # a carry into the buffered bytes
        pos = _put_byte(out, pos, buffered + 1)
        while num_buffered > 1:
            pos = _put_byte(out, pos, 0x00)
            num_buffered -= 1
        low -= np.int64(1) << (32 - bits_left)
    else:
        if num_buffered > 0:
            pos = _put_byte(out, pos, buffered)
        while num_buffered > 1:
            pos = _put_byte(out, pos, 0xFF)
            num_buffered -= 1
    # The last 24 - bits_left bits of low, the stop bit, then zeros to a byte boundary.
    tail = ((low >> 8) << 1) | 1
    nbits = 24 - bits_left + 1
    pad = (8 - (nbits & 7)) & 7
    tail <<= pad
    nbits += pad
    while nbits > 0:
        nbits -= 8
        pos = _put_byte(out, pos, (tail >> nbits) & 0xFF)
    return pos


@kernel
def reserve(reg, out, extra):
    """Return ``out``, or a larger copy of it, with room for ``extra`` more bins.

    A regular bin writes at most 7 bits and a bypass bin 1, so ``extra`` bins plus the final
    flush never need more than ``extra + 8`` bytes.
    """
    pos = reg[5]
    need = pos + extra + 8
    if need <= out.shape[0]:
        return out
    bigger = np.empty(max(need, 2 * out.shape[0]), dtype=np.uint8)
    bigger[:pos] = out[:pos]
    return bigger


@_inline
def bits_written(reg):
    """Bits the encoder has produced so far: bytes out and 0xFF bytes held back, plus the
    bits already shifted into ``low`` (``23 - bits_left``). Differences give a CTU's bits."""
    return 8 * (reg[5] + reg[3]) + 23 - reg[2]


# ----------------------------------------------------------------------------- decoder
@_inline
def _read_byte(data, pos):
    # Past the end the decoder sees zeros while its position runs on (see decoder_overrun).
    if pos < data.shape[0]:
        return np.int64(data[pos])
    return np.int64(0)


@_inline
def decoder_start(data):
    """Registers ``(value, range, bits_needed, pos)``: range = 510, value = first 16 bits.

    HM ``TDecBinCABAC::start``; ``value`` is the offset into the interval scaled by 7 bits.
    """
    value = (_read_byte(data, 0) << 8) | _read_byte(data, 1)
    return (value, np.int64(510), np.int64(-8), np.int64(2))


@_inline
def bits_read(reg):
    """Position of the decoder in the codeword, in bits: 8 per byte read, less the
    ``-bits_needed`` bits of them still ahead in ``value``."""
    return 8 * reg[3] + reg[2]


@_inline
def decode_bin(reg, data, ctx, c):
    """Decode one regular bin with context ``c``; return ``(registers, bin)``."""
    value, rng, bits_needed, pos = reg
    lps, mps = lps_range(ctx, c, rng)
    rng -= lps
    scaled = rng << 7
    if value < scaled:
        bin = mps
        if scaled < (256 << 7):
            rng = scaled >> 6
            value <<= 1
            bits_needed += 1
            if bits_needed == 0:
                bits_needed = -8
                value += _read_byte(data, pos)
                pos += 1
    else:
        bin = 1 - mps
        nbits = renorm_shift(lps)
        value = (value - scaled) << nbits
        rng = lps << nbits
        bits_needed += nbits
        if bits_needed >= 0:
            value += _read_byte(data, pos) << bits_needed
            pos += 1
            bits_needed -= 8
    update_context(ctx, c, bin)
    return (value, rng, bits_needed, pos), bin


@_inline
def decode_bypass(reg, data):
    """Decode one equiprobable bin; return ``(registers, bin)``."""
    value, rng, bits_needed, pos = reg
    value <<= 1
    bits_needed += 1
    if bits_needed >= 0:
        bits_needed = -8
        value += _read_byte(data, pos)
        pos += 1
    scaled = rng << 7
    bin = 0
    if value >= scaled:
        value -= scaled
        bin = 1
    return (value, rng, bits_needed, pos), bin


@kernel
def decode_bypass_bits(reg, data, nbits):
    """Decode ``nbits`` bypass bins as an unsigned integer, most significant first."""
    value = 0
    for _ in range(nbits):
        reg, bin = decode_bypass(reg, data)
        value = (value << 1) | bin
    return reg, value


@_inline
def decode_terminate(reg, data):
    """Decode a terminate bin; return ``(registers, bin)``."""
    value, rng, bits_needed, pos = reg
    rng -= 2
    scaled = rng << 7
    if value >= scaled:
        return (value, rng, bits_needed, pos), 1
    if scaled < (256 << 7):
        rng = scaled >> 6
        value <<= 1
        bits_needed += 1
        if bits_needed == 0:
            bits_needed = -8
            value += _read_byte(data, pos)
            pos += 1
    return (value, rng, bits_needed, pos), 0


@_inline
def decoder_overrun(reg, data):
    """How many bytes the decoder has read past the end of ``data`` (0 while inside)."""
    return max(reg[3] - data.shape[0], 0)


@_inline
def decoder_failed(reg, data):
    """True once the decoder ran more than :data:`MAX_OVERRUN` bytes past its data.

    Parsers check it in their loops to stop early on truncated or garbage input.
    """
    return reg[3] - data.shape[0] > MAX_OVERRUN


@kernel
def decoder_finish(reg, data):
    """Check the end of the stream; 0 when valid, else a key of :data:`FINISH_ERRORS`.

    Expects the terminate bin 1 written by :func:`encoder_finish` and then, as HM's
    ``TDecBinCABAC::finish`` asserts, that the last byte read holds the stop bit followed by
    zeros; that byte must be the last of ``data``.
    """
    if decoder_overrun(reg, data) > 0:
        return 1
    reg, bin = decode_terminate(reg, data)
    if bin != 1:
        return 2
    value, rng, bits_needed, pos = reg
    if pos > data.shape[0]:
        return 1
    last = np.int64(data[pos - 1])
    if ((last << (8 + bits_needed)) & 0xFF) != 0x80:
        return 3
    if pos != data.shape[0]:
        return 4
    return 0


FINISH_ERRORS = {
    1: "arithmetic-coded data truncated (read past its end)",
    2: "arithmetic-coded data lacks its end-of-stream terminate bin",
    3: "arithmetic-coded data has a damaged stop pattern",
    4: "arithmetic-coded data is followed by unexpected bytes",
}


def check_finish(reg, data: np.ndarray) -> None:
    """Run :func:`decoder_finish`; raise :class:`BitstreamError` on any inconsistency."""
    code = int(decoder_finish(reg, data))
    if code:
        raise BitstreamError(FINISH_ERRORS[code])


