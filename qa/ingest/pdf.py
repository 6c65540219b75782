"""What a PDF's pages carry besides its text: furniture found by line shape, and broken words.

- Running headers and footers: among the first and last two lines of each page, a line that
  recurs (digits aside, so "Page 3" and "Page 4" are one line) on at least half the pages, and on
  three at least.
- Contents and index lines: dot leaders ("Installation ........ 12"), or a term followed only by
  page numbers ("caching, 14, 97-99").
These spans stay in the document text (the page is cited as it is) but are never passages.
``join_hyphens`` gives the model "example" for "exam-\\nple" without moving any word's start.
"""

from __future__ import annotations

import re
from collections import Counter

_LEADER = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+\s*$", re.IGNORECASE)
_INDEX_LINE = re.compile(
    r"^[^\d\n]{2,80}?,\s*\d+(?:\s*[-\u2013]\s*\d+)?(?:\s*,\s*\d+(?:\s*[-\u2013]\s*\d+)?)*\s*$"
)
_DIGITS = re.compile(r"\d+")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-\n(?=[^\W\d_])")
EDGE_LINES = 2


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for line in text[start:end].split("\n"):
        stripped = line.strip()
        if stripped:
            left = cursor + line.index(stripped)
            spans.append((left, left + len(stripped)))
        cursor += len(line) + 1
    return spans


def furniture(text: str, page_starts: list[int]) -> list[tuple[int, int]]:
    """Spans of running headers and footers, contents lines and index lines, in order."""
    bounds = list(zip(page_starts, [*page_starts[1:], len(text)], strict=True))
    pages = [_lines(text, start, end) for start, end in bounds]
    edges = [page[:EDGE_LINES] + page[-EDGE_LINES:] for page in pages]
    recurring = Counter(shape for page in edges for shape in {_DIGITS.sub("#", text[s:e]) for s, e in page})
    needed = max(3, (len(pages) + 1) // 2)
    found: set[tuple[int, int]] = set()
    for page, edge in zip(pages, edges, strict=True):
        found.update(span for span in edge if recurring[_DIGITS.sub("#", text[span[0] : span[1]])] >= needed)
        found.update(span for span in page if _LEADER.search(text[span[0] : span[1]]))
        found.update(span for span in page if _INDEX_LINE.match(text[span[0] : span[1]]))
    return sorted(found)


def join_hyphens(text: str) -> str:
    """``text`` with words broken by a hyphen at a line end joined, padded to the same length."""
    chars = list(text)
    for match in reversed(list(_HYPHEN_BREAK.finditer(text))):
        word_end = match.end()
        while word_end < len(text) and (text[word_end].isalnum()):
            word_end += 1
        # "exam-\nple," -> "example  ,": the rest of the word moves left over the break
        chars[match.start() : word_end] = [*text[match.end() : word_end], " ", " "]
    return "".join(chars)
