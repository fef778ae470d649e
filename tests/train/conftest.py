"""Fixtures of the training tests: the tiny models registered, and the command line that trains them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codeclab.learned.registry import load_model_module

TINY_MODEL_FILE = Path(__file__).with_name("tiny_model.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_models():
    """The module of the tiny test codecs, imported (so ``test-tiny*`` are registered)."""
    return load_model_module(str(TINY_MODEL_FILE))


@pytest.fixture(scope="session")
def train_args(samples_dir: Path):
    """``train_args(out, *extra)``: the options training ``test-tiny`` on the shipped samples."""
    def build(out: Path, *extra: str) -> list[str]:
        return ["--import", str(TINY_MODEL_FILE), "--model", "test-tiny", "--data", str(samples_dir),
                "--out", str(out), "--crop", "32", "--batch-size", "4", "--lr", "3e-3", "--lambda", "0.01",
                "--seed", "7", "--no-progress", *extra]
    return build


@pytest.fixture(scope="session")
def subprocess_env() -> dict[str, str]:
    """One intra-op thread per process (deterministic, and polite on a shared machine)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(autouse=True)
def one_thread():
    """The tiny models gain nothing from more threads, and lose much when cores are shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
