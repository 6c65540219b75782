"""What a PDF's pages carry besides its text: furniture found by line shape, and broken words.

- Running headers and footers: among the first and last two lines of each page, a line that
  recurs (digits aside, so "Page 3" and "Page 4" are one line) on at least half the pages, and on
  three at least; or one that holds a number and recurs in the same place on three pages at
  least, its numbers differing (a chapter's own running header, "Chapter 4: Reference 10").
- Page labels: a line of nothing but a page number, arabic or roman ("7", "- 7 -", "iv"), among
  those edge lines, in a document where three pages at least carry one.
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
_LAST_NUMBER = re.compile(r"(?<![\d.,])(\d{1,4})[^\w\n]{0,3}$")  # a line's closing number: "... 10", "- 7 -"
_PAGE_LABEL = re.compile(r"^[^\w\n]{0,3}(?:\d{1,4}|[ivxlcdm]{1,7})[^\w\n]{0,3}$", re.IGNORECASE)
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
    found.update(_numbered_edges(text, pages))
    for page, edge in zip(pages, edges, strict=True):
        found.update(span for span in edge if recurring[_DIGITS.sub("#", text[span[0] : span[1]])] >= needed)
        found.update(span for span in page if _LEADER.search(text[span[0] : span[1]]))
        found.update(span for span in page if _INDEX_LINE.match(text[span[0] : span[1]]))
    return sorted(found)


def _numbered_edges(text: str, pages: list[list[tuple[int, int]]]) -> set[tuple[int, int]]:
    """Edge lines that end in the page's printed number, its offset from the page's place found
    on three pages at least ("Chapter 2: Handling 3" on the fifth page, "7" on the ninth); page
    labels (roman ones too) when three pages carry one; and numbered lines recurring in one place
    of three pages or more with different numbers (running headers that change with the chapter)."""
    places: dict[tuple[int, str], list[tuple[int, int]]] = {}
    labels: list[tuple[int, int]] = []
    numbered: list[tuple[int, int, tuple[int, int]]] = []  # (page, its number, the line)
    for index, page in enumerate(pages):
        for place, span in [*enumerate(page[:EDGE_LINES]), *enumerate(page[-EDGE_LINES:], -EDGE_LINES)]:
            line = text[span[0] : span[1]]
            if _PAGE_LABEL.match(line):
                labels.append(span)
            if last := _LAST_NUMBER.search(line):
                numbered.append((index, int(last.group(1)), span))
                places.setdefault((place, _DIGITS.sub("#", line)), []).append(span)
    found = set(labels) if len({start for start, _ in labels}) >= 3 else set()
    offsets = Counter(offset for _, offset in {(index, index - number) for index, number, _ in numbered})
    offset, pages_with_it = offsets.most_common(1)[0] if offsets else (0, 0)
    if pages_with_it >= 3:
        found.update(span for index, number, span in numbered if index - number == offset)
    for spans in places.values():
        numbers = {tuple(_DIGITS.findall(text[start:end])) for start, end in set(spans)}
        if len(set(spans)) >= 3 and len(numbers) >= 3:
            found.update(spans)
    return found


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
