"""How CodecLab compiles its numba kernels: one decorator, chosen for first-use time.

Every compiled function of the package is declared with :func:`kernel` instead of
``numba.njit``::

    @kernel                       # = njit(cache=True), one machine-code version per argument types
    def bin_cost(contexts, ctx_id, bin_value): ...

    @kernel(inline="always")      # options pass through to numba

Why not plain ``njit``: numba compiles a function the first time it is called with new
argument *types*, and a constant argument has its own type, ``Literal[int](5)``. A call
``whole_option(S, cfg, x, y, 5, ...)`` from the 32x32 search and ``whole_option(..., 4, ...)``
from the 16x16 search then compile the whole subtree below ``whole_option`` twice, and
callers of callers multiply it (the first classic video encode compiled hundreds of
versions). :func:`kernel` types every argument of a call between kernels by its
plain type (``int64``), so each kernel is compiled once per real type combination.

Two more choices, both process-wide numba settings that CodecLab sets only where the user
did not:

* ``NUMBA_OPT=1`` instead of 3. numba optimises each function's module *with every callee
  linked in* again when it finalises it, so deep call trees (the encoder's CTU search)
  pay LLVM's -O3 pipeline many times; -O1 cuts the first-use time of the classic codec
  without slowing its encoding (``benchmarks/kernels_compile.py --peer-opt 3`` measures both).
* ``cache=True`` always: compiled code is kept and loaded on the next run, so the cost is
  paid once per machine and checkout. ``codeclab warmup`` pays it up front, on every core.
* One cache per version of the kernel sources (:func:`kernel_sources_digest`), in
  ``codeclab/__pycache__/numba/DIGEST`` (or the user's cache folder when the package is
  read-only). numba checks only the file of each function: a kernel whose callee in
  *another* file changed would load its old machine code, callee included, and an edited
  encoder could silently run stale code. Any edit of any kernel module starts a new cache;
  the old ones are removed. ``NUMBA_CACHE_DIR``, when set, is used as it is.

And each kernel's own version is kept as LLVM IR only (:class:`_LinkOnlyLibrary`): numba
would optimise and generate machine code for every function *with its whole call tree
linked in*, so the leaves of a tree ``d`` calls deep were compiled ``d`` times. Only the
entry points that Python calls (the twins below) are optimised and compiled, once, with
their tree. This cut LLVM's share of the first classic image encode about fourfold, with
identical machine behaviour and streams (``benchmarks/kernels_compile.py`` measures it).

A kernel called from Python is unaffected by the typing rule: numba already compiles for
the plain types of the values it is given.

Finally, kernels are compiled **without the glue for being called from Python**. numba
gives every compiled function a CPython wrapper (unboxing each argument from a Python
object) and a C-ABI wrapper, even when only other kernels ever call it. The classic encoder
passes its whole state, nested tuples of some sixty arrays, to almost every kernel, so
those wrappers were a large share of all the machine code generated at first use. Here the
version that kernels call has neither; a call from Python goes to a twin compiled with the
wrappers on first such call (:class:`Kernel`), cached under its own name. Only the handful of
kernels that Python calls (the CTU loops, deblocking, the test suite's probes) get one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import types as pytypes
from pathlib import Path

import inspect

import llvmlite.binding as ll
import numba
from numba.core import types
from numba.core.caching import CompileResultCacheImpl, FunctionCache
from numba.core.codegen import JITCodeLibrary
from numba.core.compiler import CompileResult, Compiler
from numba.core.compiler_lock import require_global_compiler_lock
from numba.core.registry import CPUDispatcher

_njit = numba.njit

if "NUMBA_OPT" not in os.environ:
    # Read when numba's code generator starts, at the first compilation or cache load.
    numba.config.OPT = numba.core.config._OptLevel(1)

PACKAGE_DIR = Path(__file__).resolve().parent


def kernel_sources_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-1 (12 hex digits) of every module of the package that defines kernels: what the
    compiled code depends on, across files."""
    digest = hashlib.sha1()
    sources = []
    for folder, subfolders, files in os.walk(package_dir):
        subfolders[:] = [d for d in subfolders if d != "__pycache__" and not d.startswith(".")]
        sources += [Path(folder, name) for name in files if name.endswith(".py")]
    for path in sorted(sources):
        text = path.read_bytes()
        if b"@kernel" in text:
            digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + text)
    return digest.hexdigest()[:12]


def _cache_root() -> Path:
    if os.access(PACKAGE_DIR, os.W_OK):
        return PACKAGE_DIR / "__pycache__" / "numba"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codeclab" / "numba"


def use_cache_of_these_sources() -> Path | None:
    """Point numba's cache at the folder of the current kernel sources, removing the folders
    of older versions; nothing when ``NUMBA_CACHE_DIR`` is set (the caller chose)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    root = _cache_root()
    target = root / kernel_sources_digest()
    numba.config.CACHE_DIR = str(target)
    if root.is_dir():
        for old in root.iterdir():
            if old != target and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)  # another process may be removing it too
    return target


use_cache_of_these_sources()


def plain_type(numba_type):
    """The type a kernel is compiled for when another kernel passes a value of ``numba_type``:
    without its literal value (``Literal[int](5)`` -> ``int64``), and a signed integer
    scalar widened to ``int64`` (a mode read from an ``int32`` map and the same mode computed
    in ``int64`` share one version; numba computes in ``int64`` either way)."""
    plain = types.unliteral(numba_type)
    if isinstance(plain, types.Integer) and plain.signed and plain.bitwidth < 64:
        return types.int64
    return plain


def _compile_for_plain_types(dispatcher):
    """Make calls from other kernels resolve ``dispatcher`` with :func:`plain_type` argument
    types. With ``NUMBA_DISABLE_JIT=1`` numba returns the Python function: nothing to do."""
    if not hasattr(dispatcher, "get_call_template"):
        return dispatcher
    resolve = dispatcher.get_call_template

    def get_call_template(args, kws):
        return resolve(tuple(plain_type(a) for a in args), {k: plain_type(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


# -- machine code only where Python calls in ---------------------------------------------------

LINK_ONLY = "codeclab-link-only"  # the cache kind of a :class:`_LinkOnlyLibrary`


class _NoEngineCodegen:
    """numba's code generator, except that it sets no environment pointer: a link-only
    library put nothing in the execution engine, so there is no pointer to set."""

    def __init__(self, codegen):
        self._codegen = codegen

    def set_env(self, env_name, env):
        pass

    def __getattr__(self, name):
        return getattr(self._codegen, name)


class _LinkOnlyLibrary(JITCodeLibrary):
    """The code of a kernel that only other kernels call: LLVM IR to link into callers, never
    optimised as a module of its own nor turned into machine code.

    numba finalises every function it compiles: it links the IR of all its callees into
    the function's module, runs LLVM's module optimisation over the whole of it and
    generates machine code for it. In a call tree ``d`` levels deep, the code at the bottom
    is optimised and compiled ``d`` times; on the classic encoder's intra search that was
    half of all first-use time. A kernel's own version is never run (Python calls its
    twin, :class:`Kernel`), so here finalising only links the callees in; the twin, the
    one entry point, optimises and compiles the tree once. The cache keeps the linked IR.
    """

    def finalize(self):
        require_global_compiler_lock()
        self._raise_if_finalized()
        seen = set()
        for library in self._linking_libraries:
            if library not in seen:
                seen.add(library)
                self._reload_init.update(library._reload_init)
                self._final_module.link_in(library._get_module_for_linking(), preserve=True)
        self._finalize_dynamic_globals()
        self._finalized = True

    def get_pointer_to_function(self, name):
        self._ensure_finalized()
        return 0

    @property
    def codegen(self):
        return _NoEngineCodegen(self._codegen)

    def serialize_using_object_code(self):
        self._ensure_finalized()
        return (self.name, LINK_ONLY, self._final_module.as_bitcode())

    @classmethod
    def _unserialize(cls, codegen, state):
        name, kind, bitcode = state
        library = cls(codegen, name)
        library._final_module = ll.parse_bitcode(bitcode)
        library._finalize_dynamic_globals()
        library._finalized = True
        return library


class _KernelCompiler(Compiler):
    """numba's nopython pipeline, writing into a :class:`_LinkOnlyLibrary`."""

    def compile_extra(self, func):
        if self.state.library is None:
            self.state.library = _LinkOnlyLibrary(self.state.targetctx.codegen(), func.__qualname__)
            self.state.library.enable_object_caching()
        return super().compile_extra(func)


class _KernelCacheImpl(CompileResultCacheImpl):
    """Rebuilds cached kernels whose library is link-only (:meth:`CompileResult._rebuild`
    with that library; any other entry as numba does)."""

    def rebuild(self, target_context, payload):
        libdata, fndesc, env, signature, objectmode, lifted, typeann, reload_init, referenced_envs = payload
        if libdata[1] != LINK_ONLY:
            return super().rebuild(target_context, payload)
        for fn in reload_init or ():
            fn()
        library = _LinkOnlyLibrary._unserialize(target_context.codegen(), libdata)
        return CompileResult(target_context=target_context, typing_context=target_context.typing_context,
                             library=library, environment=env,
                             entry_point=target_context.get_executable(library, fndesc, env), fndesc=fndesc,
                             type_annotation=typeann, signature=signature, objectmode=objectmode,
                             lifted=lifted, typing_error=None, call_helper=None, metadata=None,
                             reload_init=reload_init, referenced_envs=referenced_envs)


class _KernelCache(FunctionCache):
    _impl_class = _KernelCacheImpl


def _link_only_supported() -> bool:
    """Whether this numba has the internals the link-only libraries build on (written
    against numba 0.68); where it does not, kernels compile the way numba does by default."""
    try:
        rebuild = list(inspect.signature(CompileResult._rebuild).parameters)
    except (AttributeError, TypeError, ValueError):
        return False
    return (rebuild == ["target_context", "libdata", "fndesc", "env", "signature", "objectmode", "lifted",
                        "typeann", "reload_init", "referenced_envs"]
            and all(hasattr(JITCodeLibrary, name) for name in (
                "_get_module_for_linking", "_finalize_dynamic_globals", "_ensure_finalized", "_raise_if_finalized")))


LINK_ONLY_KERNELS = _link_only_supported()


class Kernel(CPUDispatcher):
    """A numba dispatcher whose machine code has no wrappers for Python callers.

    Other kernels call it directly. Called from Python, it hands the call to a twin
    dispatcher of the same function compiled with numba's usual wrappers, made on the
    first such call. The twin is a copy of the function named ``<name>__from_python`` so
    that numba's cache, which does not tell compile options apart, keeps it in files of
    its own.
    """

    def __call__(self, *args, **kwargs):
        twin = self.__dict__.get("_python_twin")
        if twin is None:
            f = self.py_func
            copy = pytypes.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
            copy.__qualname__, copy.__module__ = f.__qualname__ + "__from_python", f.__module__
            copy.__kwdefaults__, copy.__doc__ = f.__kwdefaults__, f.__doc__
            twin = self._python_twin = _compile_for_plain_types(_njit(**self._kernel_options)(copy))
        return twin(*args, **kwargs)

    def enable_caching(self):
        self._cache = _KernelCache(self.py_func) if LINK_ONLY_KERNELS else FunctionCache(self.py_func)


def kernel(function=None, /, **options):
    """``numba.njit(cache=True, **options)`` compiled once per plain argument types, without
    Python wrappers (module docstring).

    Use as ``@kernel`` or ``@kernel(inline="always")``.
    """
    options.setdefault("cache", True)

    def decorate(f):
        if numba.config.DISABLE_JIT:
            return f
        cache = options.get("cache")
        targetoptions = {k: v for k, v in options.items() if k != "cache"}
        pipeline = _KernelCompiler if LINK_ONLY_KERNELS else Compiler
        dispatcher = Kernel(py_func=f, locals={}, pipeline_class=pipeline, targetoptions={
            "nopython": True, "no_cpython_wrapper": True, "no_cfunc_wrapper": True, **targetoptions})
        if cache:
            dispatcher.enable_caching()
        dispatcher._kernel_options = options
        return _compile_for_plain_types(dispatcher)

    return decorate if function is None else decorate(function)


_announcing = False


def announce_compilation(stream=None):
    """Say so, once, when this process starts compiling kernels (a cache miss), and count
    them on a terminal: a first run that compiles must not look like a hang. Writes to
    ``stream``, or to whatever ``sys.stderr`` is at that moment; a notice that cannot be
    written is dropped (it must never break a compilation). Returns the numba event listener
    (None when this process announces already)."""
    import sys

    from numba.core import event

    global _announcing
    if _announcing:
        return None
    _announcing = True
    state = {"bar": None, "said": False}

    class Announce(event.Listener):
        def on_start(self, ev):
            if state["said"]:
                return
            state["said"] = True
            out = stream or sys.stderr
            try:
                print("codeclab: compiling CodecLab kernels for this machine, first use only "
                      "(under a minute per codec on 2 cores; 'codeclab warmup' compiles them all at once)",
                      file=out, flush=True)
                if getattr(out, "isatty", lambda: False)():
                    from tqdm import tqdm

                    state["bar"] = tqdm(desc="kernels compiled", unit=" kernel", file=out, leave=False)
            except (OSError, ValueError):
                pass

        def on_end(self, ev):
            try:
                if state["bar"] is not None:
                    state["bar"].update()
            except (OSError, ValueError):
                state["bar"] = None

    listener = Announce()
    event.register("numba:compile", listener)
    return listener
