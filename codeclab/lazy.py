"""Re-exports that load on first use (PEP 562), so importing a package costs nothing until a
name is used.

A package's ``__init__`` maps each name it offers to the module that defines it::

    __getattr__, __dir__ = lazy_exports(__name__, {"read_image": ".image", "Video": ".video"})

``from codeclab.io import read_image`` then imports ``codeclab.io.image`` only, and
``import codeclab.io`` imports nothing heavy: the command line lists codecs and reads
containers without loading torch or compiling kernels.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` re-exporting ``name -> relative module``."""

    def __getattr__(name: str) -> object:
        if name in exports:
            return getattr(importlib.import_module(exports[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
