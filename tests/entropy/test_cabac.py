"""The binary arithmetic coder: round trips, standard formulas, damaged data, rate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeclab.entropy import bin_coder, cabac
from codeclab.entropy.bin_coder import BinaryDecoder, BinaryEncoder
from codeclab.entropy.cabac import contexts_at, init_contexts
from codeclab.entropy.rate import FRAC_BITS, ONE_BIT, bin_cost, ideal_adaptive_bits
from codeclab.errors import BitstreamError

REPO = Path(__file__).resolve().parents[2]


def _stream(seed: int, n: int, n_ctx: int):
    rng = np.random.default_rng(seed)
    ctx_ids = rng.integers(-1, n_ctx, n).astype(np.int64)
    p = rng.uniform(0, 1, n_ctx) ** 2
    bins = (rng.uniform(0, 1, n) < np.where(ctx_ids >= 0, p[np.maximum(ctx_ids, 0)], 0.5)).astype(np.int64)
    return ctx_ids, bins


def _encode(ctx_ids, bins, n_ctx, shift_idx=cabac.DEFAULT_SHIFT_IDX):
    out = np.empty(bins.size + 16, dtype=np.uint8)
    size = bin_coder.encode_bin_stream(contexts_at(0.5, n_ctx, shift_idx), ctx_ids, bins, out)
    return out[:size].copy()


def _decode(data, ctx_ids, n_ctx, shift_idx=cabac.DEFAULT_SHIFT_IDX):
    back = np.zeros(ctx_ids.size, dtype=np.int64)
    code = bin_coder.decode_bin_stream(contexts_at(0.5, n_ctx, shift_idx), ctx_ids, data, back)
    return code, back


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000), n_ctx=st.integers(1, 40),
       shift_idx=st.integers(0, 15))
def test_bin_stream_round_trip(seed, n, n_ctx, shift_idx):
    ctx_ids, bins = _stream(seed, n, n_ctx)
    data = _encode(ctx_ids, bins, n_ctx, shift_idx)
    code, back = _decode(data, ctx_ids, n_ctx, shift_idx)
    assert code == 0
    assert np.array_equal(back, bins)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["bin", "bypass", "bits", "term"]),
                              st.integers(0, 7), st.integers(0, 1 << 20)), max_size=300))
def test_python_wrapper_round_trip_with_terminate_bins(ops):
    enc = BinaryEncoder(contexts_at(0.3, count=8), capacity=16)
    expected = []
    for kind, c, v in ops:
        if kind == "bin":
            enc.encode_bin(c, v & 1)
        elif kind == "bypass":
            enc.encode_bypass(v & 1)
        elif kind == "bits":
            enc.encode_bypass_bits(v, 21)
        else:
            enc.encode_terminate(0)  # a terminate bin 0 continues the codeword
        expected.append(v & 1 if kind in ("bin", "bypass") else (v if kind == "bits" else 0))
    data = enc.finish()
    dec = BinaryDecoder(data, contexts_at(0.3, count=8))
    got = []
    for kind, c, _ in ops:
        if kind == "bin":
            got.append(dec.decode_bin(c))
        elif kind == "bypass":
            got.append(dec.decode_bypass())
        elif kind == "bits":
            got.append(dec.decode_bypass_bits(21))
        else:
            got.append(dec.decode_terminate())
    dec.finish()
    assert got == expected


def test_init_contexts_follow_h266_formula():
    # CNU = 35: slopeIdx 4 (m = 0), offsetIdx 3 (n = 55) -> preCtxState 55 at every QP.
    ctx = init_contexts([35, 35], shift_idx=[0, 15], qp=22)
    assert ctx[:, cabac.C_P0].tolist() == [55 << 3] * 2
    assert ctx[:, cabac.C_P1].tolist() == [55 << 7] * 2
    assert ctx[:, cabac.C_SHIFT0].tolist() == [2, 5]  # (shiftIdx >> 2) + 2
    assert ctx[:, cabac.C_SHIFT1].tolist() == [5, 11]  # (shiftIdx & 3) + 3 + shift0
    # initValue 63 at QP 63: m = 3, n = 127 -> Clip3(1, 127, 70 + 127) = 127.
    assert init_contexts([63], qp=63)[0, cabac.C_P0] == 127 << 3
    # initValue 0 at QP 63: m = -4, n = 1 -> clipped to 1.
    assert init_contexts([0], qp=63)[0, cabac.C_P1] == 1 << 7
    with pytest.raises(ValueError):
        init_contexts([64])


def test_lps_range_and_update_match_h266():
    ctx = contexts_at(0.5, count=1)  # p0 = 512, p1 = 8192 -> p = 16384: valMps 1, q = 16383
    lps, mps = cabac.lps_range(ctx, 0, 510)
    assert (lps, mps) == (((15 * 31) >> 1) + 4, 1)
    cabac.update_context(ctx, 0, 1)  # shift0 4, shift1 7
    assert ctx[0, cabac.C_P0] == 512 - (512 >> 4) + (1023 >> 4)
    assert ctx[0, cabac.C_P1] == 8192 - (8192 >> 7) + (16383 >> 7)


def test_skewed_stream_costs_close_to_ideal():
    rng = np.random.default_rng(3)
    n = 200_000
    ctx_ids = rng.integers(0, 4, n).astype(np.int64)
    bins = (rng.uniform(size=n) < np.array([0.02, 0.2, 0.5, 0.9])[ctx_ids]).astype(np.int64)
    data = _encode(ctx_ids, bins, 4)
    ideal = ideal_adaptive_bits(contexts_at(0.5, count=4), ctx_ids, bins)
    assert 8 * data.size < 1.01 * ideal
    assert 8 * data.size > 0.99 * ideal


def test_bin_cost_table():
    assert FRAC_BITS[128] == round(-np.log2(128.5 / 256) * ONE_BIT)
    ctx = contexts_at(0.5, count=1)
    assert abs(bin_cost(ctx, 0, 0) - ONE_BIT) < 300 and abs(bin_cost(ctx, 0, 1) - ONE_BIT) < 300
    ctx = contexts_at(0.95, count=1)  # a likely 1 is cheap, an unlikely 0 dear
    assert bin_cost(ctx, 0, 1) < 0.1 * ONE_BIT < 4 * ONE_BIT < bin_cost(ctx, 0, 0)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=400), seed=st.integers(0, 1000))
def test_random_bytes_raise_bitstream_error(data, seed):
    ctx_ids, _ = _stream(seed, 500, 6)
    code, _ = _decode(np.frombuffer(data, dtype=np.uint8), ctx_ids, 6)
    assert code != 0
    dec = BinaryDecoder(data, contexts_at(0.5, count=6))
    with pytest.raises(BitstreamError):
        for c in ctx_ids:
            dec.decode_bin(int(c)) if c >= 0 else dec.decode_bypass()
        dec.finish()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cut=st.floats(0, 1, exclude_max=True),
       extra=st.binary(min_size=1, max_size=4))
def test_truncated_or_extended_streams_are_detected(seed, cut, extra):
    ctx_ids, bins = _stream(seed, 2000, 5)
    data = _encode(ctx_ids, bins, 5)
    assert _decode(data[: int(cut * data.size)], ctx_ids, 5)[0] != 0
    assert _decode(np.concatenate([data, np.frombuffer(extra, np.uint8)]), ctx_ids, 5)[0] != 0


def test_full_buffer_is_reported_not_overrun():
    ctx_ids, bins = _stream(0, 5000, 3)
    out = np.zeros(64, dtype=np.uint8)
    guard = np.zeros(80, dtype=np.uint8)
    guard[:64] = out
    size = bin_coder.encode_bin_stream(contexts_at(0.5, 3), ctx_ids, bins, guard[:64])
    assert size > 64 and not guard[64:].any()


def test_runs_without_jit_and_writes_identical_bytes(tmp_path):
    """NUMBA_DISABLE_JIT=1 runs the same functions as plain Python: same bytes."""
    script = textwrap.dedent("""
        import json, sys
        import numpy as np
        from codeclab.entropy import bin_coder, cabac, binarization as B
        from codeclab.classic.decoder.residual import decode_residuals
        from codeclab.classic.encoder.residual import encode_residuals
        rng = np.random.default_rng(7)
        ctx_ids = rng.integers(-1, 4, 300).astype(np.int64)
        bins = rng.integers(0, 2, 300).astype(np.int64)
        out = np.empty(400, np.uint8)
        size = bin_coder.encode_bin_stream(cabac.contexts_at(0.4, 4), ctx_ids, bins, out)
        back = np.zeros(300, np.int64)
        code = bin_coder.decode_bin_stream(cabac.contexts_at(0.4, 4), ctx_ids, out[:size].copy(), back)
        assert code == 0 and np.array_equal(back, bins)
        reg = cabac.encoder_start()
        buf = np.empty(256, np.uint8)
        ctx = cabac.contexts_at(0.5, 2)
        reg = B.encode_exp_golomb(reg, buf, 1234, 2)
        reg = B.encode_truncated_rice(reg, buf, 9, 16, 1)
        reg = B.encode_truncated_unary(reg, buf, ctx, 0, 2, 3, 5)
        n = cabac.encoder_finish(reg, buf)
        blocks = rng.integers(-3, 4, (3, 4, 4)).astype(np.int32)
        res = encode_residuals(blocks)
        assert np.array_equal(decode_residuals(res, 3, 4), blocks)
        print(json.dumps([out[:size].tolist(), buf[:n].tolist(), list(res)]))
    """)
    results = []
    for disable in ("1", "0"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable, PYTHONPATH=str(REPO))
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        results.append(json.loads(done.stdout))
    assert results[0] == results[1]
