"""The house rules of DESIGN.md, checked on the source.

The import graph is read from the files, not from a running interpreter, so that it holds
every import a module *can* make:

- ``import a.b`` and ``from a import b`` anywhere in a module, inside functions and
  ``if TYPE_CHECKING:`` blocks included;
- modules named by string (``importlib.import_module("codeclab.x")``, the lazy re-export
  tables ``{"read_image": ".image"}``): any string constant that names a module of the
  package, absolute or relative to the module's package.

The rules:

1. no cycle between modules, and none between the children of any package (a package and
   the modules below it count as one node at their parent's level);
2. a decoder (a module named ``decoder`` or inside a ``decoder`` package) reaches no encoder
   module (named ``encoder`` or inside an ``encoder`` package), however indirectly;
3. the codecs reach neither ``train``, ``eval`` nor ``cli``; training code of a tool lives
   in a ``training`` module or package and may;
4. only ``hybrid`` imports both ``classic`` and ``learned``.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "codeclab"
MODULE_STRING = re.compile(r"^\.*[A-Za-z_]\w*(\.\w+)*$")
CODEC_PACKAGES = ("anchors", "bitstream", "classic", "entropy", "hybrid", "io", "learned")
NOT_FOR_CODECS = ("codeclab.train", "codeclab.eval", "codeclab.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def resolve(name: str, package: str, level: int) -> str:
    """``from ..x import`` in package ``a.b.c`` -> ``a.b.x``."""
    if level == 0:
        return name
    base = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join(base + ([name] if name else []))


def imported_by(module: str) -> set[str]:
    """Every module of the package that ``module`` imports or names, anywhere in its file."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = modules()
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in known:  # ``a.b.func`` -> ``a.b``
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module or "", package, node.level)
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                add(full if full in known else base)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.match(node.value):
            text = node.value
            level = len(text) - len(text.lstrip("."))
            name = resolve(text[level:], package, level) if level else text
            if name in known:
                add(name)
    return {name for name in found if name.split(".")[0] == "codeclab"}


@lru_cache(maxsize=None)
def graph() -> dict[str, frozenset[str]]:
    return {module: frozenset(imported_by(module)) for module in modules()}


def reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph()[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def child_of(package: str, module: str) -> str | None:
    """The child of ``package`` that holds ``module`` (``None`` outside it)."""
    if not module.startswith(package + "."):
        return None
    return package + "." + module[len(package) + 1:].split(".")[0]


def packages() -> list[str]:
    return sorted(name for name, path in modules().items() if path.name == "__init__.py")


def is_encoder(module: str) -> bool:
    return "encoder" in module.split(".")[1:]


def is_decoder(module: str) -> bool:
    return "decoder" in module.split(".")[1:]


def is_training(module: str) -> bool:
    return "training" in module.split(".")[1:]


def top(module: str) -> str:
    return ".".join(module.split(".")[:2])


# -- the rules ----------------------------------------------------------------------------

def test_the_graph_sees_imports_in_functions_and_by_string():
    assert "codeclab.classic.decoder.picture" in reach("codeclab.classic.codec") or \
        any(is_decoder(m) for m in reach("codeclab.classic.codec"))  # imported inside methods
    assert "codeclab.io.image" in graph()["codeclab.io"]  # named in the lazy re-export table


def test_no_module_imports_a_module_that_imports_it_back():
    assert cycles({m: set(t) for m, t in graph().items()}) == []


@pytest.mark.parametrize("package", packages())
def test_no_cycle_between_the_children_of_a_package(package):
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        source = child_of(package, module)
        if source is None:
            continue
        for target in targets:
            child = child_of(package, target)
            if child is not None and child != source:
                edges.setdefault(source, set()).add(child)
    assert cycles(edges) == []


def test_no_cycle_between_the_top_level_packages():
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module == "codeclab":
            continue
        edges.setdefault(top(module), set()).update(top(t) for t in targets
                                                   if t != "codeclab" and top(t) != top(module))
    assert cycles(edges) == []


def test_decoders_reach_no_encoder_module():
    decoders = [m for m in modules() if is_decoder(m)]
    assert decoders, "no decoder module found: the rule would check nothing"
    bad = {m: sorted(t for t in reach(m) if is_encoder(t)) for m in decoders}
    assert {m: t for m, t in bad.items() if t} == {}


def test_codecs_reach_neither_train_eval_nor_cli():
    codec_modules = [m for m in modules() if m.split(".")[1:2] and m.split(".")[1] in CODEC_PACKAGES
                     and not is_training(m)]
    bad = {m: sorted(t for t in reach(m) if t.startswith(NOT_FOR_CODECS)) for m in codec_modules}
    assert {m: t for m, t in bad.items() if t} == {}


def test_only_hybrid_imports_both_classic_and_learned():
    both = []
    for package in {top(m) for m in modules()} - {"codeclab", "codeclab.hybrid"}:
        targets = {top(t) for m in modules() if top(m) == package for t in graph()[m]}
        if {"codeclab.classic", "codeclab.learned"} <= targets:
            both.append(package)
    # the front ends (API, CLI, evaluation, training, warm-up) reach every codec through the
    # registry, never by importing two codec families
    assert sorted(both) == []
