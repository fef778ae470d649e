"""The model registry: learned models built by name.

A model module registers a *builder*, a function of keyword arguments returning an
``nn.Module`` (torchvision's model builders are the pattern)::

    @register_model("hyperprior")
    def hyperprior(N: int = 128, M: int = 192) -> nn.Module:
        return ScaleHyperprior(N, M)

    model = build_model("hyperprior", N=64)

The training loop and the command line know models only through :func:`build_model`, so a
user's own model trains with ``codeclab train --import my_models.py --model my-net`` once
its file calls :func:`register_model` (``--import`` is :func:`load_model_module`). Built-in
models, and those of installed plug-ins, are declared as the entry points ``codeclab.models``
and imported on first use (:class:`codeclab.registry.Registry`).
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
from codeclab.registry import Registry

Builder = Callable[..., nn.Module]

#: Every model builder by name.
MODELS: Registry[Builder] = Registry("codeclab.models", "model")


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder(**kwargs) -> nn.Module`` available as ``name``.

    Registering the same function twice is harmless (a module imported twice); two
    different builders under one name are a programming error (``ValueError``).
    """

    def decorate(builder: Builder) -> Builder:
        return MODELS.add(name, builder)

    return decorate


def model_names() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(MODELS.names())


def build_model(name: str, **kwargs) -> nn.Module:
    """A fresh model ``name`` built with ``kwargs``; unknown names or arguments -> ``InputError``."""
    builder = MODELS.get(name)
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
