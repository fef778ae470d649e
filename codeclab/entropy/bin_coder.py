"""The CABAC engine from Python: :class:`BinaryEncoder` / :class:`BinaryDecoder`, and whole bin streams.

The engine of :mod:`codeclab.entropy.cabac` is a set of numba functions over a register
array, called from the codecs' own numba code. These wrappers give tests, tutorials and
experiments the same engine one bin at a time from Python, and code whole streams of
``(context, bin)`` pairs at once.
"""

from __future__ import annotations

import numpy as np

from codeclab.entropy.cabac import (check_finish, decode_bin, decode_bypass, decode_bypass_bits,
                                    decode_terminate, decoder_failed, decoder_finish, decoder_start,
                                    encode_bin, encode_bypass, encode_bypass_bits, encode_terminate,
                                    encoder_finish, encoder_start, reserve)
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel


# ----------------------------------------------------------------------------- bin streams
@kernel
def encode_bin_stream(ctx, ctx_ids, bins, out):
    """Code a stream of bins (``ctx_id < 0`` means bypass); return the number of bytes.

    The engine's inner loop, used by the benchmark and the tests; ``out`` needs
    ``len(bins) + 16`` bytes at most.
    """
    reg = encoder_start()
    for i in range(bins.shape[0]):
        c = ctx_ids[i]
        if c >= 0:
            reg = encode_bin(reg, out, ctx, c, bins[i])
        else:
            reg = encode_bypass(reg, out, bins[i])
    return encoder_finish(reg, out)


@kernel
def decode_bin_stream(ctx, ctx_ids, data, bins_out):
    """Inverse of :func:`encode_bin_stream`; returns the :func:`decoder_finish` code."""
    reg = decoder_start(data)
    for i in range(ctx_ids.shape[0]):
        c = ctx_ids[i]
        if c >= 0:
            reg, bins_out[i] = decode_bin(reg, data, ctx, c)
        else:
            reg, bins_out[i] = decode_bypass(reg, data)
        if decoder_failed(reg, data):
            return 1
    return decoder_finish(reg, data)


# ----------------------------------------------------------------------------- Python API
def as_byte_array(data) -> np.ndarray:
    """``bytes``/``bytearray``/``memoryview``/uint8 array -> contiguous ``np.uint8`` array."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise ValueError("expected a 1-D uint8 array")
        return np.ascontiguousarray(data)
    return np.frombuffer(bytes(data), dtype=np.uint8)


class BinaryEncoder:
    """One arithmetic codeword built bin by bin from Python (for teaching and tests).

    >>> enc = BinaryEncoder(contexts_at(0.5, count=2))
    >>> enc.encode_bin(0, 1); enc.encode_bypass_bits(5, 3)
    >>> data = enc.finish()

    Numba code calls :func:`encode_bin` & co. directly instead.
    """

    def __init__(self, contexts: np.ndarray, capacity: int = 1024) -> None:
        self.contexts = contexts
        self.registers = encoder_start()
        self.out = np.empty(max(int(capacity), 16), dtype=np.uint8)

    def _room(self, bins: int) -> None:
        self.out = reserve(self.registers, self.out, bins)

    def encode_bin(self, ctx: int, bin: int) -> None:
        self._room(1)
        self.registers = encode_bin(self.registers, self.out, self.contexts, ctx, int(bin))

    def encode_bypass(self, bin: int) -> None:
        self._room(1)
        self.registers = encode_bypass(self.registers, self.out, int(bin))

    def encode_bypass_bits(self, value: int, nbits: int) -> None:
        if not 0 <= nbits <= 32 or value < 0 or value >> nbits:
            raise ValueError(f"value {value} does not fit in {nbits} bits")
        self._room(nbits)
        self.registers = encode_bypass_bits(self.registers, self.out, int(value), int(nbits))

    def encode_terminate(self, bin: int) -> None:
        self._room(1)
        self.registers = encode_terminate(self.registers, self.out, int(bin))

    def finish(self) -> bytes:
        """Close the codeword (terminate bin 1, flush, stop bit) and return its bytes."""
        self._room(8)
        size = int(encoder_finish(self.registers, self.out))
        return self.out[:size].tobytes()


class BinaryDecoder:
    """Mirror of :class:`BinaryEncoder`; raises ``BitstreamError`` on damaged data."""

    def __init__(self, data, contexts: np.ndarray) -> None:
        self.data = as_byte_array(data)
        self.contexts = contexts
        self.registers = decoder_start(self.data)

    def _checked(self, result):
        self.registers, bin = result
        if decoder_failed(self.registers, self.data):
            raise BitstreamError("arithmetic-coded data truncated (read past its end)")
        return int(bin)

    def decode_bin(self, ctx: int) -> int:
        return self._checked(decode_bin(self.registers, self.data, self.contexts, ctx))

    def decode_bypass(self) -> int:
        return self._checked(decode_bypass(self.registers, self.data))

    def decode_bypass_bits(self, nbits: int) -> int:
        if not 0 <= nbits <= 32:
            raise ValueError("at most 32 bypass bits at a time")
        return self._checked(decode_bypass_bits(self.registers, self.data, int(nbits)))

    def decode_terminate(self) -> int:
        return self._checked(decode_terminate(self.registers, self.data))

    def finish(self) -> None:
        """Check the end-of-stream pattern written by :meth:`BinaryEncoder.finish`."""
        check_finish(self.registers, self.data)
