"""A report as structured content, written as Markdown or as one self-contained HTML page.

The calibration and sensitivity reports build a :class:`Report` (a title, an opening and
titled sections of blocks: text, bullet lists, tables, images) rather than a string, so
that a script can add its own sections where they belong (the GVC reports add the
domain's commentary) and both formats come from the same content. Python's ``markdown``
package is not a gvcdyn dependency, so the HTML is written here directly: the inline
markup the reports use is small (``code``, ``**bold**`` and ``[text](link)``), and the
page embeds its images as ``data:`` URIs, so it can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Bullets",
    "Image",
    "Report",
    "Section",
    "Table",
    "Text",
    "fmt",
    "markdown_table",
]


def fmt(value: Any, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits; blank for None or NaN."""
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return ""
    return f"{value:.{digits}g}"


@dataclass
class Text:
    """A paragraph (inline markup: ``code``, ``**bold**``, ``[text](link)``)."""

    text: str


@dataclass
class Bullets:
    """A bullet list, one item per entry (inline markup as :class:`Text`)."""

    items: list[str]


@dataclass
class Table:
    """A table: column names and rows of cells (strings, inline markup allowed)."""

    columns: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        """The cells of the column ``name``."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def insert_column(self, position: int, name: str, cells: Sequence[str]) -> None:
        """Add the column ``name`` before ``position`` (a wrapper adds a domain column)."""
        if len(cells) != len(self.rows):
            raise ValueError(f"{len(cells)} cells for a table of {len(self.rows)} rows")
        self.columns.insert(position, name)
        for row, cell in zip(self.rows, cells, strict=True):
            row.insert(position, cell)


@dataclass
class Image:
    """A picture written beside the report: ``file`` is its name relative to the report."""

    file: str
    alt: str


Block = Text | Bullets | Table | Image


@dataclass
class Section:
    """A titled part of a report; ``key`` names it for a script that adds sections."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Report:
    """Title, opening blocks, sections and the files written beside it (plots)."""

    title: str
    opening: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"no section {key!r}: the report has {[s.key for s in self.sections]}")

    def has(self, key: str) -> bool:
        return any(s.key == key for s in self.sections)

    def add(self, section: Section, *, after: str | None = None) -> Section:
        """Append ``section``, or put it right after the section ``after`` (and the
        subsections that follow it) when the report has that one."""
        if after is None or not self.has(after):
            self.sections.append(section)
            return section
        i = next(i for i, s in enumerate(self.sections) if s.key == after) + 1
        level = self.sections[i - 1].level
        while i < len(self.sections) and self.sections[i].level > level:
            i += 1
        self.sections.insert(i, section)
        return section

    def markdown(self) -> str:
        """The report as GitHub-flavoured Markdown (images by their file names)."""
        parts = [f"# {self.title}\n", *(_md_block(b) for b in self.opening)]
        for section in self.sections:
            parts.append(f"{'#' * section.level} {section.title}\n")
            parts.extend(_md_block(b) for b in section.blocks)
        return "\n".join(parts)

    def html(self, folder: Path) -> str:
        """The report as one HTML page; images are read from ``folder`` and embedded."""
        body = [f"<h1>{_inline(self.title)}</h1>", *(_html_block(b, folder) for b in self.opening)]
        for section in self.sections:
            level = min(section.level, 6)
            body.append(f"<h{level}>{_inline(section.title)}</h{level}>")
            body.extend(_html_block(b, folder) for b in section.blocks)
        return _PAGE.format(title=html.escape(self.title), body="\n".join(body))


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` inside a cell escaped)."""

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_block(block: Block) -> str:
    if isinstance(block, Text):
        return block.text + "\n"
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items) + "\n"
    if isinstance(block, Table):
        return markdown_table(block.columns, block.rows) + "\n"
    return f"![{block.alt}]({block.file})\n"


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    """Escape ``text`` for HTML and turn the reports' inline Markdown into tags (code
    spans first, so nothing inside them is read as markup)."""
    pieces = []
    for i, piece in enumerate(_CODE.split(text)):
        if i % 2:
            pieces.append(f"<code>{html.escape(piece)}</code>")
            continue
        piece = html.escape(piece, quote=False)
        piece = _BOLD.sub(r"<strong>\1</strong>", piece)
        piece = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', piece)
        pieces.append(piece)
    return "".join(pieces)


def _html_block(block: Block, folder: Path) -> str:
    if isinstance(block, Text):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_inline(c)}</th>" for c in block.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_inline(str(v))}</td>" for v in row) + "</tr>"
            for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    data = base64.b64encode((folder / block.file).read_bytes()).decode("ascii")
    kind = "svg+xml" if block.file.endswith(".svg") else "png"
    return f'<p><img alt="{html.escape(block.alt)}" src="data:image/{kind};base64,{data}"></p>'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }}
th {{ background: #f3f3f3; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
img {{ max-width: 100%; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
