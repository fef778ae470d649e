"""The four architectures on small channel counts: training outputs, real coding, rates."""

from __future__ import annotations

import pytest
import torch

from codeclab.entropy.quantization import from_symbols, to_symbols
from codeclab.io import read_image
from codeclab.learned.models.checkerboard import CheckerboardContext, anchor_mask, gather_taps, tap_index
from codeclab.learned.registry import build_model, model_names
from codeclab.train.losses import bits_per_pixel

NAMES = ("factorized", "hyperprior", "mean-scale", "checkerboard")


def tiny(name: str, seed: int = 0):
    """A small model whose latents, like a trained one's, span several quantization steps
    (a freshly initialised analysis gives |y| < 1: every symbol would be 0)."""
    torch.manual_seed(seed)
    model = build_model(name, N=8, M=12).eval()
    with torch.no_grad():
        model.g_a[-1].weight.mul_(30.0)
    model.update()
    return model


@pytest.fixture(scope="module")
def picture(samples_dir):
    """A 128 x 192 crop of a shipped sample, in [0, 1]."""
    return read_image(samples_dir / "kodim23_crop256.png")[None, :, :128, :192].float() / 255.0


def test_all_architectures_are_registered():
    assert set(NAMES) <= set(model_names())
    assert all(build_model(name, N=8, M=12).variable_rate for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_training_forward_and_gradients(name, picture):
    model = tiny(name).train()
    x = picture.repeat(2, 1, 1, 1)
    out = model(x, lmbda=torch.tensor([0.002, 0.1]))
    assert out["x_hat"].shape == x.shape
    assert set(out["likelihoods"]) == ({"y"} if name == "factorized" else {"y", "z"})
    for p in out["likelihoods"].values():
        assert ((p > 0) & (p <= 1)).all()
    loss = bits_per_pixel(out["likelihoods"], 128 * 192).sum() + out["x_hat"].square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_likelihoods_stay_float32_under_autocast(name, picture):
    model = tiny(name).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(picture, lmbda=torch.tensor([0.01]))
    assert all(p.dtype == torch.float32 for p in out["likelihoods"].values())


@pytest.mark.parametrize("name", NAMES)
def test_a_larger_lambda_spends_more_bits(name, picture):
    model = tiny(name)
    with torch.no_grad():
        bpp = [float(bits_per_pixel(model(picture, lmbda=lam)["likelihoods"], 128 * 192)[0])
               for lam in (0.0018, 0.013, 0.18)]
    assert bpp[0] < bpp[1] < bpp[2]


@pytest.mark.parametrize("name", NAMES)
def test_real_rate_is_the_estimated_rate(name, picture):
    """The coder spends what the likelihoods promise, within the streams' few bytes of overhead
    and the 1/64 mean grid of the integer path."""
    model = tiny(name)
    lmbda = torch.tensor([0.05])
    with torch.no_grad():
        estimate = float(bits_per_pixel(model(picture, lmbda)["likelihoods"], 1)[0]) / 8
    encoded = model.compress(picture, lmbda)
    real = sum(len(s) for s in encoded["strings"])
    assert abs(real - estimate) < 0.03 * estimate + 16 * len(encoded["strings"])


@pytest.mark.parametrize("name", ["factorized", "hyperprior"])
def test_decoding_is_the_quantized_forward_pass(name, picture):
    """Without means the decoder's latent is round(y) (around the medians): the eval forward."""
    model = tiny(name)
    lmbda = torch.tensor([0.02])
    encoded = model.compress(picture, lmbda)
    decoded = model.decompress(encoded["strings"], encoded["shape"], lmbda)["x_hat"]
    with torch.no_grad():
        expected = model(picture, lmbda)["x_hat"].clamp(0, 1)
    assert torch.allclose(decoded, expected, atol=1e-5)


def test_mean_scale_decodes_the_integer_means(picture):
    model = tiny("mean-scale")
    lmbda = torch.tensor([0.02])
    encoded = model.compress(picture, lmbda)
    decoded = model.decompress(encoded["strings"], encoded["shape"], lmbda)["x_hat"]
    with torch.no_grad():
        y = model.analyze(picture, lmbda)
        z = model.h_a(y)
        z_hat = model.entropy_bottleneck.decompress(model.entropy_bottleneck.compress(z), z.shape)
        _, means = model.gaussian_parameters(z_hat)
        expected = model.reconstruct(from_symbols(to_symbols(y, means), means), lmbda)["x_hat"]
    assert torch.equal(decoded, expected)


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_decodes_like_its_pictures(name, picture):
    model = tiny(name)
    x = torch.cat([picture, picture.flip(-1)])
    lmbda = torch.tensor([0.01])
    both = model.compress(x, lmbda)
    together = model.decompress(both["strings"], both["shape"], lmbda)["x_hat"]
    for i in range(2):
        one = model.compress(x[i:i + 1], lmbda)
        assert torch.equal(together[i:i + 1], model.decompress(one["strings"], one["shape"], lmbda)["x_hat"])


def test_pictures_must_be_padded():
    with pytest.raises(ValueError, match="multiples of 64"):
        tiny("hyperprior").compress(torch.rand(1, 3, 64, 100), 0.01)


def test_checkerboard_context_sees_only_anchors():
    torch.manual_seed(4)
    context = CheckerboardContext(3, 4)
    anchors = anchor_mask(6, 7)
    x = torch.randn(1, 3, 6, 7)
    y = torch.where(anchors, x, torch.randn(1, 3, 6, 7))  # other values at the non-anchors
    with torch.no_grad():
        a, b = context(x), context(y)
    assert torch.equal(a[..., ~anchors], b[..., ~anchors])


def test_gathered_taps_are_the_masked_convolution():
    torch.manual_seed(5)
    context = CheckerboardContext(3, 4)
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    context = context.double()
    others = (~anchor_mask(6, 7).flatten()).nonzero().squeeze(1)
    taps = gather_taps(x, tap_index(6, 7, others))  # (2, 3 * 12, n, 1)
    gathered = torch.nn.functional.conv2d(taps, context.tap_weights(), context.bias)[..., 0]
    with torch.no_grad():
        full = context(x).flatten(2)[:, :, others]
    assert torch.allclose(gathered, full, atol=1e-12)
