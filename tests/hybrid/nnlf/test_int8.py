"""The 8-bit fast path computes the program's integers: the same as the float path and the int64
reference, on any thread count, and it steps aside wherever it could not promise that."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.hybrid.nnlf import int8
from codeclab.hybrid.nnlf.integer import INT8_ACT_MAX, INT8_WEIGHT_MAX, IntegerLayer, Program, is_int8
from codeclab.hybrid.nnlf.runtime import residuals
from codeclab.hybrid.nnlf.training.network import integer_program

from .test_integer import reference_filter


@pytest.fixture(scope="module")
def int8_program(int8_network) -> Program:
    return integer_program(int8_network)


def require_fast_path(program: Program) -> None:
    if not all(int8.fast_path_ready(layers, torch.device("cpu")) for layers in program.branches().values()):
        pytest.skip(f"no exact uint8 x int8 convolution here (engine {int8.engine()}): the float path runs instead")


def test_fast_path_equals_the_float_path_and_the_reference(int8_program, coded_crop, monkeypatch):
    _, recon, qp = coded_crop
    require_fast_path(int8_program)
    fast = residuals(int8_program, *recon, qp)
    monkeypatch.setenv("CODECLAB_INT8", "0")
    assert not int8.fast_path_ready(int8_program.luma, torch.device("cpu"))
    slow = residuals(int8_program, *recon, qp)
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow))
    to_samples = lambda plane, r: np.clip(plane + ((r + 2) >> 2), 0, 255)  # unit scale
    expected = reference_filter(int8_program, recon, qp)
    assert all(np.array_equal(to_samples(p, r), e) for p, r, e in zip(recon, fast, expected))


def test_fast_path_gives_the_same_integers_on_1_and_2_threads(int8_program, coded_crop):
    _, recon, qp = coded_crop
    require_fast_path(int8_program)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = residuals(int8_program, *recon, qp)
        torch.set_num_threads(2)
        two = residuals(int8_program, *recon, qp)
    finally:
        torch.set_num_threads(threads)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def saturating_pairs(layer: IntegerLayer, u: np.ndarray, zero_point: int, hidden: bool) -> np.ndarray:
    """An AVX2-style kernel: u8 x s8 products added in pairs with int16 saturation, then int32."""
    h, w, c_in = u.shape
    padded = np.zeros((h + 2, w + 2, c_in), dtype=np.int64)
    padded[1:-1, 1:-1] = u.astype(np.int64) - zero_point  # zero padding of the real input
    raw = padded + zero_point
    raw[[0, -1], :] = zero_point
    raw[:, [0, -1]] = zero_point
    columns = np.stack([raw[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=2)  # h, w, 9, C
    columns = columns.reshape(h, w, -1)
    weight = layer.weight.numpy().astype(np.int64).transpose(0, 2, 3, 1).reshape(layer.weight.shape[0], -1)
    products = columns[:, :, None, :] * weight[None, None]  # h, w, C_out, K
    if products.shape[-1] % 2:
        products = np.concatenate([products, np.zeros_like(products[..., :1])], axis=-1)
    pairs = np.clip(products[..., 0::2] + products[..., 1::2], -2 ** 15, 2 ** 15 - 1)
    acc = pairs.sum(-1) - zero_point * weight.sum(1) + layer.bias.numpy()
    out = np.floor(acc / 2.0 ** layer.shift.numpy())
    low, high = layer.clip_range()
    return np.clip(out, low, high)


def test_the_probe_rejects_a_kernel_that_saturates_pair_sums(monkeypatch):
    """The load-time probe is what keeps an older x86 kernel (int16 pair sums) off the fast path:
    against an emulation of such a kernel it says no, against an exact one yes."""
    exact = lambda module, u, zero_point, hidden: int8.exact_reference(module.layer, u, zero_point)
    saturating = lambda module, u, zero_point, hidden: saturating_pairs(module.layer, u, zero_point, hidden)
    monkeypatch.setattr(int8, "quantized_conv", lambda layer: type("Probe", (), {"layer": layer})())
    monkeypatch.setattr(int8, "engine", lambda: "x86")
    probe = int8.kernel_is_exact.__wrapped__
    for c_in, c_out, hidden, signed in [(7, 8, True, True), (8, 8, True, False), (8, 2, False, False)]:
        monkeypatch.setattr(int8, "run_quantized", exact)
        assert probe(c_in, c_out, hidden, signed)
        monkeypatch.setattr(int8, "run_quantized", saturating)
        assert not probe(c_in, c_out, hidden, signed)


def test_a_layer_past_the_fast_bound_takes_the_float_path(int8_program, coded_crop):
    """|acc + B| >= 2^22 would let float32 drop the quarter that turns ties upwards: such a
    branch is still in the 8-bit form but runs on the float path, with the same result as the
    reference."""
    _, recon, qp = coded_crop
    first = int8_program.luma[0]
    big = IntegerLayer(first.weight, first.bias + 2 ** 22, first.shift, True, INT8_ACT_MAX)
    program = Program((big,) + int8_program.luma[1:], int8_program.chroma)
    assert is_int8(program.luma) and int(big.weight.abs().max()) <= INT8_WEIGHT_MAX
    assert not int8.fast_path_fits(program.luma)
    got = residuals(program, *recon, qp, chroma=False)[0]
    expected = reference_filter(program, recon, qp)[0]
    assert np.array_equal(np.clip(recon[0] + ((got + 2) >> 2), 0, 255), expected)
