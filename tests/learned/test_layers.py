"""Layers: polyphase transposed convolutions, the channels-last pixel shuffle, GDN."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from codeclab.learned.layers import GDN, PEDESTAL, Deconv, nonnegative, nonnegative_init, pixel_shuffle


@pytest.mark.parametrize("kernel,stride", [(5, 2), (3, 2), (3, 1), (5, 1), (7, 3)])
def test_deconv_is_the_transposed_convolution(kernel, stride):
    torch.manual_seed(kernel * 10 + stride)
    layer = Deconv(5, 3, kernel, stride).double()
    x = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    reference = F.conv_transpose2d(x, layer.weight, layer.bias, stride, kernel // 2, stride - 1)
    out = layer(x)
    assert out.shape == (2, 3, 6 * stride, 7 * stride)
    assert torch.allclose(out, reference, atol=1e-12)


def test_phase_kernels_hold_exactly_the_taps():
    torch.manual_seed(6)
    layer = Deconv(3, 2).double()
    phases, reach = layer.phases()
    assert reach == 1
    assert [tuple(k.shape[-2:]) for *_, k in phases] == [(3, 3), (3, 2), (2, 3), (2, 2)]
    assert sum(k[0, 0].numel() for *_, k in phases) == 25
    x = torch.randn(1, 3, 5, 6, dtype=torch.float64)
    padded = F.pad(x, (reach,) * 4)
    out = torch.empty(1, 2, 10, 12, dtype=torch.float64)
    for r, q, a0, b0, kernel in phases:
        kh, kw = kernel.shape[-2:]
        out[:, :, r::2, q::2] = F.conv2d(padded[:, :, a0:a0 + 5 + kh - 1, b0:b0 + 6 + kw - 1], kernel, layer.bias)
    assert torch.allclose(out, F.conv_transpose2d(x, layer.weight, layer.bias, 2, 2, 1), atol=1e-12)


def test_deconv_refuses_even_kernels():
    with pytest.raises(ValueError, match="odd kernel"):
        Deconv(2, 2, 4, 2)


def test_deconv_gradients_match_the_transposed_convolution():
    torch.manual_seed(0)
    layer = Deconv(4, 3)
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    layer(x).square().sum().backward()
    grad_w, grad_x = layer.weight.grad.clone(), x.grad.clone()
    layer.weight.grad = None
    x.grad = None
    F.conv_transpose2d(x, layer.weight, layer.bias, 2, 2, 1).square().sum().backward()
    assert torch.allclose(grad_w, layer.weight.grad, atol=1e-4)
    assert torch.allclose(grad_x, x.grad, atol=1e-4)


def test_deconv_polyphase_cache_follows_the_weights():
    layer = Deconv(2, 2, 3, 2).eval()
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        before = layer(x)
        layer.weight.mul_(2.0)  # an in-place update bumps the version: the cache must notice
        after = layer(x)
    assert torch.allclose(after - layer.bias.view(1, -1, 1, 1), 2 * (before - layer.bias.view(1, -1, 1, 1)), atol=1e-5)


def test_pixel_shuffle_is_torchs_on_phase_major_channels():
    x = torch.randn(2, 9 * 3, 4, 5)  # channel (r s + q) C + c
    channel_major = x.reshape(2, 9, 3, 4, 5).transpose(1, 2).reshape(2, 27, 4, 5)  # c s^2 + r s + q
    out = pixel_shuffle(x, 3)
    assert torch.equal(out, F.pixel_shuffle(channel_major, 3))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_gdn_formula_and_inverse():
    torch.manual_seed(1)
    gdn, igdn = GDN(4), GDN(4, inverse=True)
    with torch.no_grad():
        for layer in (gdn, igdn):
            layer.gamma.copy_(nonnegative_init(torch.rand(4, 4) * 0.2))
            layer.beta.copy_(nonnegative_init(torch.rand(4) + 0.5))
    x = torch.randn(2, 4, 3, 3)
    beta, gamma = nonnegative(gdn.beta, 1e-6), nonnegative(gdn.gamma)
    norm = torch.sqrt(beta.view(1, -1, 1, 1) + torch.einsum("ij,njhw->nihw", gamma, x * x))
    assert torch.allclose(gdn(x), x / norm, atol=1e-6)
    beta, gamma = nonnegative(igdn.beta, 1e-6), nonnegative(igdn.gamma)
    norm = torch.sqrt(beta.view(1, -1, 1, 1) + torch.einsum("ij,njhw->nihw", gamma, x * x))
    assert torch.allclose(igdn(x), x * norm, atol=1e-6)
    with torch.no_grad():  # without autograd the product is formed in place: the very same bits
        in_place = igdn(x)
    assert torch.equal(igdn(x).detach(), in_place)


def test_reparametrisation_keeps_parameters_non_negative_and_learning():
    raw = torch.tensor([-1.0, 0.0, 1e-9, 0.5], requires_grad=True)
    value = nonnegative(raw, minimum=1e-6)
    assert (value >= 1e-6 - 1e-12).all()
    assert torch.allclose(nonnegative(nonnegative_init(torch.tensor([0.3, 2.0]))), torch.tensor([0.3, 2.0]))
    value.sum().backward()
    assert (raw.grad != 0).all()  # the bound passes gradients through
    assert PEDESTAL == 2.0 ** -36
