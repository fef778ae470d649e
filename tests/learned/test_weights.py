"""Weights files: safetensors round trips that code identically, half-size storage, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from codeclab.errors import InputError, UnsupportedError
from codeclab.learned.registry import build_model
from codeclab.learned.weights import load_pretrained, save_pretrained, weights_fingerprint, weights_path

CARD = {"model": "mean-scale", "model_args": {"N": 8, "M": 12, "lambdas": [0.001, 0.01, 0.1]}}


def small_model(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model("mean-scale", **CARD["model_args"])
    with torch.no_grad():
        model.g_a[-1].weight.mul_(30.0)
    return model


def test_saved_weights_rebuild_the_model_and_its_bitstreams(tmp_path):
    model = small_model()
    path, card = save_pretrained(model, tmp_path / "nested" / "ms", {**CARD, "steps": 0})
    assert path.name == "ms.safetensors" and json.loads(card.read_text())["steps"] == 0
    loaded = load_pretrained(path)
    assert not loaded.training and loaded.lambdas == (0.001, 0.01, 0.1)
    assert weights_fingerprint(loaded) == weights_fingerprint(model)
    x, lmbda = torch.rand(1, 3, 64, 128), torch.tensor([0.02])
    a, b = model.compress(x, lmbda), loaded.compress(x, lmbda)
    assert a["strings"] == b["strings"]
    assert torch.equal(loaded.decompress(a["strings"], a["shape"], lmbda)["x_hat"],
                       model.decompress(a["strings"], a["shape"], lmbda)["x_hat"])


def test_the_file_is_safetensors_not_a_pickle(tmp_path):
    path, _ = save_pretrained(small_model(), tmp_path / "m", CARD)
    raw = path.read_bytes()
    header_length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_length])
    assert header["__metadata__"]["codeclab.model"] == "mean-scale"
    assert b"\x80\x04" not in raw[:2]  # no pickle protocol marker at the start


def test_half_precision_storage_halves_the_file_and_keeps_the_tables(tmp_path):
    full, _ = save_pretrained(small_model(), tmp_path / "full", CARD)
    half, _ = save_pretrained(small_model(), tmp_path / "half", CARD, dtype=torch.float16)
    parameter_bytes = sum(p.numel() * 4 for p in small_model().parameters())
    assert full.stat().st_size - half.stat().st_size == pytest.approx(parameter_bytes / 2, rel=0.01)
    a, b = load_pretrained(full), load_pretrained(half)
    assert torch.equal(a.entropy_bottleneck.cdf_freqs, b.entropy_bottleneck.cdf_freqs)
    assert b.g_a[0].weight.dtype == torch.float32
    assert torch.allclose(a.g_a[0].weight, b.g_a[0].weight, rtol=1e-3, atol=1e-6)


def test_missing_unreadable_and_mismatched_files(tmp_path):
    with pytest.raises(UnsupportedError, match="no trained weights"):
        load_pretrained("no-such-model")
    assert weights_path("hyperprior").name == "hyperprior.safetensors"
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(InputError, match="cannot read weights"):
        load_pretrained(junk)
    other_size = {"model": "mean-scale", "model_args": {"N": 8, "M": 16}}  # the file holds M = 12 tensors
    wrong, _ = save_pretrained(small_model(), tmp_path / "wrong", other_size)
    with pytest.raises(InputError, match="do not fit"):
        load_pretrained(wrong)
    with pytest.raises(ValueError, match="name the model"):
        save_pretrained(small_model(), tmp_path / "x", {})
