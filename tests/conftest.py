"""Shared fixtures: the samples the package ships, and the big data sets when present.

The big sets live in ``../shared/data`` next to the repository (CI and developers have it;
a user's fresh clone does not). Tests that need them skip with the reason spelt out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "codeclab" / "data" / "samples"
SHARED_DATA = Path(os.environ.get("CODECLAB_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config):
    """One intra-op thread per test process when xdist runs several (``make test`` runs two
    on two cores): two workers with two OpenMP threads each spin-wait on each other, which
    made an overfitted-codec test 4x to 100x slower. Tests about thread counts set their own."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and int(workers) > 1:
        import torch

        torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Put back the thread count a test changed (one worker runs many tests in turn)."""
    if "torch" not in sys.modules:
        yield
        return
    import torch

    threads = torch.get_num_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The sample pictures shipped inside the package (always present)."""
    return SAMPLES


@pytest.fixture(scope="session")
def sample_image_path() -> Path:
    return SAMPLES / "kodim23_crop256.png"


@pytest.fixture(scope="session")
def sample_y4m_path() -> Path:
    return SAMPLES / "carphone_qcif_10f.y4m"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (Kodak, train photos, video), or skip when this clone lacks it."""
    if not (SHARED_DATA / "kodak").is_dir():
        pytest.skip(f"needs the shared data sets at {SHARED_DATA} (not part of a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def kodak_dir(shared_data: Path) -> Path:
    return shared_data / "kodak"
