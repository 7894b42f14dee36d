"""The plain-text part of an e-mail, read off its HTML part: one template, two parts that say the same.

A small reader for the markup our own templates use (paragraphs, headings, line breaks, lists,
two-column tables, links), standard library only. Entities are decoded (the HTML was autoescaped;
the text part is never interpreted, so `<` reads as `<` again). Tables become aligned columns,
which is how a figure and its label read best in a monospace mail client.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "ul", "ol", "li", "table", "tr", "blockquote"})
_SKIPPED = frozenset({"head", "title", "style", "script"})
# Collapse markup whitespace, but not the no-break spaces inside amounts ("1 234,50 €").
_MARKUP_SPACE = re.compile(r"[ \t\r\n\f\v]+")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.line: list[str] = []
        self.lines: list[str] = []
        self.skipping = 0
        self.rows: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.link: tuple[str, int] | None = None  # href, where its text starts in the sink
        self.pre: list[str] | None = None  # preformatted text keeps its lines and spaces

    # -- where text goes -------------------------------------------------------------------
    def _sink(self) -> list[str]:
        if self.pre is not None:
            return self.pre
        return self.cell if self.cell is not None else self.line

    def _end_line(self) -> None:
        text = "".join(self.line).strip()
        self.line = []
        if text:
            self.lines.append(text)

    def _end_paragraph(self) -> None:
        self._end_line()
        if self.lines:
            self.paragraphs.append("\n".join(self.lines))
        self.lines = []

    # -- parser callbacks -----------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            if self.cell is not None:
                self.cell.append(" ")
            else:
                self._end_line()
        elif tag == "table":
            self._end_paragraph()
            self.rows = []
        elif tag == "pre":
            self._end_paragraph()
            self.pre = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []
        elif tag == "li":
            self._end_line()
            self.line.append("- ")
        elif tag in _BLOCKS:
            self._end_paragraph()
        elif tag == "a":
            self.link = (dict(attrs).get("href") or "", len(self._sink()))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in ("td", "th") and self.cell is not None and self.rows is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append(re.sub(" +", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "pre" and self.pre is not None:
            text = "\n".join(line.rstrip() for line in "".join(self.pre).strip("\n").splitlines())
            if text.strip():
                self.paragraphs.append(text)
            self.pre = None
        elif tag == "table" and self.rows is not None:
            self._table(self.rows)
            self.rows = None
        elif tag == "li":
            self._end_line()
        elif tag in _BLOCKS and tag != "tr":
            self._end_paragraph()
        elif tag == "a" and self.link is not None:
            href, start = self.link
            self.link = None
            shown = "".join(self._sink()[start:]).strip()
            target = href.removeprefix("mailto:")
            if target and target != shown:
                self._sink().append(f" <{target}>")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self._sink().append(data if self.pre is not None else _MARKUP_SPACE.sub(" ", data))

    def _table(self, rows: list[list[str]]) -> None:
        rows = [row for row in rows if any(row)]
        if not rows:
            return
        width = max(len(row[0]) for row in rows)
        lines = []
        for row in rows:
            if len(row) == 1:
                lines.append(row[0])
            else:
                lines.append(f"{row[0].ljust(width)}  {'  '.join(row[1:])}".rstrip())
        self.paragraphs.append("\n".join(lines))

    def text(self) -> str:
        self._end_paragraph()
        return "\n\n".join(self.paragraphs) + "\n"


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or page, paragraphs separated by a blank line."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.text()
