"""The model registry: learned models built by name.

A model module registers a *builder*, a function of keyword arguments returning an
``nn.Module`` (torchvision's model builders are the pattern)::

    @register_model("hyperprior")
    def hyperprior(N: int = 128, M: int = 192) -> nn.Module:
        return ScaleHyperprior(N, M)

    model = build_model("hyperprior", N=64)

The training loop and the command line know models only through :func:`build_model`, so a
user's own model trains with ``codeclab train --import my_models.py --model my-net`` once
its file calls :func:`register_model` (``--import`` is :func:`load_model_module`). The
modules listed in :data:`BUILTIN_MODULES` are imported on first use, so that the package's
own models are always registered.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from torch import nn

from codeclab.errors import InputError

Builder = Callable[..., nn.Module]

#: Modules whose import registers the package's own models (each model file adds itself).
BUILTIN_MODULES: list[str] = ["codeclab.learned.models", "codeclab.hybrid.network", "codeclab.hybrid.intra"]

_BUILDERS: dict[str, Builder] = {}
_loaded = False


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def _qualified_name(builder: Builder) -> str:
    return f"{builder.__module__}.{builder.__qualname__}"


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder(**kwargs) -> nn.Module`` available as ``name``.

    Registering the same function twice is harmless (a module imported twice); two
    different builders under one name are a programming error (``ValueError``).
    """
    if not name or name != name.strip():
        raise ValueError(f"model name must be a non-empty word, got {name!r}")

    def decorate(builder: Builder) -> Builder:
        known = _BUILDERS.get(name)
        if known is not None and _qualified_name(known) != _qualified_name(builder):
            raise ValueError(f"model name {name!r} registered twice "
                             f"({_qualified_name(known)} and {_qualified_name(builder)})")
        _BUILDERS[name] = builder
        return builder

    return decorate


def model_names() -> list[str]:
    """Names of all registered models, sorted."""
    _load_builtins()
    return sorted(_BUILDERS)


def build_model(name: str, **kwargs) -> nn.Module:
    """A fresh model ``name`` built with ``kwargs``; unknown names or arguments -> ``InputError``."""
    _load_builtins()
    if name not in _BUILDERS:
        known = ", ".join(sorted(_BUILDERS)) or "none registered"
        raise InputError(f"unknown model {name!r}; known: {known}")
    builder = _BUILDERS[name]
    try:
        inspect.signature(builder).bind(**kwargs)
    except TypeError as exc:
        raise InputError(f"model {name!r}: bad arguments {sorted(kwargs)}: {exc}") from None
    model = builder(**kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(f"builder of model {name!r} returned {type(model).__name__}, not an nn.Module")
    return model


def load_model_module(spec: str) -> ModuleType:
    """Import a user's module that registers models: a module name (``my_pkg.models``) or a
    ``.py`` file path. Importing the same file again returns the module already loaded."""
    if not spec.endswith(".py"):
        try:
            return importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            raise InputError(f"cannot import model module {spec!r}: {exc}") from None
    path = Path(spec).resolve()
    if not path.is_file():
        raise InputError(f"model file {spec} does not exist")
    # A stable, unique module name per file, so a second import finds the first.
    name = f"codeclab_user_models_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
