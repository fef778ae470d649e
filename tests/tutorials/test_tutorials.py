"""The learning path runs: every chapter, in both languages, executes headless on CPU in time.

Each chapter is built from its source with the solution cells kept (so the answer checks
run on the reference answers) and executed by nbclient in a fresh IPython kernel, in an
empty temporary folder, like a reader who has only the installed package. A chapter must
finish without an error within :data:`CHAPTER_SECONDS`; the conftest adds the times up
against the budget of the whole path. (``test_build.py`` checks the notebooks themselves.)

numba compiles the classic codec's kernels once per checkout (minutes, cached on disk);
the chapters are timed after :func:`compiled_kernels` has paid that once.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tutorials" / "build.py"
SHARED_DATA = Path(os.environ.get("CODECLAB_SHARED_DATA", REPO.parent / "shared" / "data"))

#: Wall time allowed to one chapter in one language, kernel start included.
CHAPTER_SECONDS = 90.0

nbclient = pytest.importorskip("nbclient", reason="the tutorials need the test extra (nbclient, ipykernel)")
pytest.importorskip("jupytext", reason="the tutorials need the test extra (jupytext)")
pytest.importorskip("ipykernel", reason="the tutorials need the test extra (ipykernel)")


def load_build():
    """tutorials/build.py as a module (the tutorials are not a package)."""
    spec = importlib.util.spec_from_file_location("tutorials_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()
CHAPTERS = [source.stem for source in build.chapter_sources()]


@pytest.fixture(scope="session")
def compiled_kernels():
    """Compile (or load from numba's cache) the kernels the chapters use, outside their timing:
    the classic codec, the binary arithmetic coder and residual coding, the ANS grouping."""
    import numpy as np
    import torch

    from codeclab import api
    from codeclab.classic import decode_residuals, encode_residuals
    from codeclab.entropy import contexts_at, decode_symbols, encode_symbols, ideal_adaptive_bits, parametric_tables
    from codeclab.entropy.bin_coder import encode_bin_stream

    picture = torch.zeros(3, 64, 64, dtype=torch.uint8)
    picture[:, 16:48, 16:48] = 200
    api.decode(api.encode_image(picture, "classic", 32).data)

    bins = np.array([0, 1, 1, 0], dtype=np.int32)
    ids = np.zeros(bins.size, dtype=np.int64)
    encode_bin_stream(contexts_at(0.5, count=1), ids, bins, np.empty(32, dtype=np.uint8))
    ideal_adaptive_bits(contexts_at(0.5, count=1), ids, bins)
    blocks = np.zeros((1, 8, 8), dtype=np.int32)
    blocks[0, 0, 0] = 3
    decode_residuals(encode_residuals(blocks), 1, 8)
    tables, indexes = parametric_tables("gaussian"), np.zeros(4, dtype=np.int64)
    decode_symbols(encode_symbols(bins, indexes, tables), indexes, tables)


@pytest.mark.parametrize("lang", build.LANGUAGES)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs(chapter, lang, compiled_kernels, tmp_path, monkeypatch, record_property):
    notebook = build.build_notebook(build.SOURCES / f"{chapter}.py", lang, solutions=True)
    # The kernel inherits this environment: inline figures, one intra-op thread (the suite runs
    # two workers on two cores; oversubscribed OpenMP threads spin-wait, which made a small
    # training loop 100x slower on a loaded machine), and the big data sets where they exist.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("CODECLAB_SHARED_DATA", str(SHARED_DATA))
    client = nbclient.NotebookClient(notebook, timeout=CHAPTER_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    record_property("tutorial_seconds", seconds)
    assert seconds <= CHAPTER_SECONDS, f"{chapter} ({lang}) took {seconds:.0f} s, over {CHAPTER_SECONDS:.0f} s"
    # A reader's checkout stays clean: whatever a chapter writes lies under output/ (git ignores it).
    stray = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
             if p.is_file() and p.relative_to(tmp_path).parts[0] != "output"]
    assert not stray, f"{chapter} ({lang}) wrote {stray} outside output/"
