"""Binarizations: how a non-negative integer becomes bins for the arithmetic coder.

All follow H.266 §9.3.3 (the same definitions as H.265 §9.3.3). ``ctx0, n_ctx`` choose
the contexts of the unary parts: bin ``i`` uses context ``ctx0 + min(i, n_ctx - 1)``, and
``n_ctx = 0`` makes every bin a bypass bin.

==========================  =========================================  ==================
binarization                bins of value v                            example
==========================  =========================================  ==================
unary (U)                   v ones, then a zero                        3 -> 1110
truncated unary (TU, cMax)  as U, without the zero when v == cMax      3, cMax 3 -> 111
fixed length (FL, n)        n-bit binary, most significant bit first   3, n 4 -> 0011
truncated Rice (TR, cMax,   TU of v >> k with cMax >> k, then the k     9, k 2 -> 110 01
k)                          low bits when v < cMax
Exp-Golomb k (EGk)          ones while v >= 2^k (v -= 2^k, k += 1),    3, k 0 -> 110 00
                            a zero, then v in k bits
==========================  =========================================  ==================

Every ``encode_*`` takes and returns the encoder registers of :mod:`.cabac`; every
``decode_*`` returns ``(registers, value)`` with ``value = -1`` when the data cannot be a
valid code (a unary or Exp-Golomb prefix longer than allowed), so a damaged stream cannot
make a parser loop for long.
"""

from __future__ import annotations

from codeclab.entropy.cabac import decode_bin, decode_bypass, encode_bin, encode_bypass
from codeclab.kernels import kernel

#: Longest Exp-Golomb prefix a decoder accepts (values up to about 2^32).
MAX_EG_PREFIX = 32


@kernel
def _encode_flag(reg, out, ctx, ctx0, n_ctx, i, bin):
    if n_ctx == 0:
        return encode_bypass(reg, out, bin)
    return encode_bin(reg, out, ctx, ctx0 + min(i, n_ctx - 1), bin)


@kernel
def _decode_flag(reg, data, ctx, ctx0, n_ctx, i):
    if n_ctx == 0:
        return decode_bypass(reg, data)
    return decode_bin(reg, data, ctx, ctx0 + min(i, n_ctx - 1))


@kernel
def encode_truncated_unary(reg, out, ctx, ctx0, n_ctx, value, c_max):
    """TU: ``value`` ones, then a zero unless ``value == c_max`` (§9.3.3.4)."""
    for i in range(value):
        reg = _encode_flag(reg, out, ctx, ctx0, n_ctx, i, 1)
    if value < c_max:
        reg = _encode_flag(reg, out, ctx, ctx0, n_ctx, value, 0)
    return reg


@kernel
def decode_truncated_unary(reg, data, ctx, ctx0, n_ctx, c_max):
    value = 0
    while value < c_max:
        reg, bin = _decode_flag(reg, data, ctx, ctx0, n_ctx, value)
        if bin == 0:
            break
        value += 1
    return reg, value


@kernel
def encode_unary(reg, out, ctx, ctx0, n_ctx, value):
    """U: ``value`` ones and a terminating zero."""
    return encode_truncated_unary(reg, out, ctx, ctx0, n_ctx, value, value + 1)


@kernel
def decode_unary(reg, data, ctx, ctx0, n_ctx, max_value):
    """Decode U; ``-1`` if more than ``max_value`` ones arrive (damaged data)."""
    reg, value = decode_truncated_unary(reg, data, ctx, ctx0, n_ctx, max_value + 1)
    return reg, (value if value <= max_value else -1)


@kernel
def encode_fixed_length(reg, out, value, nbits):
    """FL: the ``nbits`` low bits of ``value`` as bypass bins, MSB first (§9.3.3.7)."""
    for i in range(nbits - 1, -1, -1):
        reg = encode_bypass(reg, out, (value >> i) & 1)
    return reg


@kernel
def decode_fixed_length(reg, data, nbits):
    value = 0
    for _ in range(nbits):
        reg, bin = decode_bypass(reg, data)
        value = (value << 1) | bin
    return reg, value


@kernel
def encode_truncated_rice(reg, out, value, c_max, rice):
    """TR with Rice parameter ``rice`` (§9.3.3.3), all bins bypass.

    prefixVal = value >> rice as TU with cMax >> rice; when value < cMax and rice > 0 the
    suffix value - (prefixVal << rice) follows in ``rice`` bits.
    """
    prefix = value >> rice
    for _ in range(prefix):
        reg = encode_bypass(reg, out, 1)
    if prefix < c_max >> rice:
        reg = encode_bypass(reg, out, 0)
    if value < c_max and rice > 0:
        reg = encode_fixed_length(reg, out, value - (prefix << rice), rice)
    return reg


@kernel
def decode_truncated_rice(reg, data, c_max, rice):
    prefix = 0
    while prefix < c_max >> rice:
        reg, bin = decode_bypass(reg, data)
        if bin == 0:
            break
        prefix += 1
    value = prefix << rice
    if value < c_max and rice > 0:
        reg, suffix = decode_fixed_length(reg, data, rice)
        value += suffix
    return reg, value


@kernel
def encode_exp_golomb(reg, out, value, k):
    """EGk (§9.3.3.5 of H.266, §9.3.3.3 of H.265), all bins bypass."""
    while value >= (1 << k):
        reg = encode_bypass(reg, out, 1)
        value -= 1 << k
        k += 1
    reg = encode_bypass(reg, out, 0)
    return encode_fixed_length(reg, out, value, k)


@kernel
def decode_exp_golomb(reg, data, k):
    """Decode EGk; ``-1`` when the prefix is longer than :data:`MAX_EG_PREFIX`."""
    value = 0
    for _ in range(MAX_EG_PREFIX + 1):
        reg, bin = decode_bypass(reg, data)
        if bin == 0:
            reg, suffix = decode_fixed_length(reg, data, k)
            return reg, value + suffix
        value += 1 << k
        k += 1
    return reg, -1
