"""Bit-level writer and reader with the Exp-Golomb codes of H.264/HEVC syntax.

Fixed-length fields are written most significant bit first (``u(n)`` in the standards).
The k-th order Exp-Golomb code used for ``ue(v)``/``se(v)`` (ITU-T H.265 §9.2):

    codeNum = 2^leadingZeroBits - 1 + read_bits(leadingZeroBits)

so ``0 -> 1``, ``1 -> 010``, ``2 -> 011``, ``3 -> 00100``, ... Signed values map
``k > 0 -> 2k - 1`` and ``k <= 0 -> -2k`` (H.265 Table 9-3).

Byte-aligned lengths use ULEB128 (:func:`uleb128`, :func:`read_uleb128`), the varint of
AV1's ``leb128()`` (AV1 §4.10.5) and of DWARF: 7 bits per byte, least significant group
first, the top bit set when another byte follows.

The reader never reads past its buffer: running out of bits, or a prefix longer than
:data:`MAX_EG_PREFIX` zeros, raises :class:`~codeclab.errors.BitstreamError`, so a damaged
stream cannot make it loop or build huge integers.
"""

from __future__ import annotations

from codeclab.errors import BitstreamError

#: Longest Exp-Golomb prefix accepted (values up to 2^32 - 2), as in the HM reference decoder.
MAX_EG_PREFIX = 32
#: Longest ULEB128 accepted: 5 bytes hold 35 bits, enough for any u32 (AV1 allows 8).
MAX_LEB128_BYTES = 5


def uleb128(value: int) -> bytes:
    """``value`` (0 <= value < 2^32) in ULEB128: ``0 -> 00``, ``127 -> 7f``, ``300 -> ac 02``."""
    if not 0 <= value < 1 << 32:
        raise ValueError(f"uleb128 takes 0 .. 2^32 - 1, got {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_uleb128(data: bytes, pos: int, what: str = "length") -> tuple[int, int]:
    """(value, position after it) of the ULEB128 at ``data[pos]``; ``BitstreamError`` naming
    ``what`` when the bytes run out or the code is longer than :data:`MAX_LEB128_BYTES`."""
    value = 0
    for i in range(MAX_LEB128_BYTES):
        if pos + i >= len(data):
            raise BitstreamError(f"{what}: truncated")
        value |= (data[pos + i] & 0x7F) << (7 * i)
        if not data[pos + i] & 0x80:
            return value, pos + i + 1
    raise BitstreamError(f"{what}: longer than {MAX_LEB128_BYTES} bytes")


class BitWriter:
    """Accumulates bits MSB-first; :meth:`getvalue` pads the last byte with zeros."""

    def __init__(self) -> None:
        self._bytes = bytearray()
        self._acc = 0  # pending bits, right-aligned
        self._nacc = 0  # number of pending bits (< 8 between calls)

    @property
    def bit_count(self) -> int:
        return 8 * len(self._bytes) + self._nacc

    def write(self, value: int, nbits: int) -> None:
        """Write ``value`` as an unsigned ``nbits``-bit field, u(n)."""
        if nbits < 0 or value < 0 or value >> nbits:
            raise ValueError(f"value {value} does not fit in {nbits} unsigned bits")
        self._acc = (self._acc << nbits) | value
        self._nacc += nbits
        while self._nacc >= 8:
            self._nacc -= 8
            self._bytes.append((self._acc >> self._nacc) & 0xFF)
        self._acc &= (1 << self._nacc) - 1

    def write_flag(self, flag: bool) -> None:
        self.write(1 if flag else 0, 1)

    def write_ue(self, value: int) -> None:
        """Unsigned Exp-Golomb, ue(v)."""
        if value < 0:
            raise ValueError("ue(v) needs a non-negative value")
        code = value + 1
        length = code.bit_length()
        self.write(0, length - 1)
        self.write(code, length)

    def write_se(self, value: int) -> None:
        """Signed Exp-Golomb, se(v)."""
        self.write_ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        """Pad with zero bits to the next byte boundary."""
        if self._nacc:
            self.write(0, 8 - self._nacc)

    def getvalue(self) -> bytes:
        tail = bytes([(self._acc << (8 - self._nacc)) & 0xFF]) if self._nacc else b""
        return bytes(self._bytes) + tail


class BitReader:
    """Reads what :class:`BitWriter` wrote; raises ``BitstreamError`` past the end."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0  # in bits
        self._end = 8 * len(self._data)

    @property
    def bits_left(self) -> int:
        return self._end - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def read(self, nbits: int) -> int:
        """Read an unsigned ``nbits``-bit field, u(n)."""
        if nbits < 0:
            raise ValueError("nbits must be >= 0")
        if nbits > self.bits_left:
            raise BitstreamError(f"bitstream truncated: wanted {nbits} bits, {self.bits_left} left")
        value = 0
        pos = self._pos
        end = pos + nbits
        while pos < end:  # byte-wise: take as many bits as the current byte still holds
            byte = self._data[pos >> 3]
            used = pos & 7
            take = min(8 - used, end - pos)
            value = (value << take) | ((byte >> (8 - used - take)) & ((1 << take) - 1))
            pos += take
        self._pos = end
        return value

    def read_flag(self) -> bool:
        return self.read(1) == 1

    def read_ue(self) -> int:
        """Unsigned Exp-Golomb, ue(v)."""
        zeros = 0
        while self.read(1) == 0:
            zeros += 1
            if zeros > MAX_EG_PREFIX:
                raise BitstreamError(f"Exp-Golomb prefix longer than {MAX_EG_PREFIX} bits")
        return (1 << zeros) - 1 + self.read(zeros)

    def read_se(self) -> int:
        """Signed Exp-Golomb, se(v)."""
        k = self.read_ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def align(self) -> None:
        """Skip to the next byte boundary."""
        self._pos = min(self._end, (self._pos + 7) & ~7)
