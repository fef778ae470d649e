"""Build the English and Chinese notebooks of the learning path from one source per chapter.

Each chapter is written once, as ``tutorials/src/NN_topic.py`` in jupytext's "percent"
format, and this script turns it into ``tutorials/en/NN_topic.ipynb`` and
``tutorials/zh/NN_topic.ipynb``. Cells are chosen by their header::

    # %% [markdown] lang="en"      English prose: only in en/
    # %% [markdown] lang="zh"      Chinese prose: only in zh/
    # %%                           code: in both notebooks, verbatim
    # %% tags=["solution"]         the reference answer of an exercise: left out of the
                                   readers' notebooks, run by CI before the answer check

so the two notebooks of a chapter share every line of code, and a reader's notebook never
shows the answers (they stay readable in the source). The generated files carry no
outputs and deterministic cell ids, so building twice gives the same bytes and
``--check`` can tell whether the committed notebooks still match their sources.

Prose is wrapped in the source for reading, but Markdown renders a line break inside a
paragraph as a space (CommonMark 0.31 §6.7, soft line breaks), which Chinese text must not
have; so a break between two CJK characters is removed when the notebook is built.

Usage::

    python tutorials/build.py            # (re)write tutorials/en/*.ipynb and tutorials/zh/*.ipynb
    python tutorials/build.py --check    # exit 1, listing them, if any is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

TUTORIALS = Path(__file__).resolve().parent
SOURCES = TUTORIALS / "src"
LANGUAGES = ("en", "zh")
SOLUTION_TAG = "solution"

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

#: Characters of Chinese prose: ideographs, CJK and full-width punctuation, dashes and quotes.
_CJK = r"[\u2014\u2018-\u201d\u2026\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
#: A line break between two of them.
_CJK_BREAK = re.compile(rf"(?<={_CJK})\n(?={_CJK})")


def chapter_sources() -> list[Path]:
    """The chapter sources, in reading order (their names start with the chapter number)."""
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def keeps_cell(metadata: dict, lang: str, solutions: bool) -> bool:
    """Whether a cell of the source belongs in the ``lang`` notebook."""
    if metadata.get("lang", lang) != lang:
        return False
    return solutions or SOLUTION_TAG not in metadata.get("tags", [])


def join_cjk_lines(markdown: str) -> str:
    """Remove the line breaks between CJK characters outside fenced code blocks, so that
    wrapped Chinese prose renders without spurious spaces."""
    parts = re.split(r"(^```.*?^```$)", markdown, flags=re.S | re.M)
    return "".join(part if part.startswith("```") else _CJK_BREAK.sub("", part) for part in parts)


def build_notebook(source: Path, lang: str, *, solutions: bool = False) -> nbformat.NotebookNode:
    """The ``lang`` notebook of one chapter source; ``solutions=True`` keeps the answer cells
    (what CI executes). Raises ValueError on a language this path is not written in."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    text = jupytext.reads(source.read_text(encoding="utf-8"), fmt="py:percent")
    cells = []
    for cell in text.cells:
        if not keeps_cell(cell.metadata, lang, solutions):
            continue
        # Only the tags travel into the notebook (jupytext's layout hints and "lang" do not).
        metadata = {"tags": list(cell.metadata["tags"])} if cell.metadata.get("tags") else {}
        # Ids name the cell's place, so an unchanged source gives unchanged notebooks.
        cell_id = f"{source.stem[:2]}-{lang}-{len(cells):03d}"
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(join_cjk_lines(cell.source), metadata=metadata, id=cell_id))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=metadata, id=cell_id))
        else:
            raise ValueError(f"{source.name}: unexpected {cell.cell_type} cell (write markdown or code cells)")
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return notebook


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The file contents of a notebook: nbformat's JSON, one space indents, final newline."""
    nbformat.validate(notebook)
    return nbformat.writes(notebook, version=4) + "\n"


def target(source: Path, lang: str) -> Path:
    """Where the ``lang`` notebook of ``source`` lives."""
    return TUTORIALS / lang / f"{source.stem}.ipynb"


def build_all(*, check: bool = False) -> list[Path]:
    """Write every notebook (or, with ``check``, write nothing); return those that were out of date."""
    stale = []
    for source in chapter_sources():
        for lang in LANGUAGES:
            path = target(source, lang)
            text = notebook_text(build_notebook(source, lang))
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(path)
            if not check:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ from their sources")
    args = parser.parse_args(argv)
    stale = build_all(check=args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(TUTORIALS.parent)}")
    if args.check and stale:
        print("run: python tutorials/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
