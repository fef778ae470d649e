"""tutorials/build.py: one source per chapter becomes two notebooks that share their code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("jupytext", reason="building the tutorials needs the test extra (jupytext)")
pytest.importorskip("nbformat", reason="building the tutorials needs the test extra (nbformat)")

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tutorials" / "build.py"


def load_build():
    """tutorials/build.py as a module (the tutorials are not a package)."""
    spec = importlib.util.spec_from_file_location("tutorials_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()


def test_the_path_has_its_eleven_chapters():
    assert [int(source.stem[:2]) for source in build.chapter_sources()] == list(range(11))


@pytest.mark.parametrize("lang", build.LANGUAGES)
def test_committed_notebooks_match_their_sources(lang):
    for source in build.chapter_sources():
        path = build.target(source, lang)
        assert path.is_file(), f"{path} is missing: run python tutorials/build.py"
        fresh = build.notebook_text(build.build_notebook(source, lang))
        assert path.read_text(encoding="utf-8") == fresh, f"{path} is out of date: run python tutorials/build.py"


def test_languages_share_the_code_and_readers_never_see_the_solutions():
    for source in build.chapter_sources():
        code = {}
        for lang in build.LANGUAGES:
            notebook = build.build_notebook(source, lang)
            code[lang] = [c.source for c in notebook.cells if c.cell_type == "code"]
            assert not any(build.SOLUTION_TAG in c.metadata.get("tags", []) for c in notebook.cells)
            prose = sum(c.cell_type == "markdown" for c in notebook.cells)
            assert prose >= 5, f"{source.name} {lang}: too little prose"
        assert code["en"] == code["zh"], f"{source.name}: the languages differ in their code"
        solved = build.build_notebook(source, "en", solutions=True)
        assert any(build.SOLUTION_TAG in c.metadata.get("tags", []) for c in solved.cells), \
            f"{source.name} has no solution cell for its exercises"


def test_cells_are_chosen_by_language_and_tag(tmp_path):
    source = tmp_path / "00_demo.py"
    source.write_text('# %% [markdown] lang="en"\n# Hello\n\n# %% [markdown] lang="zh"\n# 你好\n\n'
                      '# %%\nanswer = None\n\n# %% tags=["solution"]\nanswer = 42\n', encoding="utf-8")
    english = build.build_notebook(source, "en")
    assert [(c.cell_type, c.source) for c in english.cells] == [("markdown", "Hello"), ("code", "answer = None")]
    chinese = build.build_notebook(source, "zh", solutions=True)
    assert [c.source for c in chinese.cells] == ["你好", "answer = None", "answer = 42"]
    assert chinese.cells[2].metadata == {"tags": ["solution"]}
    assert [c.id for c in chinese.cells] == ["00-zh-000", "00-zh-001", "00-zh-002"]
    assert build.notebook_text(english) == build.notebook_text(build.build_notebook(source, "en"))
    with pytest.raises(ValueError):
        build.build_notebook(source, "fr")


@pytest.mark.parametrize("wrapped, rendered", [
    ("第一行，\n第二行。", "第一行，第二行。"),                     # CJK on both sides: joined
    ("见“上下文”——\n它", "见“上下文”——它"),                       # dashes and quotes count as CJK
    ("中文\nEnglish", "中文\nEnglish"),                           # a space between scripts is wanted
    ("1. 列表\n2. 项目", "1. 列表\n2. 项目"),                        # list items stay apart
    ("前\n```\n重建\n去块\n```\n后", "前\n```\n重建\n去块\n```\n后"),   # code blocks are verbatim
])
def test_wrapped_chinese_renders_without_spurious_spaces(wrapped, rendered):
    assert build.join_cjk_lines(wrapped) == rendered
