"""Binarizations: round trips and the bin strings of H.266 §9.3.3."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from codeclab.entropy import binarization as B
from codeclab.entropy import cabac


def _bins_of(encode, n_bins: int) -> str:
    """The bin string an all-bypass binarization writes: decode it back bin by bin."""
    out = np.empty(256, dtype=np.uint8)
    size = cabac.encoder_finish(encode(cabac.encoder_start(), out), out)
    data = out[:size].copy()
    reg = cabac.decoder_start(data)
    bins = []
    for _ in range(n_bins):
        reg, b = cabac.decode_bypass(reg, data)
        bins.append(str(b))
    return "".join(bins)


def test_known_bin_strings():
    ctx = cabac.contexts_at(0.5, count=1)
    assert _bins_of(lambda r, o: B.encode_exp_golomb(r, o, 3, 0), 5) == "11000"
    assert _bins_of(lambda r, o: B.encode_exp_golomb(r, o, 0, 0), 1) == "0"
    assert _bins_of(lambda r, o: B.encode_exp_golomb(r, o, 5, 1), 5) == "10111"  # 5>=2: 1; 3<4: 0; 3 in 2 bits
    assert _bins_of(lambda r, o: B.encode_fixed_length(r, o, 3, 4), 4) == "0011"
    assert _bins_of(lambda r, o: B.encode_truncated_rice(r, o, 9, 16, 2), 5) == "11001"
    assert _bins_of(lambda r, o: B.encode_truncated_rice(r, o, 16, 16, 2), 4) == "1111"  # no suffix at cMax
    assert _bins_of(lambda r, o: B.encode_truncated_unary(r, o, ctx, 0, 0, 3, 3), 3) == "111"
    assert _bins_of(lambda r, o: B.encode_unary(r, o, ctx, 0, 0, 3), 4) == "1110"


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 70000), st.integers(0, 5)),
                       min_size=1, max_size=60),
       n_ctx=st.integers(0, 4))
def test_round_trip_of_every_binarization(values, n_ctx):
    ctx_enc = cabac.contexts_at(0.3, count=max(n_ctx, 1))
    ctx_dec = ctx_enc.copy()
    out = np.empty(64 * len(values) + 64, dtype=np.uint8)
    reg = cabac.encoder_start()
    expected = []
    for kind, v, k in values:
        if kind == 0:
            v = v % 40
            reg = B.encode_unary(reg, out, ctx_enc, 0, n_ctx, v)
        elif kind == 1:
            v = v % 20
            reg = B.encode_truncated_unary(reg, out, ctx_enc, 0, n_ctx, v, 19)
        elif kind == 2:
            reg = B.encode_fixed_length(reg, out, v, 17)
        elif kind == 3:
            v = v % (64 << k)
            reg = B.encode_truncated_rice(reg, out, v, 64 << k, k)
        else:
            reg = B.encode_exp_golomb(reg, out, v, k)
        expected.append(v)
    data = out[: cabac.encoder_finish(reg, out)].copy()
    reg = cabac.decoder_start(data)
    got = []
    for kind, _, k in values:
        if kind == 0:
            reg, v = B.decode_unary(reg, data, ctx_dec, 0, n_ctx, 40)
        elif kind == 1:
            reg, v = B.decode_truncated_unary(reg, data, ctx_dec, 0, n_ctx, 19)
        elif kind == 2:
            reg, v = B.decode_fixed_length(reg, data, 17)
        elif kind == 3:
            reg, v = B.decode_truncated_rice(reg, data, 64 << k, k)
        else:
            reg, v = B.decode_exp_golomb(reg, data, k)
        got.append(v)
    assert got == expected
    assert cabac.decoder_finish(reg, data) == 0


def test_overlong_codes_are_rejected_in_bounded_time():
    data = np.full(64, 0xFF, dtype=np.uint8)  # bypass bins decode as a run of ones
    reg = cabac.decoder_start(data)
    assert B.decode_exp_golomb(reg, data, 0)[1] == -1
    assert B.decode_unary(cabac.decoder_start(data), data, cabac.contexts_at(0.5, 1), 0, 0, 20)[1] == -1
