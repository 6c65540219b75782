"""What a plain-text file carries besides its words: terminal control sequences, pages and their
furniture, and numbered section headings.

- Terminal control sequences: text saved from a terminal or a pager (``man ls > ls.txt``, a
  build log, groff's output) holds ANSI escape sequences ("ESC[1m" for bold) and overstrikes (a
  character, a backspace and the character again for bold, "_" and a backspace for underline).
  They stay in the text, which is cited as it is, but are never read: what the model reads has
  each word with its visible characters only, closed up at the word's start and padded with
  spaces to the same length (``read``), and a title is its visible text (``visible``).
- Pages: a form feed starts a page (RFCs, line-printer manuals), so citations name the page and
  the page's furniture is found as a PDF's is (``qa.ingest.pdf.furniture``: running headers and
  footers, page labels, contents and index lines). A text without form feeds has no pages; its
  contents lines (dot leaders, "Introduction ........ 4") are still furniture.
- Numbered section headings: a line standing alone between blank lines, its first word a section
  number ("1.", "3.2.1.") and the rest a short title that starts with a capital and ends no
  sentence, is a heading whose depth is its number's; it takes three at least in a document to
  count, and a run of such lines with nothing between (a list of steps set one to a paragraph)
  is none.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from qa.ingest import pdf

# ANSI CSI ("ESC[1m", "ESC[24m"), OSC ("ESC]8;;url BEL", a terminal hyperlink), two-character
# escapes, and an overstrike's first character with its backspace (the second is what shows)
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_OVERSTRIKE = re.compile(r"([^\n\x08])\x08(?=([^\n\x08]))")
_NUMBERED = re.compile(r"[ \t]{0,3}(\d{1,3}(?:\.\d{1,3}){0,5})\.?[ \t]+(?=[A-Z0-9])")
_DIGITS = re.compile(r"\d+")
_SPREAD_OR_NUMBER = re.compile(r"\d|\S {3,}\S")
HEADING_CHARS = pdf.HEADING_CHARS
PAGE_GAP = 3  # line breaks between two lines across a page's gap: two blank lines at least
RUNNING = 3  # times a line beside page gaps recurs to be a running header, footer or page label
RUNNING_CHARS = 100  # a longer line is text
FURNITURE_CHARS = 200  # no contents or index line is longer: a longer one is a paragraph
MIN_HEADINGS = 3  # fewer numbered lines are a list's items or chance, not a document's sections


def controlled(text: str) -> bool:
    """Whether ``text`` holds terminal control characters (escape or backspace)."""
    return "\x1b" in text or "\x08" in text


def _hidden(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` a terminal does not show: escape sequences, and of each overstrike
    the backspace and the character that does not show (the underscore of an underlined
    character, written before it or after; else the first, a bold character written twice)."""
    spans = [match.span() for match in _ESCAPE.finditer(text)]
    for match in _OVERSTRIKE.finditer(text):
        first, second = match.group(1), match.group(2)
        start = match.start()
        spans.append((start + 1, start + 3) if second == "_" and first != "_" else (start, start + 2))
    return sorted(spans)


def visible(text: str) -> str:
    """``text`` as a terminal shows it: its control sequences left out."""
    if not controlled(text):
        return text
    shown, cursor = [], 0
    for start, end in _hidden(text):
        shown.append(text[cursor:start] if start > cursor else "")
        cursor = max(cursor, end)
    return "".join(shown) + text[cursor:]


def read(text: str) -> str:
    """``text`` with every word that holds a control sequence replaced by its visible characters,
    closed up at the word's start and padded with spaces: the same length, every word where the
    text has it ("ESC[1mmanESC[22m(1)," reads "man(1)," and spaces)."""
    if not controlled(text):
        return text
    hidden = bytearray(len(text))
    for start, end in _hidden(text):
        hidden[start:end] = b"\x01" * (end - start)
    chars = list(text)
    position = 0
    while position < len(text):
        if not hidden[position] and text[position].isspace():
            position += 1
            continue
        end = position  # a word: non-space characters and control sequences (which may hold spaces)
        while end < len(text) and (hidden[end] or not text[end].isspace()):
            end += 1
        if any(hidden[position:end]):
            shown = [text[i] for i in range(position, end) if not hidden[i]]
            chars[position:end] = shown + [" "] * (end - position - len(shown))
        position = end
    return "".join(chars)


def page_starts(text: str) -> list[int]:
    """Where each page starts, a form feed beginning a page; [] for a text without one."""
    if "\f" not in text:
        return []
    return [0, *(index + 1 for index, char in enumerate(text) if char == "\f" and index + 1 < len(text))]


def furniture(text: str, starts: list[int]) -> list[tuple[int, int]]:
    """Spans of a paged text's running headers and footers, page labels, contents and index lines;
    of an unpaged one, its contents lines."""
    seen = read(text)
    if starts:
        found = pdf.furniture(seen, starts)
    else:
        lines = pdf.lines(seen, 0, len(seen))
        found = sorted({*pdf.contents(seen, lines), *_running(seen, lines)})
    # a paragraph set on one line is text ("Contents ... 158 Model . . . . 160 Use of ... 161")
    found = [(start, end) for start, end in found if end - start <= FURNITURE_CHARS]
    # each a whole line of the text, with the escape sequences that open and close it
    return found if seen is text else [_source_line(text, start, end) for start, end in found]


def _running(seen: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """An unpaged text's running headers, footers and page labels: lines beside a page's gap (two
    blank lines at least, above or below) whose shape, digits aside, recurs so ``RUNNING`` times,
    and that hold a digit or a field set apart ("man-db     v2.11.2     2023-01-08", "- 7 -"):
    a heading repeated between double blank lines ("Example") is none."""
    gaps = [seen.count("\n", 0, lines[0][0]) if lines else 0]
    gaps += [seen.count("\n", before[1], after[0]) for before, after in itertools.pairwise(lines)]
    gaps.append(seen.count("\n", lines[-1][1]) if lines else 0)
    beside = [
        span
        for index, span in enumerate(lines)
        if max(gaps[index], gaps[index + 1]) >= PAGE_GAP
        and span[1] - span[0] <= RUNNING_CHARS
        and _SPREAD_OR_NUMBER.search(seen[span[0] : span[1]])
    ]
    shapes = Counter(_shape(seen[start:end]) for start, end in beside)
    return [(start, end) for start, end in beside if shapes[_shape(seen[start:end])] >= RUNNING]


def _shape(line: str) -> str:
    """A line with its numbers as "#" and its spaces closed up: "Page 3" and "Page 4" are one."""
    return " ".join(_DIGITS.sub("#", line).split())


def headings(text: str, skipped: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Numbered section headings as (start, end, level), level 0 the outermost; none unless
    ``MIN_HEADINGS`` lines qualify (``skipped``: furniture spans, which are never headings)."""
    seen = read(text)
    lines = pdf.lines(seen, 0, len(seen))
    found: list[tuple[int, int, int]] = []
    skip = set(skipped)
    run: list[tuple[int, int, int]] = []  # candidates with nothing but blank lines between
    previous_end = -1
    for index, (start, end) in enumerate(lines):
        candidate = _heading(seen, lines, index)
        if candidate is None or (start, end) in skip:
            continue
        if run and _between_blank(seen, previous_end, start) and candidate[2] == run[-1][2]:
            run.append(candidate)
        else:
            found += run if len(run) == 1 else []
            run = [candidate]
        previous_end = end
    found += run if len(run) == 1 else []
    if len(found) < MIN_HEADINGS:
        return []
    return [(*_source_line(text, start, end), level) for start, end, level in found]


def _heading(seen: str, lines: list[tuple[int, int]], index: int) -> tuple[int, int, int] | None:
    """The heading ``lines[index]`` is, or None: alone between blank lines (or the text's edge),
    numbered, short, capitalised and ending no sentence."""
    start, end = lines[index]
    line_start = seen.rfind("\n", 0, start) + 1
    number = _NUMBERED.match(seen, line_start, end)
    if number is None or end - start > HEADING_CHARS or pdf.SENTENCE_END.search(seen[start:end]):
        return None
    before = lines[index - 1][1] if index else -1
    after = lines[index + 1][0] if index + 1 < len(lines) else len(seen) + 1
    if not _blank_between(seen, before, start) or not _blank_between(seen, end, after):
        return None
    return start, end, number.group(1).count(".")


def _source_line(text: str, start: int, end: int) -> tuple[int, int]:
    """The line of ``text`` around ``start:end`` with its own surrounding space left out: a
    heading's span with the escape sequences that open and close it ("ESC[1m1. IntroESC[0m")."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    return line_start + len(line) - len(line.lstrip()), line_start + len(line.rstrip())


def _blank_between(text: str, end: int, start: int) -> bool:
    """Whether a blank line (or the text's edge) lies between a line ending at ``end`` and one
    starting at ``start``."""
    if end < 0 or start > len(text):
        return True
    return text.count("\n", end, start) >= 2


def _between_blank(text: str, end: int, start: int) -> bool:
    """Whether only blank lines lie between ``end`` and ``start``."""
    return not text[end:start].strip()
