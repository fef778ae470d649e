"""Learned entropy models: likelihoods, round trips, escapes, damaged data, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codeclab.entropy import (EntropyBottleneck, GaussianConditional, LaplaceConditional, LogisticConditional,
                              RangeSymbolDecoder, RangeSymbolEncoder, decode_symbols, encode_symbols,
                              parametric_tables, quantize)
from codeclab.errors import BitstreamError

REPO = Path(__file__).resolve().parents[2]
MODELS = [GaussianConditional, LaplaceConditional, LogisticConditional]


@pytest.mark.parametrize("cls", MODELS)
def test_likelihoods_are_bin_masses(cls):
    model = cls()
    k = torch.arange(-4000, 4001, dtype=torch.float32).reshape(-1, 1)
    scales = torch.tensor([[0.2, 1.0, 7.5, 100.0]]).expand(k.shape[0], 4)
    means = torch.full_like(scales, 0.3)
    lik = model.likelihood(k.expand_as(scales), scales, means)
    assert torch.allclose(lik.sum(0), torch.ones(4), atol=1e-4)


def test_training_modes_have_gradients():
    model = GaussianConditional().train()
    y = torch.randn(2, 4, 8, 8, requires_grad=True)
    scales = (torch.rand(2, 4, 8, 8) + 0.5).requires_grad_()
    means = torch.randn(2, 4, 8, 8, requires_grad=True)
    for mode in ("noise", "ste"):
        y_hat, lik = model(y, scales, means, mode=mode)
        (-torch.log2(lik).sum() + y_hat.square().sum()).backward()
        assert y.grad.abs().sum() > 0 and scales.grad.abs().sum() > 0
        y.grad = scales.grad = None
    hard = quantize(y, "ste", means)
    assert torch.allclose(hard - means, torch.round(y - means))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 9)),
       log_scale=st.tuples(st.floats(-4, 0), st.floats(0, 7)), family=st.integers(0, 2),
       with_means=st.booleans())
def test_conditional_round_trip(seed, shape, log_scale, family, with_means):
    g = torch.Generator().manual_seed(seed)
    scales = torch.exp(torch.empty(shape).uniform_(*sorted(log_scale), generator=g))
    means = torch.randn(shape, generator=g) * 10 if with_means else None
    y = torch.randn(shape, generator=g) * scales * 1.5 + (0 if means is None else means)
    model = MODELS[family]()
    data = model.compress(y, scales, means)
    y_hat = model.decompress(data, scales, means)
    expected = quantize(y, "dequantize", None if means is None else torch.round(means * 64) / 64)
    assert torch.equal(y_hat, expected)


def test_rate_is_close_to_the_tables_and_escapes_work():
    model = GaussianConditional()
    torch.manual_seed(0)
    scales = torch.exp(torch.empty(1, 8, 32, 32).uniform_(-2, 4))
    y = torch.randn(1, 8, 32, 32) * scales
    y[0, 0, 0, :4] = torch.tensor([1e6, -1e6, 3e4, 2.0**30])  # far outside every table
    data = model.compress(y, scales)
    assert torch.equal(model.decompress(data, scales), torch.round(y))
    assert 8 * len(data) < model.ideal_bits(y, scales) + 4 * 64 + 300
    with pytest.raises(ValueError):
        model.compress(torch.full_like(y, 2.0**31), scales)


def test_entropy_bottleneck_round_trip_and_reload():
    torch.manual_seed(1)
    eb = EntropyBottleneck(6)
    with pytest.raises(RuntimeError):
        eb.compress(torch.zeros(1, 6, 2, 2))
    y = torch.randn(2, 6, 8, 8) * 4
    _, lik = eb(y)
    assert lik.shape == y.shape and bool((lik > 0).all() and (lik <= 1).all())
    eb.update()
    data = eb.compress(y)
    y_hat = eb.decompress(data, y.shape)
    med = eb.medians.reshape(1, -1, 1, 1)
    assert torch.equal(y_hat, torch.round(y - med) + med)
    fresh = EntropyBottleneck(6)
    fresh.load_state_dict(eb.state_dict())
    assert torch.equal(fresh.decompress(data, y.shape), y_hat)
    # the learned CDF is monotone, so the bisected quantiles bracket the median
    assert bool((eb.cdf_offsets < 0).all())


def test_range_coder_chunks_round_trip():
    tables = parametric_tables("gaussian")
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(tables), 5000).astype(np.int16)
    values = np.round(rng.standard_normal(5000) * tables.lengths[idx] / 12).astype(np.int32)
    values[:3] = [10**7, -(10**7), 0]
    enc = RangeSymbolEncoder(tables)
    for a in range(0, 5000, 700):
        enc.encode(values[a:a + 700], idx[a:a + 700])
    data = enc.finish()
    dec = RangeSymbolDecoder(data, tables)
    got = np.concatenate([dec.decode(idx[a:a + 700]) for a in range(0, 5000, 700)])
    dec.finish()
    assert np.array_equal(got, values)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), n=st.integers(1, 3000), seed=st.integers(0, 100))
def test_random_bytes_raise_bitstream_error(data, n, seed):
    tables = parametric_tables("gaussian")
    idx = np.random.default_rng(seed).integers(0, len(tables), n).astype(np.int16)
    with pytest.raises(BitstreamError):
        decode_symbols(data, idx, tables)
    with pytest.raises(BitstreamError):
        dec = RangeSymbolDecoder(data, tables)
        dec.decode(idx)
        dec.finish()


@settings(max_examples=30, deadline=None)
@given(cut=st.floats(0, 1, exclude_max=True), flip=st.integers(0, 10**6))
def test_truncated_or_damaged_streams_raise(cut, flip):
    tables = parametric_tables("gaussian")
    rng = np.random.default_rng(5)
    idx = rng.integers(0, len(tables), 4000).astype(np.int16)
    values = np.round(rng.standard_normal(4000) * tables.lengths[idx] / 12).astype(np.int32)
    data = encode_symbols(values, idx, tables)
    with pytest.raises(BitstreamError):
        decode_symbols(data[: int(cut * len(data))], idx, tables)
    damaged = bytearray(data)
    damaged[flip % len(data)] ^= 1 << (flip % 8)
    try:
        out = decode_symbols(bytes(damaged), idx, tables)
    except BitstreamError:
        return
    assert not np.array_equal(out, values) or bytes(damaged) == data  # never silently "equal"


def test_wrong_tables_are_detected():
    gauss, laplace = parametric_tables("gaussian"), parametric_tables("laplace")
    idx = np.zeros(100, dtype=np.int16)
    data = encode_symbols(np.zeros(100, np.int32), idx, gauss)
    with pytest.raises(BitstreamError):
        decode_symbols(data, idx, laplace)


_DETERMINISM = textwrap.dedent("""
    import json, sys
    import torch
    from codeclab.entropy import GaussianConditional
    role, threads, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    # a small "hyper-synthesis": z -> (means, scales), evaluated in batches of `batch`
    net = torch.nn.Sequential(torch.nn.Conv2d(8, 32, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(32, 64, 3, padding=1))
    z = torch.randn(4, 8, 24, 24)
    y = torch.randn(4, 32, 24, 24) * 6
    with torch.no_grad():
        params = torch.cat([net(z[i:i + batch]) for i in range(0, 4, batch)])
    means, scales = params[:, :32], torch.nn.functional.softplus(params[:, 32:]) * 5
    gc = GaussianConditional()
    if role == "encode":
        streams = [gc.compress(y[i:i + 1], scales[i:i + 1], means[i:i + 1]).hex() for i in range(4)]
        print(json.dumps({"streams": streams, "indexes": gc.build_indexes(scales).flatten().tolist()}))
    else:
        streams = [bytes.fromhex(s) for s in json.loads(sys.stdin.read())["streams"]]
        y_hat = torch.cat([gc.decompress(s, scales[i:i + 1], means[i:i + 1]) for i, s in enumerate(streams)])
        again = [gc.compress(y[i:i + 1], scales[i:i + 1], means[i:i + 1]).hex() for i in range(4)]
        symbols = torch.round(y - torch.round(means * 64) / 64)
        print(json.dumps({"equal": bool(torch.equal(y_hat - torch.round(means * 64) / 64, symbols)),
                          "streams": again, "indexes": gc.build_indexes(scales).flatten().tolist()}))
""")


def test_cross_thread_and_batch_determinism(tmp_path):
    """Encode with 1 thread and batch 4; decode with 2 threads and batch 1: same symbols/bytes."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = lambda args, stdin=None: subprocess.run(  # noqa: E731
        [sys.executable, "-c", _DETERMINISM, *args], env=env, input=stdin, capture_output=True,
        text=True, timeout=300, cwd=tmp_path)
    enc = run(["encode", "1", "4"])
    assert enc.returncode == 0, enc.stderr[-2000:]
    dec = run(["decode", "2", "1"], stdin=enc.stdout)
    assert dec.returncode == 0, dec.stderr[-2000:]
    a, b = json.loads(enc.stdout), json.loads(dec.stdout)
    assert b["equal"]
    assert a["indexes"] == b["indexes"]
    assert a["streams"] == b["streams"]
