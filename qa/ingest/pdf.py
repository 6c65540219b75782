"""What a PDF's pages carry besides its text: furniture found by line shape, and broken words.

- Running headers and footers: among the first and last two lines of each page, a line that
  recurs (digits aside, so "Page 3" and "Page 4" are one line) on at least half the pages, and on
  three at least; or one that holds a number and recurs in the same place on three pages at
  least, its numbers differing (a chapter's own running header, "Chapter 4: Reference 10").
- Page labels: a line of nothing but a page number, arabic or roman ("7", "- 7 -", "iv"), among
  those edge lines, in a document where three pages at least carry one.
- Contents and index lines: dot leaders ("Installation ........ 12"), or a term followed only by
  page numbers ("caching, 14, 97-99").
- Contents lines without leaders: in a run of lines that all end in a page number, holding two
  dot-leader lines at least, every line ("B. Another appendix 4" among dotted entries).
These spans stay in the document text (the page is cited as it is) but are never read: a passage
that spans one (a contents entry between two paragraphs of a page) has it blanked in what the
model reads (``blank``).

Typographic ligatures (U+FB00-FB06: "ﬁ", "ﬂ", "ﬃ"), which pypdf gives for fonts that set them
as one glyph, are spelled out (``LIGATURES``): the model's vocabulary has no "ﬁ", so "ﬁeld" was
read as an unknown word, and keyword search never matched "field".

Headings are lines set in larger type than the body's (``headings``: the type size most of the
document's characters are set in), or in bold throughout (``line_sizes``), short, not ending a
sentence, and not a chart's label (a short line set large among lines of figures alone, such
as an axis's "3%" and "6%": a plot drawn as text set "Share of labor force" large); their
sizes rank them, the largest first, so passages carry the path of the headings above them.
``join_hyphens`` gives the model "example" for "exam-\\nple" without moving any word's start.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

from qa.ingest.chunking import trim

# a dot leader and a page number, arabic or roman: "Installation ........ 12", ". . . . iv"; a run
# of dots is tried from its first dot only (searched from every dot, a long run took quadratic time)
_LEADER = re.compile(
    r"(?<!\.)(?<!\.\s)(?:\.\s?){4,}\s*(?:\d{1,4}|x{0,3}(?:ix|iv|v?i{1,3}|v)|x{1,3})\s*$", re.IGNORECASE
)
_INDEX_LINE = re.compile(
    r"^[^\d\n]{2,80}?,\s*\d+(?:\s*[-\u2013]\s*\d+)?(?:\s*,\s*\d+(?:\s*[-\u2013]\s*\d+)?)*\s*$"
)
_DIGITS = re.compile(r"\d+")
# a line's closing number: "... 10", "- 7 -"; not "4." (a section's number set on a line of its own)
_LAST_NUMBER = re.compile(r"(?<![\d.,])(\d{1,4})[^\w\n.]{0,3}$")
# a page label alone: "7", "- 7 -", or front matter's "iv" (lower case, up to 39: "CD" or "mix" is a word)
_PAGE_LABEL = re.compile(r"^[^\w\n]{0,3}(?:\d{1,4}|x{0,3}(?:ix|iv|v?i{1,3}|v)|x{1,3})[^\w\n.]{0,3}$")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-\n(?=[^\W\d_])")
EDGE_LINES = 2
HEADING_SCALE = 1.15  # a line set this much larger than the body's type is a heading
HEADING_CHARS = 120  # longer lines are prose set large, not headings
HEADING_SHARE = 1 / 3  # a document with more of its characters "large" has no body type to go by
SENTENCE_END = re.compile(r"[.,;:]$")
_BOLD_NAME = re.compile(r"bold|black(?!letter)|heavy|cmbx|-medi(?!um)", re.IGNORECASE)
_FIGURES = re.compile(r"[^\w\n]*\d[\d\s.,%+\-\u2212\u2013$€£()/:]*")  # no letters, a digit at least
LABEL_CHARS = 60  # a chart's label set large is short; a heading of that size may be longer
# a heading's number: "2.1. ", "A.3 ", "A. "; not "2024 " or "A Case Study"
_HEADING_NUMBER = re.compile(r"((?:\d{1,3}|[A-Z](?=\.))(?:\.\d{1,3})*)\.?\s")
LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)


def lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of the non-blank lines of ``text[start:end]``, their surrounding space left out."""
    spans, cursor = [], start
    for line in text[start:end].split("\n"):
        stripped = line.strip()
        if stripped:
            left = cursor + line.index(stripped)
            spans.append((left, left + len(stripped)))
        cursor += len(line) + 1
    return spans


def furniture(text: str, page_starts: list[int], exact: bool = False) -> list[tuple[int, int]]:
    """Spans of running headers and footers, contents lines and index lines, in order. ``exact``:
    a recurring edge line recurs as written, digits too (a plain text's form feeds also part
    sections, "* Changes in release 1.4" heading each page; page numbers are found apart)."""
    bounds = list(zip(page_starts, [*page_starts[1:], len(text)], strict=True))
    pages = [lines(text, start, end) for start, end in bounds]
    edges = [page[:EDGE_LINES] + page[-EDGE_LINES:] for page in pages]

    def shape(line: str) -> str:
        return line if exact else _DIGITS.sub("#", line)

    recurring = Counter(form for page in edges for form in {shape(text[s:e]) for s, e in page})
    needed = max(3, (len(pages) + 1) // 2)
    found: set[tuple[int, int]] = set()
    found.update(_numbered_edges(text, pages))
    for page, edge in zip(pages, edges, strict=True):
        found.update(span for span in edge if recurring[shape(text[span[0] : span[1]])] >= needed)
        found.update(contents(text, page))
        found.update(span for span in page if _INDEX_LINE.match(text[span[0] : span[1]]))
    return sorted(found)


def contents(text: str, page: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A page's contents lines: those with dot leaders, and in a run of lines that all end in a
    page number and hold two leader lines at least, every line ("A. Generic appendix 1", a
    chapter's entry set without leaders above its sections' entries)."""
    found: list[tuple[int, int]] = []
    numbered = (_LAST_NUMBER.search(text[start:end]) is not None for start, end in page)
    for ends_in_number, run in itertools.groupby(zip(page, numbered, strict=True), key=lambda item: item[1]):
        lines = [span for span, _ in run]
        leaders = [span for span in lines if _LEADER.search(text[span[0] : span[1]])]
        found += lines if ends_in_number and len(leaders) >= 2 else leaders
    return found


def blank(text: str, start: int, spans: list[tuple[int, int]]) -> str:
    """``text`` (the document's from ``start``) with the characters of ``spans`` (document
    offsets) that fall in it turned to spaces: the same length, so what the model reads keeps
    every other word where the document has it."""
    chars = list(text)
    for low, high in spans:
        low, high = max(low - start, 0), min(high - start, len(chars))
        chars[low:high] = " " * max(high - low, 0)
    return "".join(chars)


def _numbered_edges(text: str, pages: list[list[tuple[int, int]]]) -> set[tuple[int, int]]:
    """Page labels, when three pages carry one; and edge lines that end in the page's printed
    number, its offset from the page's place agreed on by three pages at least ("Chapter 2:
    Handling 3" on the fifth page, "7" on the ninth), where the line is a label or its words
    head two pages at least (a sentence at a page's edge that ends in the page's number does not)."""
    labels: dict[int, list[tuple[int, int]]] = {}
    numbered: list[tuple[int, int, tuple[int, int], str]] = []  # (page, its number, the line, its shape)
    for index, page in enumerate(pages):
        for span in {*page[:EDGE_LINES], *page[-EDGE_LINES:]}:
            line = text[span[0] : span[1]]
            if _PAGE_LABEL.match(line):
                labels.setdefault(index, []).append(span)
            if last := _LAST_NUMBER.search(line):
                numbered.append((index, int(last.group(1)), span, _DIGITS.sub("#", line)))
    found = {span for spans in labels.values() for span in spans} if len(labels) >= 3 else set()
    offsets = Counter(offset for _, offset in {(index, index - number) for index, number, _, _ in numbered})
    offset, pages_with_it = offsets.most_common(1)[0] if offsets else (0, 0)
    if pages_with_it >= 3:
        agreeing = [
            (index, span, shape) for index, number, span, shape in numbered if index - number == offset
        ]
        heading = Counter(shape for _, shape in {(index, shape) for index, _, shape in agreeing})
        found.update(
            span
            for _, span, shape in agreeing
            if heading[shape] >= 2 or _PAGE_LABEL.match(text[span[0] : span[1]])
        )
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


def bold(font: Any) -> bool:
    """Whether a pypdf font dictionary names a bold face ("Helvetica-Bold", "CMBX12",
    "NimbusRomNo9L-Medi") or gives a weight of 600 or more."""
    try:
        if _BOLD_NAME.search(str(font.get("/BaseFont", "")).split("+")[-1]):
            return True
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if hasattr(descriptor, "get_object") else descriptor
        return descriptor is not None and float(descriptor.get("/FontWeight", 0)) >= 600
    except (AttributeError, TypeError, ValueError):  # no font, or one pypdf could not resolve
        return False


def line_sizes(runs: list[tuple[str, float, bool]]) -> list[float]:
    """The type size of each line of a page's text (the size most of its characters are set in;
    0 for a blank line), from the (text, size, bold) runs that, joined, are the page's text. A
    line set in bold throughout counts ``HEADING_SCALE`` times its size: papers and reports set
    their section headings ("1. Introduction") in bold type hardly larger than the body's."""
    sizes: list[Counter[float]] = [Counter()]
    plain = [False]  # whether a line has letters set in a face that is not bold
    for text, size, heavy in runs:
        for number, part in enumerate(text.split("\n")):
            if number:
                sizes.append(Counter())
                plain.append(False)
            if letters := len(part.strip()):
                sizes[-1][round(size, 1)] += letters
                plain[-1] = plain[-1] or not heavy
    return [
        (count.most_common(1)[0][0] * (1.0 if light else HEADING_SCALE)) if count else 0.0
        for count, light in zip(sizes, plain, strict=True)
    ]


def headings(
    text: str, page_starts: list[int], sizes: list[list[float]], skipped: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """(start, end, level) of each heading line (consecutive ones of one size are one heading),
    level 0 the largest type; none when no size stands out from the body's."""
    rows: list[tuple[int, int, float]] = []
    for start, page_end, page_sizes in zip(page_starts, [*page_starts[1:], len(text)], sizes, strict=True):
        cursor = start
        for line, size in zip(text[start:page_end].split("\n"), page_sizes, strict=False):
            rows.append((cursor, cursor + len(line), size))
            cursor += len(line) + 1
        rows.append((page_end, page_end, 0.0))  # a page break: no heading runs over it, no chart
    weight: Counter[float] = Counter()
    for start, end, size in rows:
        weight[size] += len(text[start:end].strip())
    body = weight.most_common(1)[0][0] if weight else 0.0
    left_out = set(skipped)
    chart = _chart_lines(text, rows, body * HEADING_SCALE, left_out)
    found: list[tuple[int, int, float]] = []
    for index, (start, end, size) in enumerate(rows):
        line = text[start:end].strip()
        if (
            size >= body * HEADING_SCALE
            and 0 < len(line) <= HEADING_CHARS
            and any(char.isalpha() for char in line)
            and not SENTENCE_END.search(line)
            and trim(text, start, end) not in left_out
            and not chart[index]
        ):
            if found and found[-1][2] == size and text.count("\n", found[-1][1], start) == 1:
                found[-1] = (found[-1][0], end, size)  # a heading set on two lines
            else:
                found.append((start, end, size))
    if not body or sum(len(text[s:e].strip()) for s, e, _ in found) > HEADING_SHARE * weight.total():
        return []
    # larger type first; in one size, by the depth of the heading's number ("2." above "2.1.")
    keys = [(-size, _depth(text[start:end])) for start, end, size in found]
    ranks = {key: rank for rank, key in enumerate(sorted(set(keys)))}
    return [(*trim(text, start, end), ranks[key]) for (start, end, _), key in zip(found, keys, strict=True)]


def _chart_lines(
    text: str, lines: list[tuple[int, int, float]], large: float, left_out: set[tuple[int, int]]
) -> list[bool]:
    """Which lines are a chart's text: runs of adjacent lines, each a line of figures alone (an
    axis's "1951 1970 1985", " 6%") or a short unpunctuated line set large (``large``: its axis
    title, a legend's "Urban", "Rural"), holding two lines of figures at least. A section's
    number on a line of its own ("4.") or a table's last row before a heading is one line of
    figures, and a page break or a line of body type ends a run."""
    figures = [bool(_FIGURES.fullmatch(text[s:e])) and trim(text, s, e) not in left_out for s, e, _ in lines]
    chart = [False] * len(lines)
    run: list[int] = []
    for index, (start, end, size) in enumerate([*lines, (0, 0, 0.0)]):  # a last line that ends any run
        line = text[start:end].strip()
        label = size >= large and 0 < len(line) <= LABEL_CHARS and not SENTENCE_END.search(line)
        if index < len(lines) and (figures[index] or (label and not _HEADING_NUMBER.match(line))):
            run.append(index)
            continue
        if sum(figures[member] for member in run) >= 2:
            for member in run:
                chart[member] = True
        run = []
    return chart


def _depth(heading: str) -> int:
    """How many parts a heading's number has: "1. Installation" 1, "A.2 Wiring" 2; 1 for one
    without ("Abstract", "References", "II. Method": the sections' level, not above them)."""
    number = _HEADING_NUMBER.match(heading.strip())
    return number.group(1).count(".") + 1 if number else 1
