"""Markdown line by line: where fenced code blocks open and close, and which line heads a table.

What the reader and the chunker ask of a Markdown span without parsing it whole: a sentence
that ends in a colon and the code block under it (``introduced``), a table's header row that is
no answer (``answer.features``), and prose cut at line breaks except inside fences. A
document's fences are found once from its start and kept with it (``fences_of``), since a passage
or an answer may begin inside a block opened long before it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from qa.core.types import Document

LINE_BREAK = re.compile(r"\r\n?|\n")
LINE_WITH_BREAK = re.compile(
    r"([^\r\n]*)(?:\r\n?|\n|$)"
)  # as markdown-it normalises them, so line numbers agree
# inside a code block only an include is markup: "///" is a doc comment there, "{% if %}" a template's
INCLUDE = re.compile(r"^[ \t]*(?:\{\{#.*\}\}|--8<--.*)[ \t]*$")
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")  # a fence's line: its marker, then the info string


def fence_after(line: str, fence: str) -> str:
    """The marker of the code fence open after ``line`` ("" for none), ``fence`` open before it:
    a backtick fence's info string holds no backtick (```js``` is inline code), and a closing
    fence has none."""
    marker = FENCE.match(line)
    if marker is None:
        return fence
    if not fence:
        return "" if marker.group(1)[0] == "`" and "`" in marker.group(2) else marker.group(1)
    closes = marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence)
    return "" if closes and not marker.group(2).strip() else fence


# a table's delimiter row, with a pipe ("---" alone is a heading's underline or a rule)
_DELIMITER_ROW = re.compile(
    r"[ \t]*(?=[^\n]*\|)(?:\|[ \t]*)?:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*(?:\r?\n|$)"
)


def heads_a_table(text: str, end: int) -> bool:
    """Whether the line ending at ``end`` is a table's header row: the next line is its
    delimiter row ("|---|:---:|")."""
    following = LINE_BREAK.match(text, end)
    return following is not None and _DELIMITER_ROW.match(text, following.end()) is not None


def code_fences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of ``text[start:end]`` inside fenced code blocks, their fence lines included (one
    still open at ``end`` runs to it): what is not prose there, line by line."""
    found: list[tuple[int, int]] = []
    fence, opened, position = "", 0, start
    for match in LINE_WITH_BREAK.finditer(text, start, end):
        line = match.group(1)
        after = fence_after(line, fence)
        if after and not fence:
            opened = position
        elif fence and not after:
            found.append((opened, position + len(line)))
        fence, position = after, match.end()
    if fence:
        found.append((opened, end))
    return found


@dataclass(frozen=True)
class Fences:
    """The fenced code blocks of a whole text, found once from its start: their starts and ends."""

    lows: tuple[int, ...]
    highs: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Fences:
        found = code_fences(text, 0, len(text))
        return cls(tuple(low for low, _ in found), tuple(high for _, high in found))

    def within(self, start: int, end: int) -> list[tuple[int, int]]:
        """The blocks that meet ``[start, end)``, cut to it: what ``code_fences(text, 0, end)``
        finds from ``start`` on, without reading the text from its start again for each passage
        of a long document (a 500 KB page's passages took 10 ms each)."""
        found: list[tuple[int, int]] = []
        if start >= end:
            return found
        for at in range(bisect.bisect_right(self.highs, start), len(self.lows)):
            if self.lows[at] >= end:
                break
            found.append((max(self.lows[at], start), min(self.highs[at], end)))
        return found

    def around(self, offset: int) -> tuple[int, int] | None:
        """The whole block (its fence lines included) holding the character at ``offset``, if any."""
        at = bisect.bisect_right(self.highs, offset)
        return (self.lows[at], self.highs[at]) if at < len(self.lows) and self.lows[at] <= offset else None

    def holds(self, offset: int) -> bool:
        """Whether the character at ``offset`` is in a block (its fence lines included)."""
        return self.around(offset) is not None


def fences_of(document: Document) -> Fences:
    """``document``'s code blocks, found once and kept with it (two threads may both find them)."""
    fences = document.derived.get("fences")
    if not isinstance(fences, Fences):
        fences = document.derived["fences"] = Fences.of(document.text)
    return fences


# a link or image, inline or by reference: "[`Pin`](https://...)", "[text][label]", "![alt](a.png)"
_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\](?:\([^()\s]*(?:\([^()]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?\)|\[[^\]]*\])"
)
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]", re.MULTILINE)


def only_links(text: str) -> bool:
    """Whether ``text`` (a sentence, a list item) is links and nothing else: a menu's line, which
    says nothing of what it points at ("- [`Pin`](...), [`Unpin`](...)")."""
    rest = _LIST_MARKER.sub("", _LINK.sub("", text))
    return rest != text and not any(char.isalnum() for char in rest)


_QUOTE = re.compile(r"[ \t]*(?:>[ \t]?)+")  # a blockquote's markers
_ONE_QUOTE = re.compile(r"[ \t]*>[ \t]?")


def unquoted(text: str) -> str:
    """``text`` with its blockquote markers replaced by spaces, line by line: inside a quoted
    code block only as many markers as its opening fence had go ("> >>> 1 + 1" is a doctest's
    prompt under one marker, not three more quotes); a line with fewer ends the block."""
    lines: list[str] = []
    fence, depth = "", 0
    for match in LINE_WITH_BREAK.finditer(text):
        line = match.group(0)
        if fence:  # at most the fence's own markers
            prefix, found = 0, 0
            while found < depth and (one := _ONE_QUOTE.match(line, prefix)):
                prefix, found = one.end(), found + 1
            if found < depth:
                fence = ""  # the quote holding the code block ended
        if not fence:
            marker = _QUOTE.match(line)
            prefix = marker.end() if marker else 0
        rest = match.group(1)[prefix:]
        after = fence_after(rest, fence) if fence or indent(rest) <= 3 else ""
        if after and not fence:
            depth = line[:prefix].count(">")
        fence = after
        lines.append(" " * prefix + line[prefix:])
    return "".join(lines)


def indent(line: str) -> int:
    """Columns of ``line``'s leading whitespace, a tab to the next multiple of 4 as CommonMark counts."""
    return len(line.expandtabs(4)) - len(line.lstrip(" \t").expandtabs(4))
