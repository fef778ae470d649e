"""Fitting the overfitted codec's prior networks, loading them, and the encoder starting from them."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from codeclab.cli import main as cli_main
from codeclab.learned.overfit import encoder as E
from codeclab.learned.overfit.architecture import Architecture
from codeclab.learned.overfit.codec import quality_lambda
from codeclab.learned.overfit.effort import Effort
from codeclab.learned.overfit.prior import PRIOR_PATH, load_prior
from codeclab.train.overfit_prior import fit, mosaic


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, samples_dir):
    folder = tmp_path_factory.mktemp("pictures")
    for path in samples_dir.glob("*.png"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, pictures):
    """A real, tiny fit: two qualities, 2x2 mosaics of 32-px crops, 3 steps after the warm-up."""
    out = tmp_path_factory.mktemp("prior")
    path = fit([str(pictures)], [2.0, 8.0], out, iterations=3, seed=0, command="test", note=lambda m: None,
               tiles=2, crop=32)
    return out, path


def test_mosaic_tiles_crops_of_the_pictures(pictures):
    m = mosaic(sorted(pictures.glob("*.png")), torch.Generator().manual_seed(1), tiles=3, crop=16)
    assert m.shape == (3, 48, 48) and m.dtype == torch.uint8
    assert m.float().std() > 1  # picture content, not a constant


def test_fit_writes_every_quality_and_the_merged_prior(fitted):
    out, path = fitted
    assert path == out / PRIOR_PATH.name and path.is_file()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["qualities"] == [2.0, 8.0] and card["steps"] == 3 and card["command"] == "test"
    assert card["lambdas"] == [quality_lambda(2.0), quality_lambda(8.0)]
    arch = Architecture()
    low, high = load_prior(quality_lambda(2.5), arch, path), load_prior(quality_lambda(7.0), arch, path)
    assert set(low) == set(arch.parameter_shapes())
    assert all(tuple(low[k].shape) == s for k, s in arch.parameter_shapes().items())
    assert any(not torch.equal(low[k], high[k]) for k in low)  # nearest lambda: two different sets


def test_fit_resumes_from_the_qualities_already_written(fitted, pictures):
    out, path = fitted
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("prior_q*.safetensors")}
    fit([str(pictures)], [2.0, 8.0], out, iterations=3, seed=0, note=lambda m: None, tiles=2, crop=32)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("prior_q*.safetensors")} == before


def test_a_prior_of_another_architecture_is_not_used(fitted):
    _, path = fitted
    assert load_prior(0.01, Architecture(levels=5), path) is None
    assert load_prior(0.01, Architecture(), path.parent / "missing.safetensors") is None


def test_the_encoder_starts_from_the_prior(fitted, samples_dir, monkeypatch):
    from codeclab.io import read_image

    _, path = fitted
    prior = load_prior(quality_lambda(2.0), Architecture(), path)
    monkeypatch.setattr(E, "load_prior", lambda lmbda, arch: load_prior(lmbda, arch, path))
    target = read_image(samples_dir / "kodim23_crop256.png")[:, :32, :32].float() / 255
    one_step = Effort("one", iterations=1, starts=1, warmup=0)
    state = E.optimise(target, quality_lambda(2.0), one_step)
    # one Adam step moves a network value by at most about the learning rate
    assert max((state.nets[k] - prior[k]).abs().max().item() for k in prior) <= 1.5 * one_step.learning_rate
    random = E.optimise(target, quality_lambda(2.0), one_step, use_prior=False)
    assert max((random.nets[k] - prior[k]).abs().max().item() for k in prior) > 10 * one_step.learning_rate


def test_cli_fit_prior_rejects_bad_arguments(tmp_path, pictures, capsys):
    assert cli_main(["fit-prior", "--data", str(pictures), "--out", str(tmp_path / "p"), "--qualities", "2,x"]) == 2
    assert "--qualities" in capsys.readouterr().err
    assert cli_main(["fit-prior", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "p")]) == 2
    assert "does not exist" in capsys.readouterr().err


class _Steps:
    """Counts the optimisation steps (the progress bar's interface)."""

    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k

    def set_postfix(self, **_):
        pass


def test_the_prior_keeps_the_step_budget(fitted, samples_dir, monkeypatch):
    """With a prior the random starts' warm-up steps go to the main run: same encode time."""
    from codeclab.io import read_image

    _, path = fitted
    target = read_image(samples_dir / "kodim23_crop256.png")[:, :16, :16].float() / 255
    effort = Effort("x", iterations=4, starts=3, warmup=2)
    steps = {}
    for use_prior in (True, False):
        monkeypatch.setattr(E, "load_prior", lambda lmbda, arch: load_prior(lmbda, arch, path) if use_prior else None)
        counter = _Steps()
        E.optimise(target, quality_lambda(4.0), effort, progress=counter)
        steps[use_prior] = counter.n
    assert steps[True] == steps[False] == effort.total_iterations == 10
