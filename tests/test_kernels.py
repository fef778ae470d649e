"""codeclab.kernels: one compiled version per plain argument types, and the first-use notice."""

from __future__ import annotations

import io

import numba
import pytest
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


_LINKED = '''
import numpy as np
from codeclab.kernels import kernel

@kernel
def leaf(a, k):
    s = 0
    for v in a:
        s += v * k
    return s

@kernel
def middle(a):
    return leaf(a, 3) - 1

@kernel
def first(a):
    return middle(a) + 1

@kernel
def second(a):
    return 2 * middle(a)
'''


@pytest.mark.skipif(not kernels.LINK_ONLY_KERNELS, reason="this numba lacks the internals of link-only kernels; "
                    "kernels compile numba's default way")
def test_link_only_kernels_load_from_the_cache_into_new_callers(tmp_path):
    """A kernel's own version is cached as LLVM IR to link, not machine code: a later
    process compiling a *new* caller loads it from the cache (no compilation of it) and the
    caller computes right; the first process's entry point runs from its cache."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "linked_kernels.py").write_text(_LINKED)
    probe = """
import json, sys
import numpy as np
from numba.core import event
compiled = []
class Count(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev): compiled.append(ev.data["dispatcher"].py_func.__name__)
event.register("numba:compile", Count())
import linked_kernels as m
a = np.arange(5, dtype=np.int64)
value = int(getattr(m, sys.argv[1])(a))
kinds = sorted({type(c.library).__name__ for k in (m.leaf, m.middle) for c in k.overloads.values()})
print(json.dumps({"value": value, "compiled": compiled, "kinds": kinds}))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}

    def run(entry):
        out = subprocess.run([sys.executable, "-c", probe, entry], env=env, capture_output=True, text=True,
                             check=True, cwd=tmp_path)
        return json.loads(out.stdout.strip().splitlines()[-1])

    one = run("first")
    assert one["value"] == 30 and {"leaf", "middle", "first"} <= set(one["compiled"])
    assert one["kinds"] == ["_LinkOnlyLibrary"]  # no machine code of their own
    two = run("second")  # middle and leaf come from the cache, linked into the new caller
    assert two["value"] == 58
    assert "leaf" not in two["compiled"] and "middle" not in two["compiled"]
    assert two["kinds"] == ["_LinkOnlyLibrary"]
    again = run("first")
    assert again["value"] == 30 and again["compiled"] == []
