"""codeclab.kernels: one compiled version per plain argument types, and the first-use notice."""

from __future__ import annotations

import io

import numba
from numba.core import event

from codeclab import kernels
from codeclab.kernels import announce_compilation, kernel


def test_constants_from_another_kernel_share_one_compiled_version():
    @kernel(cache=False)
    def scale(x, shift):
        return x << shift

    @kernel(cache=False)
    def caller(x):
        return scale(x, 3) + scale(x, 4) + scale(x, 5)

    assert caller(1) == 8 + 16 + 32
    assert len(scale.signatures) == 1  # (int64, int64), not one per literal 3, 4, 5

    @numba.njit(cache=False)
    def plain_scale(x, shift):
        return x << shift

    @numba.njit(cache=False)
    def plain_caller(x):
        return plain_scale(x, 3) + plain_scale(x, 4)

    plain_caller(1)
    assert len(plain_scale.signatures) == 2  # what kernel() avoids: numba's literal versions


def test_the_first_compilation_is_announced_once(monkeypatch):
    monkeypatch.setattr(kernels, "_announcing", False)  # as in a fresh process
    stream = io.StringIO()
    listener = announce_compilation(stream)

    @kernel(cache=False)
    def fresh(x):
        return x + 1

    try:
        fresh(1)
        fresh(1.5)
    finally:
        event.unregister("numba:compile", listener)
    assert stream.getvalue().count("compiling CodecLab kernels for this machine, first use only") == 1


def test_a_closed_stream_never_breaks_a_compilation(monkeypatch):
    monkeypatch.setattr(kernels, "_announcing", False)
    stream = io.StringIO()
    listener = announce_compilation(stream)
    stream.close()  # e.g. a test's captured stderr, gone when a later test compiles

    @kernel(cache=False)
    def later(x):
        return x * 2

    try:
        assert later(21) == 42
    finally:
        event.unregister("numba:compile", listener)


def test_warmup_runs_a_job_in_a_worker_and_refuses_unknown_ones():
    import pytest

    from codeclab.errors import InputError
    from codeclab.warmup import warm_up

    [(name, seconds, compiled)] = warm_up(["entropy"], jobs=1, progress=False)
    assert name == "entropy" and seconds > 0 and compiled >= 0
    with pytest.raises(InputError, match="unknown warm-up job"):
        warm_up(["everything"], progress=False)


def test_the_cache_follows_every_kernel_module_not_just_the_callers_own_file(tmp_path):
    """numba checks only a function's own file; the cache folder is keyed on all kernel
    modules, so editing a callee in another file can never load stale machine code."""
    import os

    import numba

    from codeclab import kernels

    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("@kernel\ndef f(x):\n    return x + 1\n")
    (package / "sub" / "b.py").write_text("@kernel\ndef g(x):\n    return x\n")
    (package / "plain.py").write_text("def h():\n    return 1\n")
    first = kernels.kernel_sources_digest(package)
    (package / "plain.py").write_text("def h():\n    return 2\n")
    assert kernels.kernel_sources_digest(package) == first  # no kernel there
    (package / "sub" / "b.py").write_text("@kernel\ndef g(x):\n    return -x\n")
    assert kernels.kernel_sources_digest(package) != first
    if not os.environ.get("NUMBA_CACHE_DIR"):
        assert numba.config.CACHE_DIR.endswith(kernels.kernel_sources_digest())
