"""The integer program is exact: it equals an independent int64 convolution, whatever the
thread count, band split or float type it runs in, and a float path would not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.hybrid.nnlf.integer import (ACT_MAX, EXACT_BITS, INT8_RESIDUAL_MAX, WEIGHT_MAX, IntegerLayer,
                                          Program, activation_frac, check_bound, chroma_input, integer_layer,
                                          is_int8, layer_bound, luma_input, macs_per_luma_sample,
                                          quantize_layer, round_half_up, run_banded, run_layers,
                                          weight_exponent)
from codeclab.hybrid.nnlf.runtime import filter_planes, residuals
from codeclab.hybrid.nnlf.training.network import integer_program

from .conftest import as_batch, random_network


def reference_conv(a: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3x3 'same' convolution with zero padding in int64, written out independently of torch."""
    channels, height, width = a.shape
    padded = np.zeros((channels, height + 2, width + 2), dtype=np.int64)
    padded[:, 1:-1, 1:-1] = a
    out = np.zeros((weight.shape[0], height, width), dtype=np.int64) + bias.astype(np.int64)[:, None, None]
    for dy in range(3):
        for dx in range(3):
            window = padded[:, dy:dy + height, dx:dx + width]
            out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx].astype(np.int64), window)
    return out


def reference_branch(layers, a: np.ndarray) -> np.ndarray:
    """One branch of :mod:`codeclab.hybrid.nnlf.integer` restated in int64 NumPy (arithmetic shifts)."""
    for layer in layers:
        a = reference_conv(a, layer.weight.numpy(), layer.bias.numpy()) >> layer.shift.numpy()[:, None, None]
        if layer.ceiling is not None:
            a = np.clip(a, 0 if layer.hidden else -layer.ceiling - 1, layer.ceiling)
    return a


def reference_filter(program, planes, qp: int) -> tuple[np.ndarray, ...]:
    """The whole program in int64 NumPy: luma on its 2x2 phases at half resolution (5-channel
    first layer) or at full resolution (2 channels), chroma at half (after the luma phases when
    its first layer takes 7 channels)."""
    y, cb, cr = (p.astype(np.int64) for p in planes)
    qp_plane = lambda plane: np.full((1, *plane.shape), 4 * (qp - 32), dtype=np.int64)
    phases = [(dy, dx) for dy in (0, 1) for dx in (0, 1)]
    luma_phases = np.stack([y[dy::2, dx::2] for dy, dx in phases])
    if program.luma[0].weight.shape[1] == 5:
        r_phases = reference_branch(program.luma, np.concatenate([luma_phases - 128, qp_plane(cb)]))
        r_y = np.zeros((1, *y.shape), dtype=np.int64)
        for (dy, dx), r in zip(phases, r_phases):
            r_y[0, dy::2, dx::2] = r
    else:
        r_y = reference_branch(program.luma, np.concatenate([y[None] - 128, qp_plane(y)]))
    guide = list(luma_phases) if program.chroma[0].weight.shape[1] == 7 else []
    r_c = reference_branch(program.chroma, np.concatenate([np.stack(guide + [cb, cr]) - 128, qp_plane(cb)]))
    to_samples = lambda r: (r + 2) >> 2  # quarter samples -> samples, round half up (unit scale)
    return tuple(np.clip(p + to_samples(r), 0, 255) for p, r in ((y, r_y[0]), (cb, r_c[0]), (cr, r_c[1])))


def test_program_equals_an_independent_int64_reference(program, coded_crop):
    _, recon, qp = coded_crop
    expected = reference_filter(program, recon, qp)
    got = filter_planes(program, *recon, qp)
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    assert any(not np.array_equal(g, r) for g, r in zip(got, recon))  # it does filter


def test_luma_guided_chroma_program_equals_the_reference_and_the_network(guided_network, coded_crop):
    """The guided chroma branch (7 inputs) is recognised from its weights and runs exactly."""
    _, recon, qp = coded_crop
    program = integer_program(guided_network)
    assert program.chroma_guided and not integer_program(random_network(coded_crop)).chroma_guided
    got = filter_planes(program, *recon, qp)
    assert all(np.array_equal(g, e) for g, e in zip(got, reference_filter(program, recon, qp)))
    with torch.no_grad():
        _, out_c = guided_network(*as_batch(recon, qp))
    assert np.array_equal((out_c * 256 + 128).round().to(torch.int32).numpy()[0, 0], got[1])


@pytest.mark.parametrize("luma_half_res", [True, False])
def test_either_luma_resolution_is_recognised_and_runs_exactly(coded_crop, luma_half_res):
    """The luma branch on the 2x2 phases (5 inputs, 4 outputs) and at full resolution (2, 1):
    the program tells them apart by their first layer and matches the reference and the
    quantisation-aware network sample for sample."""
    _, recon, qp = coded_crop
    network = random_network(coded_crop, luma_half_res=luma_half_res)
    program = integer_program(network)
    assert program.luma_half_res == luma_half_res
    got = filter_planes(program, *recon, qp)
    assert all(np.array_equal(g, e) for g, e in zip(got, reference_filter(program, recon, qp)))
    with torch.no_grad():
        out_y, _ = network(*as_batch(recon, qp))
    assert np.array_equal((out_y * 256 + 128).round().to(torch.int32).numpy()[0, 0], got[0])
    assert not np.array_equal(got[0], recon[0])


def test_quantisation_aware_forward_equals_the_program(network, program, coded_crop):
    """Training sees exactly the integers the decoder computes (same roundings, same clips)."""
    _, recon, qp = coded_crop
    with torch.no_grad():
        out_y, out_c = network(*as_batch(recon, qp))
    as_samples = lambda t: (t * 256 + 128).round().to(torch.int32).numpy()
    got = filter_planes(program, *recon, qp)
    assert np.array_equal(as_samples(out_y)[0, 0], got[0])
    assert np.array_equal(as_samples(out_c)[0, 0], got[1]) and np.array_equal(as_samples(out_c)[0, 1], got[2])


def test_the_8_bit_form_equals_the_reference_and_its_quantisation_aware_network(int8_network, coded_crop):
    """int8: per-channel shifts, |W| <= 127, activations clipped to 0..255 and the residual to
    -128..127 quarter samples -- the same integers in the program, the int64 reference and
    the network that trains it."""
    _, recon, qp = coded_crop
    program = integer_program(int8_network)
    for layers in program.branches().values():
        assert is_int8(layers)
        assert any(layer.uniform_shift is None for layer in layers)  # the channels do use their own grids
    got = filter_planes(program, *recon, qp)
    assert all(np.array_equal(g, e) for g, e in zip(got, reference_filter(program, recon, qp)))
    with torch.no_grad():
        out_y, out_c = int8_network(*as_batch(recon, qp))
    as_samples = lambda t: (t * 256 + 128).round().to(torch.int32).numpy()
    assert np.array_equal(as_samples(out_y)[0, 0], got[0])
    assert np.array_equal(as_samples(out_c)[0, 0], got[1]) and np.array_equal(as_samples(out_c)[0, 1], got[2])
    assert any(not np.array_equal(g, r) for g, r in zip(got, recon))


def test_the_8_bit_residual_clip_is_part_of_the_program(int8_network, coded_crop):
    """A last layer that asks for more than 32 samples of correction gets exactly -128..127
    quarter samples, in the program and in the reference."""
    _, recon, qp = coded_crop
    program = integer_program(int8_network)
    last = program.luma[-1]
    loud = IntegerLayer(last.weight, last.bias, (last.shift - 4).clamp(min=1), False, last.ceiling)
    program = Program(program.luma[:-1] + (loud,), program.chroma)
    residual = residuals(program, *recon, qp, chroma=False)[0]
    assert residual.max() == INT8_RESIDUAL_MAX or residual.min() == -INT8_RESIDUAL_MAX - 1
    got = filter_planes(program, *recon, qp)
    assert np.array_equal(got[0], reference_filter(program, recon, qp)[0])


def test_the_same_integers_for_1_and_2_threads_and_any_band_split(program, coded_crop):
    _, recon, qp = coded_crop
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = filter_planes(program, *recon, qp)
        torch.set_num_threads(2)
        two = filter_planes(program, *recon, qp)
    finally:
        torch.set_num_threads(threads)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    y, c = (t * 256 for t in as_batch(recon, qp)[:2])
    luma_a = luma_input(y, 4.0 * (qp - 32), program.luma_half_res)
    chroma_a = chroma_input(y, c, 4.0 * (qp - 32), program.chroma_guided)
    for layers, a in ((program.luma, luma_a), (program.chroma, chroma_a)):
        whole = run_layers(layers, a)
        assert torch.equal(run_banded(layers, a, band_rows=24), whole)
        assert torch.equal(run_layers(layers, a.to(torch.float64)), whole.to(torch.float64))


def test_a_float_path_would_be_caught(network, program, coded_crop):
    """The float network (no quantisation) and a float16 run of the very same integers both
    differ from the reference: the equality test above would notice either creeping in."""
    _, recon, qp = coded_crop
    expected = reference_filter(program, recon, qp)
    network.qat = False
    try:
        with torch.no_grad():
            out_y, _ = network(*as_batch(recon, qp))
    finally:
        network.qat = True
    float_y = (out_y[0, 0] * 256 + 128).round().clamp(0, 255).to(torch.int32).numpy()
    assert not np.array_equal(float_y, expected[0])

    a = luma_input(as_batch(recon, qp)[0] * 256, 4.0 * (qp - 32), program.luma_half_res)
    half = run_layers(program.luma, a.to(torch.bfloat16)).to(torch.float32)
    assert not torch.equal(half, run_layers(program.luma, a))


def test_the_bound_is_what_makes_float32_exact():
    """A layer past 2^24 loses integers in float32 (the bound is necessary) and is refused."""
    generator = torch.Generator().manual_seed(1)
    weight = torch.randint(1024, 2048, (4, 8, 3, 3), generator=generator).to(torch.int16)
    bias = torch.zeros(4, dtype=torch.int32)
    layer = IntegerLayer(weight, bias, shift=1, hidden=True)
    assert layer_bound(weight, bias, ACT_MAX) >= 2 ** EXACT_BITS
    with pytest.raises(ValueError, match="not provably exact"):
        check_bound((layer, layer))
    a = torch.randint(ACT_MAX // 2, ACT_MAX + 1, (1, 8, 16, 16), generator=generator).to(torch.float32)
    exact = reference_conv(a[0].to(torch.int64).numpy(), weight.numpy(), bias.numpy())
    in_float32 = torch.nn.functional.conv2d(a, weight.to(torch.float32), padding=1)[0].to(torch.int64).numpy()
    assert not np.array_equal(in_float32, exact)


def test_weight_exponent_is_the_largest_that_keeps_the_layer_exact():
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(32, 32, 3, 3, generator=generator) * 0.05
    bias = torch.randn(32, generator=generator) * 0.01
    f = weight_exponent(weight, bias, 9, 9, ACT_MAX)
    layer = integer_layer(weight, bias, 9, 9, ACT_MAX, hidden=True)
    assert (layer.shift == f).all() and layer_bound(layer.weight, layer.bias, ACT_MAX) < 2 ** EXACT_BITS
    finer_w, finer_b = quantize_layer(weight, bias, f + 1, 9)
    shift = f + 1  # = (f + 1) + 9 - 9
    assert finer_w.abs().max() > WEIGHT_MAX or \
        layer_bound(finer_w, finer_b + 2.0 ** (shift - 1), ACT_MAX) >= 2 ** EXACT_BITS


def test_rounding_and_calibration_rules():
    assert round_half_up(torch.tensor([-1.5, -0.5, 0.5, 1.5, 2.49])).tolist() == [-1.0, 0.0, 1.0, 2.0, 2.0]
    assert activation_frac(1.0) == 9 and activation_frac(1023 / 512) == 9 and activation_frac(2.1) == 8
    assert activation_frac(0.0) == 16


def test_cost_of_the_default_network():
    from codeclab.hybrid.nnlf.training.network import LoopFilterNet, integer_program

    model = LoopFilterNet()
    model.luma.act_frac.fill_(12)
    model.chroma.act_frac.fill_(12)
    program = integer_program(model)
    luma, chroma = 9 * (5 * 32 + 2 * 32 * 32 + 32 * 4), 9 * (7 * 32 + 2 * 32 * 32 + 32 * 2)
    assert program.luma_half_res and program.chroma_guided  # both branches run once per 2x2 luma block
    assert macs_per_luma_sample(program) == (luma + chroma) / 4 < 50_000  # tens of kMAC per sample
    assert sum(p.numel() for p in model.parameters()) < 60_000  # tens of thousands of parameters
