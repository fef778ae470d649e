"""The banded synthesis: the layer-by-layer result, and the same bits for any thread count."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from codeclab.learned import banded
from codeclab.learned.layers import GDN, Deconv
from codeclab.learned.models.base import synthesis_transform


def test_bands_compute_the_synthesis_transform():
    torch.manual_seed(0)
    g_s = synthesis_transform(16, 24).eval()
    y = torch.randn(2, 24, 9, 37) * 3  # several bands, a short last band, two pictures
    with torch.no_grad():
        reference = g_s(y)
    out = banded.synthesize(g_s, y)
    assert out.shape == (2, 3, 144, 592)
    assert torch.allclose(out, reference, atol=1e-5)


def test_a_picture_decodes_the_same_alone_or_in_a_batch():
    torch.manual_seed(1)
    g_s = synthesis_transform(16, 24).eval()
    y = torch.randn(3, 24, 20, 6)
    together = banded.synthesize(g_s, y)
    assert all(torch.equal(together[i:i + 1], banded.synthesize(g_s, y[i:i + 1])) for i in range(3))


def test_only_deconv_and_igdn_are_banded():
    with pytest.raises(TypeError, match="Deconv"):
        banded.upsampling_steps(nn.Sequential(nn.Conv2d(3, 3, 3)))
    with pytest.raises(TypeError, match="IGDN"):
        banded.upsampling_steps(nn.Sequential(Deconv(3, 3), GDN(3)))


def test_the_thread_count_is_restored():
    before = torch.get_num_threads()
    banded.synthesize(synthesis_transform(4, 6).eval(), torch.randn(1, 6, 2, 2))
    assert torch.get_num_threads() == before


def test_same_bits_for_1_2_3_and_4_threads(tmp_path):
    """Shapes where oneDNN's own multi-threaded convolutions differ by thread count (8 x 12
    latents with 2 threads, measured) must not differ here."""
    script = textwrap.dedent("""
        import sys, torch
        from codeclab.learned import banded
        from codeclab.learned.models.base import synthesis_transform
        torch.set_num_threads(int(sys.argv[1]))
        torch.manual_seed(0)
        g_s = synthesis_transform(128, 192).eval()
        out = [banded.synthesize(g_s, torch.randn(1, 192, h, w) * 4) for h, w in [(8, 12), (17, 5), (32, 48)]]
        torch.save(out, sys.argv[2])
    """)
    results = []
    for threads in (1, 2, 3, 4):
        path = tmp_path / f"threads_{threads}.pt"
        subprocess.run([sys.executable, "-c", script, str(threads), str(path)], check=True)
        results.append(torch.load(path, weights_only=True))
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other, strict=True))
