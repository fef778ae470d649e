"""Integer programs: exact integer arithmetic, close to the float model, same bits everywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from codeclab.entropy.conditional import quantize_means
from codeclab.entropy.tables import ScaleGrid
from codeclab.learned import integer
from codeclab.learned.layers import Deconv


def exact_conv(a: np.ndarray, w: np.ndarray, padding: int) -> np.ndarray:
    """Reference: the convolution in Python integers (object arrays), no floating point."""
    a = np.pad(a.astype(object), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c_in, h, width = a.shape
    c_out, _, k, _ = w.shape
    out = np.zeros((n, c_out, h - k + 1, width - k + 1), dtype=object)
    for i in range(k):
        for j in range(k):
            patch = a[:, :, i:i + out.shape[2], j:j + out.shape[3]]
            out += np.einsum("ncij,oc->noij", patch, w[:, :, i, j].astype(object))
    return out


def test_a_layer_is_exact_integer_arithmetic_with_round_to_nearest():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, 3, padding=1)
    layer = integer.integer_conv(conv.weight, conv.bias, padding=1)
    a = torch.randint(-(2 ** 24) + 1, 2 ** 24, (2, 6, 4, 5)).double()  # the full activation range
    out = integer.apply_conv(layer, a.clone())
    acc = exact_conv(a.long().numpy(), layer.weight.long().numpy(), 1)
    acc += layer.bias.long().numpy().astype(object)[None, :, None, None]  # B + 2^(f-1)
    shift = (-torch.log2(layer.inverse_scale)).long().numpy()
    expected = np.empty_like(acc)
    for c in range(5):
        expected[:, c] = acc[:, c] // (1 << int(shift[c]))  # floor division in Python integers
    expected = np.clip(expected, -(2 ** 24 - 1), 2 ** 24 - 1).astype(np.float64)
    assert np.array_equal(out.numpy(), expected)


def test_weights_respect_the_exactness_bound():
    conv = nn.Conv2d(288, 384, 3, padding=1)
    layer = integer.integer_conv(conv.weight * 1000, conv.bias, padding=1)  # large weights too
    terms = 288 * 9
    assert layer.weight.abs().max() < 2 ** integer.weight_bits(terms)
    assert terms * 2 ** integer.weight_bits(terms) * 2 ** integer.ACT_BITS <= 2 ** integer.SUM_BITS
    assert integer.SUM_BITS + 1 < 53  # sums and biases together stay exact in float64
    assert (layer.weight == torch.round(layer.weight)).all() and (layer.bias == torch.round(layer.bias)).all()


def test_programs_follow_the_float_model():
    torch.manual_seed(2)
    model = nn.Sequential(Deconv(8, 12), nn.ReLU(), Deconv(12, 10), nn.LeakyReLU(2 ** -4),
                          nn.Conv2d(10, 6, 3, padding=1))
    z = torch.round(torch.randn(2, 8, 3, 4) * 4)  # quantized hyper-latents: exact in fixed point
    with torch.no_grad():
        reference = model(z)
    out = integer.from_fixed(integer.run(integer.integerize(model), integer.to_fixed(z)))
    assert out.shape == reference.shape
    assert (out - reference).abs().max() < 2e-3


def test_results_do_not_depend_on_batch_or_threads():
    torch.manual_seed(3)
    model = nn.Sequential(Deconv(16, 16), nn.LeakyReLU(2 ** -4), nn.Conv2d(16, 32, 3, padding=1))
    program = integer.integerize(model)
    z = integer.to_fixed(torch.round(torch.randn(3, 16, 6, 5) * 8) + 0.25)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = [integer.run(program, z[i:i + 1]) for i in range(3)]
        torch.set_num_threads(2)
        together = integer.run(program, z)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(alone[i], together[i:i + 1]) for i in range(3))


def test_only_same_size_square_convolutions():
    with pytest.raises(ValueError, match="'same'"):
        integer.integer_conv(torch.zeros(2, 2, 3, 3), None, padding=0)


def test_leaky_relu_is_an_arithmetic_shift():
    step = integer.integerize(nn.LeakyReLU(2 ** -4))[0]
    a = torch.tensor([-33.0, -16.0, -1.0, 0.0, 5.0])
    assert integer.apply_activation(step, a.clone()).tolist() == [-3.0, -1.0, -1.0, 0.0, 5.0]  # floor(a / 16)
    with pytest.raises(ValueError, match="power of two"):
        integer.integerize(nn.LeakyReLU(0.01))
    with pytest.raises(TypeError, match="no integer form"):
        integer.integerize(nn.Sequential(nn.Tanh()))


def test_scale_indexes_pick_the_nearest_grid_scale():
    grid = ScaleGrid()
    k = torch.arange(grid.k_min, grid.k_max + 1, dtype=torch.float64)
    offsets = torch.tensor([-0.4, 0.0, 0.3])  # within half a step of each grid point
    log2_scales = (k[:, None] + offsets[None, :]) / grid.steps_per_octave
    indexes = integer.scale_indexes(integer.to_fixed(log2_scales), grid)
    assert torch.equal(indexes, (k - grid.k_min).long()[:, None].expand(-1, 3))
    # and they agree with the grid's own float32 index of 2^L
    assert torch.equal(indexes, grid.index(torch.exp2(log2_scales).float()).long())
    extremes = integer.scale_indexes(integer.to_fixed(torch.tensor([-40.0, 40.0])), grid)
    assert extremes.tolist() == [0, grid.size - 1]


def test_quantized_means_are_on_the_sixty_fourth_grid():
    mu = torch.tensor([0.0, 0.3, -0.3, 1 / 128 + 1e-3, 7.126, -100.01])
    out = integer.quantized_means(integer.to_fixed(mu))
    assert torch.allclose(out, quantize_means(mu))
    assert torch.equal(quantize_means(out), out)  # already on the grid: entropy models keep it
    assert all(math.isclose(v * 64, round(v * 64)) for v in out.tolist())
