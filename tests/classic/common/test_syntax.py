"""Inter syntax elements: binarisations round-trip through the arithmetic coder, the rate
estimates match them, and the parameter blocks validate."""

from __future__ import annotations

import numpy as np
import pytest

from codeclab.classic.common import parameters, syntax
from codeclab.classic.decoder import syntax as parser
from codeclab.classic.encoder import syntax as writer
from codeclab.entropy.cabac import (decoder_finish, decoder_start, encode_bin, encode_bypass, encoder_finish,
                                    encoder_start)
from codeclab.entropy.rate import ONE_BIT
from codeclab.errors import BitstreamError

MVDS = [(0, 0), (1, 0), (0, -1), (-2, 3), (5, -17), (100, -3000), (32768, -32768), (-1, 2)]


def _encode(values, write):
    ctx = syntax.new_contexts(32)
    out = np.zeros(1 << 16, np.uint8)
    reg = encoder_start()
    for value in values:
        reg = write(reg, out, ctx, value)
    return out[:encoder_finish(reg, out)].copy()


def test_mvd_round_trip():
    data = _encode(MVDS, lambda reg, out, ctx, v: writer.encode_mvd(reg, out, ctx, *v))
    ctx = syntax.new_contexts(32)
    reg = decoder_start(data)
    for dx, dy in MVDS:
        reg, gx, gy, ok = parser.decode_mvd(reg, data, ctx)
        assert ok and (gx, gy) == (dx, dy)
    assert decoder_finish(reg, data) == 0


def test_mvd_binarisation_lengths():
    # abs_mvd_minus2 is EG1: 0 -> "00" (2 bins), 1 -> "01", 2 -> "1000" (4 bins), 5 -> "1011".
    assert [writer.exp_golomb_length(v, 1) for v in (0, 1, 2, 5, 6)] == [2, 2, 4, 4, 6]
    ctx = syntax.new_contexts(32)  # fresh contexts: every regular bin costs ~0.92..1.1 bits
    assert writer.mvd_bits(ctx, 0, 0) < writer.mvd_bits(ctx, 1, 0) < writer.mvd_bits(ctx, 2, 0)
    # |mvd| = 3: greater0, greater1, EG1(1) = 2 bins, sign -> 2 regular + 3 bypass, plus y's flag.
    extra = writer.mvd_bits(ctx, 3, 0) - writer.mvd_bits(ctx, 1, 0)
    assert extra - 2 * ONE_BIT == pytest.approx(
        writer.flag_bits(ctx, syntax.MVD_GREATER1, 1) - writer.flag_bits(ctx, syntax.MVD_GREATER1, 0))


def test_damaged_mvd_is_rejected():
    # |mvd_x| > 1 and then 40 bypass ones: an Exp-Golomb prefix no encoder makes.
    ctx = syntax.new_contexts(32)
    out = np.zeros(256, np.uint8)
    reg = encoder_start()
    for c, b in ((syntax.MVD_GREATER0, 1), (syntax.MVD_GREATER0, 0), (syntax.MVD_GREATER1, 1)):
        reg = encode_bin(reg, out, ctx, c, b)
    for _ in range(40):
        reg = encode_bypass(reg, out, 1)
    data = out[:encoder_finish(reg, out)].copy()
    _, _, _, ok = parser.decode_mvd(decoder_start(data), data, syntax.new_contexts(32))
    assert not ok


@pytest.mark.parametrize("num_refs", [1, 2, 4])
def test_merge_and_reference_indices_round_trip(num_refs):
    values = [(m, r) for m in range(5) for r in range(num_refs)]
    data = _encode(values, lambda reg, out, ctx, v: writer.encode_ref_idx(
        writer.encode_merge_idx(reg, out, ctx, v[0]), out, ctx, v[1], num_refs))
    ctx = syntax.new_contexts(32)
    reg = decoder_start(data)
    for merge_idx, ref_idx in values:
        reg, m = parser.decode_merge_idx(reg, data, ctx)
        reg, r = parser.decode_ref_idx(reg, data, ctx, num_refs)
        assert (m, r) == (merge_idx, ref_idx)
    assert decoder_finish(reg, data) == 0
    ctx = syntax.new_contexts(32)
    assert writer.ref_idx_bits(ctx, 0, 1) == 0  # one reference: nothing coded
    assert writer.merge_idx_bits(ctx, 4) == writer.merge_idx_bits(ctx, 3)  # 1111 and 1110


def test_sequence_params_round_trip_and_validate():
    params = parameters.SequenceParams(qp=27, intra_period=48, num_refs=2, gop_size=1, picture_filter=5)
    assert parameters.SequenceParams.unpack(params.pack()) == params
    assert len(parameters.SequenceParams(qp=27).pack()) == 8
    good = bytearray(parameters.SequenceParams(qp=27).pack())
    for position, value in [(0, 52), (1, 0x80), (2, 5), (4, 0), (5, 0), (6, 0), (6, 5), (7, 0), (7, 17)]:
        bad = bytearray(good)
        if position == 4:
            bad[4:6] = b"\x00\x00"
        else:
            bad[position] = value
        with pytest.raises(BitstreamError):
            parameters.SequenceParams.unpack(bytes(bad))
    with pytest.raises(BitstreamError):
        parameters.SequenceParams.unpack(bytes(good) + b"\x00")


def test_picture_header_byte():
    for inter in (False, True):
        for qp in (0, 27, 51):
            assert parameters.unpack_picture_header(parameters.pack_picture_header(inter, qp)) == (inter, qp)
    for bad in (0x40, 52, 0xBF):
        with pytest.raises(BitstreamError):
            parameters.unpack_picture_header(bad)
