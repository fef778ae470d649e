"""One registry for everything CodecLab finds by name: codecs, models and picture tools.

A plug-in declares the modules that register its parts as package entry points, the way
pytest finds its plug-ins, and CodecLab's own codecs are declared the same way in its
``pyproject.toml``::

    [project.entry-points."codeclab.codecs"]
    my-codec = "my_package.codec"        # importing it calls CODECS.add(...)

A lookup imports the modules of the group on first use -- only the entry named like the
item when there is one, else all of them -- so ``import codeclab`` stays light, decoding
loads only what it decodes with, and the core names no codec, model or tool module::

    CODECS.add("jpeg", JpegCodec, id=0x0101)     # where the codec is defined
    CODECS.get("jpeg")                           # anywhere: loads the group, then looks up
    CODECS.by_id(0x0101)                         # a decoder reading the container's id

Lookups of unknown names raise :class:`~codeclab.errors.InputError` listing the known
ones; an unknown id raises :class:`~codeclab.errors.BitstreamError` (it came from a file).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Generic, TypeVar

from codeclab.errors import BitstreamError, InputError

T = TypeVar("T")


def entry_point_modules(group: str) -> list[str]:
    """The modules declared under ``group`` by every installed distribution."""
    return [entry.value for entry in metadata.entry_points(group=group)]


class Registry(Generic[T]):
    """Named (and optionally numbered) items of one kind, loaded from entry points on first use."""

    def __init__(self, group: str, kind: str) -> None:
        self.group, self.kind = group, kind
        self._by_name: dict[str, T] = {}
        self._by_id: dict[int, T] = {}
        self._loaded = False

    def add(self, name: str, item: T, *, id: int | None = None) -> T:
        """Register ``item`` as ``name`` (and ``id``); the same item twice is harmless."""
        if not name or name != name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty word, got {name!r}")
        known = self._by_name.get(name)
        if known is not None and _identity(known) != _identity(item):
            raise ValueError(f"{self.kind} name {name!r} registered twice")
        if id is not None:
            other = self._by_id.get(id)
            if other is not None and _identity(other) != _identity(item):
                raise ValueError(f"{self.kind} id {id:#06x} registered twice")
            self._by_id[id] = item
        self._by_name[name] = item
        return item

    def load(self) -> None:
        """Import the group's modules once (each registers what it defines)."""
        if self._loaded:
            return
        self._loaded = True
        modules = entry_point_modules(self.group)
        if not modules:
            raise InputError(f"no {self.kind} is installed: CodecLab declares them as entry points "
                             f"({self.group}); install the package (make setup, or pip install -e .)")
        for module in modules:
            __import__(module)

    def load_named(self, name: str) -> None:
        """Import only the modules whose entry point is called ``name`` (the cheap lookup)."""
        for entry in metadata.entry_points(group=self.group, name=name):
            __import__(entry.value)

    def names(self) -> list[str]:
        self.load()
        return list(self._by_name)

    def get(self, name: str) -> T:
        if name not in self._by_name and not self._loaded:
            self.load_named(name)
        if name not in self._by_name:
            self.load()
        if name not in self._by_name:
            known = ", ".join(sorted(self._by_name)) or "none registered"
            raise InputError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._by_name[name]

    def by_id(self, id: int) -> T:
        self.load()
        if id not in self._by_id:
            raise BitstreamError(f"bitstream names unknown {self.kind} id {id:#06x}")
        return self._by_id[id]

    def has_id(self, id: int) -> bool:
        self.load()
        return id in self._by_id


def _identity(item: object) -> str:
    """Where an item is defined: a module imported twice registers equal, not identical, items."""
    target = item if isinstance(item, (type, Callable)) else type(item)
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}"
