"""Coding integer symbols with integer CDF tables through ``constriction``.

Two stream codes (Duda 2013; Bamler, "Understanding entropy coding with asymmetric numeral
systems (ANS)", 2022):

* **ANS** (``constriction.stream.stack.AnsCoder``) is a stack: the decoder reads symbols in
  the reverse order of encoding. When the decoder knows every symbol's table before it
  starts (factorized and hyperprior models), the order is free, and we choose the fastest:
  symbols are grouped by table index (a stable sort), each group is coded in one vectorised
  call with that table's model, and groups are pushed in reverse so they pop in order.
* **Range coding** (``constriction.stream.queue.RangeEncoder``) is a queue: first in, first
  out. Autoregressive models need it, because the table of a symbol depends on symbols
  decoded before it: :class:`RangeSymbolEncoder` / :class:`RangeSymbolDecoder` code one
  chunk (e.g. one wavefront of a context model) at a time, in the same grouped way.

Stream layout (both)::

    varint  n_words            number of 32-bit words of the arithmetic code
    u32le   words[n_words]     the code; its first symbols (to the decoder) are a check
                               word: CRC-32 of the tables (ANS: xor the symbol count)
    bytes   escapes            se(v) Exp-Golomb codes of the escaped values, in decoding order

A symbol outside its table's alphabet is coded as the table's escape entry and its value
follows in the escape bit string (the project's :class:`~codeclab.bitstream.BitWriter`),
so any int32 value can be coded. Decoding checks the word count, the check word, that the
ANS stack ends exactly empty, and the escape string; anything inconsistent raises
:class:`~codeclab.errors.BitstreamError`. Work and memory are bounded by the number of
symbols asked for and the length of the data.
"""

from __future__ import annotations

import numpy as np

from codeclab.bitstream.bits import BitReader, BitWriter
from codeclab.entropy.tables import CdfTables
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel

_MAX_VARINT_BYTES = 5


def _uniform16():
    import constriction

    return constriction.stream.model.Uniform(1 << 16)


def _write_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes) -> tuple[int, int]:
    value = 0
    for i in range(min(len(data), _MAX_VARINT_BYTES)):
        value |= (data[i] & 0x7F) << (7 * i)
        if not data[i] & 0x80:
            return value, i + 1
    raise BitstreamError("entropy-coded stream: bad length header")


def _split(data) -> tuple[np.ndarray, bytes]:
    data = bytes(data)
    n_words, at = _read_varint(data)
    end = at + 4 * n_words
    if end > len(data):
        raise BitstreamError(f"entropy-coded stream truncated: {n_words} words announced, "
                             f"{(len(data) - at) // 4} present")
    words = np.frombuffer(data[at:end], dtype="<u4").astype(np.uint32)
    return words, data[end:]


def _check_symbols(check: int) -> np.ndarray:
    return np.array([check >> 16, check & 0xFFFF], dtype=np.int32)


@kernel
def group_by_table(indexes, n_tables):
    """Counting sort by table index: (order, counts), ``indexes[order]`` ascending and
    stable. Encoder and decoder both derive the coding order from it."""
    counts = np.zeros(n_tables, dtype=np.int64)
    for i in range(indexes.shape[0]):
        counts[indexes[i]] += 1
    slot = np.empty(n_tables, dtype=np.int64)
    at = 0
    for g in range(n_tables):
        slot[g] = at
        at += counts[g]
    order = np.empty(indexes.shape[0], dtype=np.int64)
    for i in range(indexes.shape[0]):
        g = indexes[i]
        order[slot[g]] = i
        slot[g] += 1
    return order, counts


@kernel
def sorted_positions(symbols, indexes, order, offsets, lengths):
    """Alphabet positions in coding order, out-of-table values replaced by the escape entry
    (the last); also returns the escaped values, in coding order."""
    n = order.shape[0]
    pos = np.empty(n, dtype=np.int32)
    n_escaped = 0
    for k in range(n):
        i = order[k]
        g = indexes[i]
        p = np.int64(symbols[i]) - offsets[g]
        if p < 0 or p >= lengths[g] - 1:
            p = lengths[g] - 1
            n_escaped += 1
        pos[k] = p
    escaped = np.empty(n_escaped, dtype=np.int64)
    e = 0
    for k in range(n):
        i = order[k]
        if pos[k] == lengths[indexes[i]] - 1:
            escaped[e] = symbols[i]
            e += 1
    return pos, escaped


@kernel
def count_escapes(pos, indexes, order, lengths):
    """How many decoded positions are escape entries."""
    n_escaped = 0
    for k in range(order.shape[0]):
        if pos[k] == lengths[indexes[order[k]]] - 1:
            n_escaped += 1
    return n_escaped


@kernel
def scatter_values(pos, indexes, order, offsets, lengths, escaped):
    """Values back in their original places: position + offset, escapes from ``escaped``."""
    values = np.empty(order.shape[0], dtype=np.int64)
    e = 0
    for k in range(order.shape[0]):
        i = order[k]
        g = indexes[i]
        if pos[k] == lengths[g] - 1:
            values[i] = escaped[e]
            e += 1
        else:
            values[i] = pos[k] + offsets[g]
    return values


class _Groups:
    """Symbols grouped by table index, in the order both coder sides agree on."""

    def __init__(self, indexes: np.ndarray, n_tables: int) -> None:
        indexes = np.ascontiguousarray(indexes).ravel()
        if indexes.dtype.kind not in "iu":
            raise ValueError("table indexes must be integers")
        if indexes.size and (int(indexes.min()) < 0 or int(indexes.max()) >= n_tables):
            raise ValueError(f"table indexes must lie in 0..{n_tables - 1}")
        self.indexes = indexes
        self.order, counts = group_by_table(indexes, n_tables)
        self.used = np.flatnonzero(counts)
        ends = np.cumsum(counts)
        self.bounds = [(int(ends[g] - counts[g]), int(ends[g])) for g in self.used]


def encode_symbols(symbols: np.ndarray, indexes: np.ndarray, tables: CdfTables) -> bytes:
    """ANS-code ``symbols`` (int), symbol ``i`` with table ``indexes[i]``; return the stream."""
    import constriction

    symbols = np.ascontiguousarray(symbols).ravel()
    groups = _Groups(indexes, len(tables))
    if symbols.size != groups.indexes.size:
        raise ValueError("symbols and indexes differ in size")
    pos_sorted, escaped = sorted_positions(symbols, groups.indexes, groups.order,
                                           tables.offsets, tables.lengths)
    coder = constriction.stream.stack.AnsCoder()
    for g, (a, b) in zip(groups.used[::-1], groups.bounds[::-1]):
        coder.encode_reverse(pos_sorted[a:b], tables.model(int(g)))
    check = (tables.fingerprint ^ symbols.size) & 0xFFFFFFFF
    coder.encode_reverse(_check_symbols(check), _uniform16())
    words = coder.get_compressed()
    return _write_varint(words.size) + words.astype("<u4").tobytes() + _escape_bits(escaped)


def _escape_bits(escaped: np.ndarray) -> bytes:
    """Escaped values as signed Exp-Golomb codes, se(v)."""
    writer = BitWriter()
    for v in escaped.tolist():
        writer.write_se(v)
    return writer.getvalue()


def decode_symbols(data, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
    """Inverse of :func:`encode_symbols`; the same ``indexes`` decide the tables (int32 out)."""
    import constriction

    words, escape_bytes = _split(data)
    groups = _Groups(indexes, len(tables))
    n = groups.indexes.size
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        hi, lo = coder.decode(_uniform16(), 2)
        if ((int(hi) << 16) | int(lo)) != (tables.fingerprint ^ n) & 0xFFFFFFFF:
            raise BitstreamError("entropy-coded stream does not match these tables or is damaged")
        parts = [coder.decode(tables.model(int(g)), b - a) for g, (a, b) in zip(groups.used, groups.bounds)]
        empty = coder.is_empty()
    except BitstreamError:
        raise
    except (ValueError, RuntimeError, AssertionError) as e:  # constriction rejects the words
        raise BitstreamError(f"entropy-coded stream is damaged ({e})") from None
    if not empty:
        raise BitstreamError("entropy-coded stream is damaged (ANS state not exhausted)")
    reader = BitReader(escape_bytes)
    values = _place_values(parts, groups, tables, reader)
    if reader.bits_left >= 8:
        raise BitstreamError("entropy-coded stream is followed by unexpected bytes")
    return values


def _place_values(parts: list, groups: _Groups, tables: CdfTables, reader: BitReader) -> np.ndarray:
    """Decoded table positions (coding order) -> int32 values in their original places."""
    pos = np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)
    n_escaped = int(count_escapes(pos, groups.indexes, groups.order, tables.lengths))
    if n_escaped > reader.bits_left:  # each escape needs >= 1 bit: reject before looping
        raise BitstreamError("entropy-coded stream: escape values missing")
    escaped = np.array([reader.read_se() for _ in range(n_escaped)], dtype=object)
    if n_escaped and (min(escaped) < -(1 << 31) or max(escaped) >= 1 << 31):
        raise BitstreamError("entropy-coded stream: escaped value outside int32")
    values = scatter_values(pos, groups.indexes, groups.order, tables.offsets, tables.lengths,
                            escaped.astype(np.int64))
    return values.astype(np.int32)


class RangeSymbolEncoder:
    """Range coder for autoregressive models: call :meth:`encode` chunk by chunk, in the
    order the decoder will call :meth:`RangeSymbolDecoder.decode`, then :meth:`finish`."""

    def __init__(self, tables: CdfTables) -> None:
        import constriction

        self.tables = tables
        self._coder = constriction.stream.queue.RangeEncoder()
        self._coder.encode(_check_symbols(tables.fingerprint), _uniform16())
        self._escapes = BitWriter()

    def encode(self, symbols: np.ndarray, indexes: np.ndarray) -> None:
        symbols = np.ascontiguousarray(symbols).ravel()
        groups = _Groups(indexes, len(self.tables))
        if symbols.size != groups.indexes.size:
            raise ValueError("symbols and indexes differ in size")
        pos_sorted, escaped = sorted_positions(symbols, groups.indexes, groups.order,
                                               self.tables.offsets, self.tables.lengths)
        for g, (a, b) in zip(groups.used, groups.bounds):
            self._coder.encode(pos_sorted[a:b], self.tables.model(int(g)))
        for v in escaped.tolist():
            self._escapes.write_se(v)

    def finish(self) -> bytes:
        words = self._coder.get_compressed()
        return _write_varint(words.size) + words.astype("<u4").tobytes() + self._escapes.getvalue()


class RangeSymbolDecoder:
    """Counterpart of :class:`RangeSymbolEncoder`; raises ``BitstreamError`` on bad data."""

    def __init__(self, data, tables: CdfTables) -> None:
        import constriction

        self.tables = tables
        words, escape_bytes = _split(data)
        self._escapes = BitReader(escape_bytes)
        try:
            self._coder = constriction.stream.queue.RangeDecoder(words)
            hi, lo = self._coder.decode(_uniform16(), 2)
        except (ValueError, RuntimeError, AssertionError) as e:
            raise BitstreamError(f"entropy-coded stream is damaged ({e})") from None
        if ((int(hi) << 16) | int(lo)) != tables.fingerprint:
            raise BitstreamError("entropy-coded stream does not match these tables or is damaged")

    def decode(self, indexes: np.ndarray) -> np.ndarray:
        groups = _Groups(indexes, len(self.tables))
        try:
            parts = [self._coder.decode(self.tables.model(int(g)), b - a)
                     for g, (a, b) in zip(groups.used, groups.bounds)]
        except (ValueError, RuntimeError, AssertionError) as e:
            raise BitstreamError(f"entropy-coded stream is damaged ({e})") from None
        return _place_values(parts, groups, self.tables, self._escapes)

    def finish(self) -> None:
        """Check that the stream held nothing more than what was decoded."""
        if not self._coder.maybe_exhausted() or self._escapes.bits_left >= 8:
            raise BitstreamError("entropy-coded stream is followed by unexpected data")
