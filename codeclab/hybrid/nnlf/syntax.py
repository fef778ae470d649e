"""The side information of the neural loop filter: component modes, residual scales, CTU flags.

The layout is drawn in :mod:`.tool`'s docstring; :func:`read_side_info` parses it (any
malformed byte is a ``BitstreamError``), :func:`codeclab.hybrid.nnlf.encoder.write_side_info`
writes it.
"""

from __future__ import annotations

import numpy as np

from codeclab.entropy.bin_coder import decode_bin_stream
from codeclab.entropy.cabac import FINISH_ERRORS, contexts_at
from codeclab.errors import BitstreamError

#: The tool id of this filter in the classic codec's picture parameters.
NEURAL_FILTER_ID = 1
#: Component modes.
OFF, ON, PER_CTU = 0, 1, 2
#: Residual scales S (in eighths) the syntax can express: S = SCALE_OFFSET + k, k in 0..7.
SCALE_OFFSET = 4
SCALES = tuple(range(SCALE_OFFSET, SCALE_OFFSET + 8))
#: Initial P(flag = 1) of each component's context: the filter helps most CTUs.
FLAG_P_ON = 0.75
#: Bits charged to a per-CTU mode for the codeword's termination (about one byte).
CODEWORD_OVERHEAD_BITS = 8


def ctu_select(off: np.ndarray, on: np.ndarray, flags: np.ndarray, ctu: int) -> np.ndarray:
    """``on`` where a CTU's flag is 1, ``off`` elsewhere."""
    if flags.all() or not flags.any():
        return np.asarray(on if flags.all() else off, dtype=np.int32)
    mask = np.kron(flags.astype(bool), np.ones((ctu, ctu), dtype=bool))
    return np.where(mask, on, off).astype(np.int32)


#: Bytes before the codeword when some component is filtered: modes, fingerprint, scales.
HEAD_BYTES = 5


def read_side_info(side_info: bytes, fingerprint: int,
                   ctu_count: int) -> tuple[list[int], list[int], list[np.ndarray]]:
    """(modes, scales, flags per component) of ``side_info``; ``BitstreamError`` on anything malformed."""
    if not side_info:
        raise BitstreamError("neural loop filter: side information missing")
    packed_modes = side_info[0]
    modes = [(packed_modes >> (2 * c)) & 3 for c in range(3)]
    if packed_modes >> 6 or 3 in modes:
        raise BitstreamError(f"neural loop filter: invalid component modes {packed_modes:#04x}")
    if not packed_modes:
        if len(side_info) != 1:
            raise BitstreamError("neural loop filter: unexpected bytes after the modes")
        return modes, [SCALE_OFFSET] * 3, [np.zeros(ctu_count, dtype=np.int32) for _ in range(3)]
    if len(side_info) < HEAD_BYTES:
        raise BitstreamError(f"neural loop filter: side information shorter than its {HEAD_BYTES}-byte header")
    if int.from_bytes(side_info[1:3], "big") != fingerprint & 0xFFFF:
        raise BitstreamError("neural loop filter: the stream was coded with other filter weights "
                             "(weights fingerprint differs)")
    packed_scales = int.from_bytes(side_info[3:5], "big")
    indices = [(packed_scales >> (3 * c)) & 7 for c in range(3)]
    if packed_scales >> 9 or any(mode == OFF and k for mode, k in zip(modes, indices)):
        raise BitstreamError(f"neural loop filter: invalid residual scales {packed_scales:#06x}")
    scales = [SCALE_OFFSET + k for k in indices]
    coded = [i for i, mode in enumerate(modes) if mode == PER_CTU]
    codeword = np.frombuffer(side_info[HEAD_BYTES:], dtype=np.uint8)
    flags = [np.full(ctu_count, mode, dtype=np.int32) for mode in modes]
    if not coded:
        if codeword.size:
            raise BitstreamError("neural loop filter: unexpected bytes after the modes")
        return modes, scales, flags
    ctx_ids = np.concatenate([np.full(ctu_count, i, dtype=np.int32) for i in coded])
    bins = np.zeros(ctx_ids.size, dtype=np.int32)
    code = int(decode_bin_stream(contexts_at(FLAG_P_ON, count=3), ctx_ids, codeword, bins))
    if code:
        raise BitstreamError(f"neural loop filter flags: {FINISH_ERRORS[code]}")
    for k, i in enumerate(coded):
        flags[i] = bins[k * ctu_count:(k + 1) * ctu_count]
    return modes, scales, flags
