"""What a plain-text file carries besides its words: terminal control sequences, pages and their
furniture, section headings and a title.

- Terminal control sequences are read as a terminal shows them (``qa.ingest.terminal``).
- Pages: a form feed starts a page (RFCs, line-printer manuals), so citations name the page and
  the page's furniture is found as a PDF's is (``qa.ingest.pdf.furniture``: running headers and
  footers, page labels, contents and index lines). A text without form feeds has no pages; its
  contents lines (dot leaders, "Introduction ........ 4") and the lines that recur beside page
  gaps (a running header after every run of blank lines) are still furniture, and so are the
  rules under underlined headings.
- Headings: underlined ones ("Concepts" over "--------"); numbered ones, a line standing alone
  between blank lines whose first word is a section number ("1.", "3.2.1.") and the rest a short
  title that starts with a capital and ends no sentence, its depth its number's, the numbers in
  sequence (three at least, and a run with nothing between, a list of steps set one to a
  paragraph, is none); and in a text whose lines are mostly indented, the lines set out to the
  left of the next ("NAME" in a manual page, "Abstract" in an RFC). Lengths are what a terminal
  shows and tabs reach the next multiple of eight columns.
- The title: the first line that is no furniture; in a paged text or one with headings set out,
  also no header-block line and no heading set out over an indented body (``title``).
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from typing import Any

from qa.ingest import pdf
from qa.ingest.terminal import read, visible

_SECTION_NUMBER = re.compile(r"(\d{1,3}(?:\.\d{1,3}){0,5})\.?[ \t]")
_NUMBERED = re.compile(r"[ \t]{0,3}(\d{1,3}(?:\.\d{1,3}){0,5})\.?[ \t]+(?=[A-Z0-9])")
_DIGITS = re.compile(r"\d+")
_SPREAD_OR_NUMBER = re.compile(r"\d|\S(?: {3,}|[ \t]*\t[ \t]*)\S")  # a figure, or fields set apart
_LINE = re.compile(r"[^\n]*\S[^\n]*")  # a line with something on it
# a line of one character repeated: an underline (not "_": a footnote's rule in groff's output)
_RULE = re.compile(r"([=\-~^*+#])\1{2,}")
# fields set far apart on one line (by spaces, or tabs as `col -b` writes them): a header block's
_FIELDS = re.compile(r"\S(?: {10,}|[ \t]*\t[ \t]*)\S")
TAB = 8  # columns a tab moves to the next multiple of, as terminals set it
TITLE_COLUMN = 36  # a line starting further right is set at the right of the page, not centred
HEADING_CHARS = pdf.HEADING_CHARS
PAGE_GAP = 3  # line breaks between two lines across a page's gap: two blank lines at least
RUNNING = 3  # times a line beside page gaps recurs to be a running header, footer or page label
RUNNING_CHARS = 100  # a longer line is text
PAGE_LINES = 20  # lines with something on them from one running line to the next, at least
EVEN_SHARE = 2 / 3  # of the distances between running lines near their median: pages are even
FURNITURE_CHARS = 200  # no contents or index line is longer: a longer one is a paragraph
_Underlined = tuple[tuple[int, int, int], list[tuple[int, int]]]  # a heading (start, end, level), its rules
MIN_UNDERLINED = 2  # underlined headings a text needs to be read by them (one is a table's rule)
MIN_HEADINGS = 3  # fewer numbered lines are a list's items or chance, not a document's sections
BODY_INDENT = 3  # columns a manual page's or an RFC's body is set in from its headings, at least
INDENTED_SHARE = 0.6  # of a text's lines indented so, for the lines at the margin to be headings
SUB_INDENT = 5  # a subsection heading is indented less than this (a manual page's body: 7)
OUTDENTED_CHARS = 60  # a longer line set out is text
OUTDENTED_SHARE = 1 / 3  # headings set out, at most, among a text's lines (a glossary's terms are half)


def title(
    text: str, start: int, skipped: list[tuple[int, int]], heads: list[tuple[int, int, int]], set_out: bool
) -> str:
    """A plain text's title: its first line from ``start`` as a terminal shows it, passing over
    furniture (``skipped``); and in a text set out as a manual page or an RFC is (``set_out``:
    paged, or headings set out over an indented body), over those headings (a manual page's
    "NAME") and a header block's lines, which set fields apart ("Network Working Group
    R. Fielding", "TAR(1)   GNU TAR Manual   TAR(1)") or stand at the right ("
    Compaq/W3C"). Elsewhere a line of fields or one set at the right is a title like any."""
    passed = {begin for begin, _ in skipped}
    headings = {begin for begin, _, _ in heads}
    lines = _lines_from(text, start)  # lazily: the title comes early
    current = next(lines, None)
    while current is not None:
        following = next(lines, None)
        begin, column, end = current
        line = visible(text[begin:end]).strip().lstrip("#").strip()
        # a heading set out over an indented body ("NAME") names a section, not the text
        over_body = following is not None and following[1] > column
        header = set_out and (
            (begin in headings and over_body) or _FIELDS.search(line) or column >= TITLE_COLUMN
        )
        if line and begin not in passed and not header:
            return line[:200]
        current = following
    return ""


def _lines_from(text: str, start: int) -> Iterator[tuple[int, int, int]]:
    """The lines of ``text`` from ``start`` with something on them: where each starts (its
    indentation left out), its indentation, and where it ends (its trailing space left out)."""
    for match in _LINE.finditer(text, start):
        line = match.group()
        indent = len(line) - len(line.lstrip())
        yield match.start() + indent, len(line[:indent].expandtabs(TAB)), match.start() + len(line.rstrip())


def page_starts(text: str) -> list[int]:
    """Where each page starts, a form feed beginning a page; [] for a text without one."""
    if "\f" not in text:
        return []
    return [0, *(match.end() for match in re.finditer("\f", text) if match.end() < len(text))]


def analyse(text: str) -> tuple[dict[str, Any], bool]:
    """What a plain text holds besides its words, under the keys the PDF parser uses: where its
    pages start (``page_starts``), its furniture (``furniture``) and its headings as (start, end,
    level) (``pdf_headings``), each key there only when something was found; and whether the
    text is set out as a manual page or an RFC is (paged, or headings set out over an indented
    body), for ``title``."""
    seen = read(text)  # what a terminal shows, the same length
    lines = pdf.lines(seen, 0, len(seen))
    underlined = _underlined(text, seen, lines)
    starts = page_starts(text)
    left_out = _furniture(text, seen, lines, starts, underlined)
    skipped = set(left_out)
    heads, set_out = _headings(text, seen, [span for span in lines if span not in skipped], underlined)
    found: dict[str, Any] = {}
    if starts:
        found["page_starts"] = starts
    if left_out:  # each a whole line of the text, with the escape sequences that open and close it
        found["furniture"] = left_out if seen is text else [_source_line(text, *span) for span in left_out]
    if heads:
        found["pdf_headings"] = [(*_source_line(text, start, end), level) for start, end, level in heads]
    return found, set_out or bool(starts)


def _furniture(
    text: str, seen: str, lines: list[tuple[int, int]], starts: list[int], underlined: list[_Underlined]
) -> list[tuple[int, int]]:
    """Spans of a paged text's running headers and footers, page labels, contents and index lines;
    of an unpaged one, its contents lines and the lines that recur beside page gaps; and the rules
    under underlined headings."""
    if starts:
        found = pdf.furniture(seen, starts, exact=True)
    else:
        short = [(start, end) for start, end in lines if _width(text, seen, start, end) <= FURNITURE_CHARS]
        contents = pdf.contents(seen, short) if ".." in seen or ". ." in seen else []  # a leader's dots
        found = [*contents, *_running(text, seen, lines)]
    found = sorted({*found, *(rule for _, rules in underlined for rule in rules)})
    # a paragraph set on one line is text ("Contents ... 158 Model . . . . 160 Use of ... 161")
    return [(start, end) for start, end in found if _width(text, seen, start, end) <= FURNITURE_CHARS]


def _running(text: str, seen: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """An unpaged text's running headers, footers and page labels: lines beside a page's gap (two
    blank lines at least, above or below) that hold a digit or a field set apart ("man-db
    v2.11.2     2023-01-08", "- 7 -"), whose shape, digits aside, recurs ``RUNNING`` times at
    least, ``PAGE_LINES`` lines apart or more as a rule (a title page is short), and nowhere
    else: a heading repeated between double blank lines ("Example"), a templated entry ("Meeting
    of March 4, 2023") or a log line is none."""
    gaps = [seen.count("\n", 0, lines[0][0]) if lines else 0]
    gaps += [seen.count("\n", before[1], after[0]) for before, after in itertools.pairwise(lines)]
    gaps.append(seen.count("\n", lines[-1][1]) if lines else 0)
    shapes = [
        _shape(seen[start:end]) if _width(text, seen, start, end) <= RUNNING_CHARS else ""
        for start, end in lines
    ]
    beside: dict[str, list[int]] = {}
    for index, (start, end) in enumerate(lines):
        if (
            shapes[index]
            and max(gaps[index], gaps[index + 1]) >= PAGE_GAP
            and _SPREAD_OR_NUMBER.search(seen[start:end])
        ):
            beside.setdefault(shapes[index], []).append(index)
    everywhere = Counter(shapes)
    found = []
    for shape, indexes in beside.items():
        apart = [later - earlier for earlier, later in itertools.pairwise(indexes)]
        alone = len(indexes) == everywhere[shape]  # the shape beside gaps only
        if len(indexes) >= RUNNING and alone and statistics.median(apart) >= PAGE_LINES and _even(apart):
            found += [lines[index] for index in indexes]
    return found


def _even(apart: list[int]) -> bool:
    """Whether lines ``apart`` lines from each other come at a page's pace: most of the distances
    within a quarter of their median (a short title page aside); chapters' headings do not."""
    middle = statistics.median(apart)
    return sum(abs(distance - middle) <= middle / 4 for distance in apart) >= EVEN_SHARE * len(apart)


def _shape(line: str) -> str:
    """A line with its numbers as "#" and its spaces closed up: "Page 3" and "Page 4" are one."""
    return " ".join(_DIGITS.sub("#", line).split())


def _headings(
    text: str, seen: str, lines: list[tuple[int, int]], underlined: list[_Underlined]
) -> tuple[list[tuple[int, int, int]], bool]:
    """Section headings as (start, end, level), level 0 the outermost, among ``lines`` (no
    furniture): underlined ones, which rank the others below them; numbered ones; and in a text
    whose body is indented, the lines set out to the left of it."""
    numbered = _numbered(text, seen, lines)
    outdented = _outdented(text, seen, lines, bool(numbered))
    found = {start: (start, end, level) for start, end, level in outdented}
    found.update({start: heading for heading in numbered for start in heading[:1]})  # its number's depth
    marked = [heading for heading, _ in underlined]
    if len(marked) >= MIN_UNDERLINED:
        depth = 1 + max(level for _, _, level in marked)
        found = {start: (start, end, depth + level) for start, end, level in found.values()}
        found.update({heading[0]: heading for heading in marked})
    return sorted(found.values()), bool(outdented)


def _numbered(text: str, seen: str, lines: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Numbered headings, each alone between blank lines and numbered in sequence (``_follows``:
    one that does not follow the last counts when the next follows it, so a heading missed or
    set irregularly, or a text that starts at "5.2", loses no more than that heading); none
    unless ``MIN_HEADINGS`` qualify."""
    candidates: list[tuple[int, int, tuple[int, ...]]] = []
    run: list[tuple[int, int, tuple[int, ...]]] = []  # candidates with nothing but blank lines between
    previous_end = -1
    for index, (start, end) in enumerate(lines):
        candidate = _heading(text, seen, lines, index)
        if candidate is None:
            continue
        if run and _only_blank_between(seen, previous_end, start) and len(candidate[2]) == len(run[-1][2]):
            run.append(candidate)
        else:
            candidates += run if len(run) == 1 else []
            run = [candidate]
        previous_end = end
    candidates += run if len(run) == 1 else []
    found: list[tuple[int, int, int]] = []
    last: tuple[int, ...] = ()
    waiting: tuple[int, int, tuple[int, ...]] | None = None  # out of sequence, unless the next follows it
    for start, end, number in candidates:
        if _follows(last, number):
            found.append((start, end, len(number) - 1))
            last, waiting = number, None
        elif waiting is not None and _follows(waiting[2], number):
            found += [(waiting[0], waiting[1], len(waiting[2]) - 1), (start, end, len(number) - 1)]
            last, waiting = number, None
        else:
            waiting = (start, end, number)
    return found if len(found) >= MIN_HEADINGS else []


def _follows(last: tuple[int, ...], number: tuple[int, ...]) -> bool:
    """Whether section ``number`` can come next after section ``last`` (``()`` before the first):
    the next at some depth ("2" or "1.3" after "1.2", "2" after "1.2.4"), or a first subsection
    ("1.1" or "1.1.1" after "1"); the parts after the one that moves are 0 or 1. A list's "1",
    "3", "5" (its even items wrapped onto two lines) or a status line's "200" are not."""
    shared = next((k for k, (a, b) in enumerate(zip(last, number, strict=False)) if a != b), None)
    if shared is None:  # one is the start of the other: only a deeper number follows
        shared = len(last)
        if len(number) <= shared:
            return False
        moved = number[shared] <= 1
    else:
        moved = number[shared] == last[shared] + 1
    return moved and all(part <= 1 for part in number[shared + 1 :])


def _underlined(text: str, seen: str, lines: list[tuple[int, int]]) -> list[_Underlined]:
    """Headings underlined with a rule of one repeated character ("Concepts" over "--------",
    and an overline of the same, as reStructuredText and many plain texts set them), a blank
    line or an overline above them, each with its rules' spans: levels by the order each style
    first appears, "=" before "-" as written."""
    styles: dict[tuple[str, bool], int] = {}
    found = []
    for index in range(1, len(lines)):
        (start, end), (rule_start, rule_end) = lines[index - 1], lines[index]
        rule = seen[rule_start:rule_end]
        if not (
            _RULE.fullmatch(rule)
            and seen.count("\n", end, rule_start) == 1
            and rule_end - rule_start >= max(3, _width(text, seen, start, end) // 2)
            and _width(text, seen, start, end) <= HEADING_CHARS
            and any(char.isalpha() for char in seen[start:end])
            and not _RULE.fullmatch(seen[start:end])
        ):
            continue
        over = lines[index - 2] if index >= 2 else None
        overlined = over is not None and seen[over[0] : over[1]] == rule
        overlined = overlined and over is not None and seen.count("\n", over[1], start) == 1
        if not overlined and not _blank_between(seen, over[1] if over else -1, start):
            continue  # a paragraph's last line over a rule, not a heading, which opens its block
        rules = [over, (rule_start, rule_end)] if overlined and over else [(rule_start, rule_end)]
        level = styles.setdefault((rule[0], overlined), len(styles))
        found.append(((start, end, level), rules))
    return found


def _outdented(
    text: str, seen: str, lines: list[tuple[int, int]], numbered: bool
) -> list[tuple[int, int, int]]:
    """In a text whose lines are mostly indented (a manual page, an RFC), a short line with a
    letter, ending no sentence, whose next line is indented further (``NAME`` over "       tar -
    an archiving utility"): level 0 at the margin; level 1 indented less than ``SUB_INDENT`` (a
    manual page's "   Traditional usage"), unless the text numbers its sections (an RFC's indented
    lines over further ones are a reference's or a term's). None unless ``MIN_HEADINGS``
    qualify, nor when they would be more than ``OUTDENTED_SHARE`` of the lines (a glossary)."""
    indents = [len(seen[seen.rfind("\n", 0, start) + 1 : start].expandtabs(TAB)) for start, _ in lines]
    if sum(indent >= BODY_INDENT for indent in indents) < INDENTED_SHARE * len(lines):
        return []
    found = []
    for index, (start, end) in enumerate(lines[:-1]):
        indent, line = indents[index], seen[start:end]
        if (
            indents[index + 1] >= indent + BODY_INDENT
            and (indent == 0 or (indent < SUB_INDENT and not numbered))
            and _width(text, seen, start, end) <= OUTDENTED_CHARS
            and not pdf.SENTENCE_END.search(line)
            and any(char.isalpha() for char in line)
        ):
            number = _SECTION_NUMBER.match(line)  # "3.2.2 http URL": its number's depth
            found.append((start, end, number.group(1).count(".") if number else 0 if indent == 0 else 1))
    return found if MIN_HEADINGS <= len(found) <= OUTDENTED_SHARE * len(lines) else []


def _heading(
    text: str, seen: str, lines: list[tuple[int, int]], index: int
) -> tuple[int, int, tuple[int, ...]] | None:
    """The heading ``lines[index]`` is, or None: alone between blank lines (or the text's edge),
    numbered, short, capitalised and ending no sentence."""
    start, end = lines[index]
    line_start = seen.rfind("\n", 0, start) + 1
    number = _NUMBERED.match(seen, line_start, end)
    if (
        number is None
        or _width(text, seen, start, end) > HEADING_CHARS
        or pdf.SENTENCE_END.search(seen[start:end])
    ):
        return None
    before = lines[index - 1][1] if index else -1
    after = lines[index + 1][0] if index + 1 < len(lines) else len(seen) + 1
    if not _blank_between(seen, before, start) or not _blank_between(seen, end, after):
        return None
    return start, end, tuple(int(part) for part in number.group(1).split("."))


def rule(line: str) -> bool:
    """Whether ``line`` is a rule that underlines a heading ("--------")."""
    return _RULE.fullmatch(visible(line).strip()) is not None


def _width(text: str, seen: str, start: int, end: int) -> int:
    """How many characters the line at ``start:end`` of ``seen`` shows: its length, or in a text
    with control sequences, its visible text's (a word overstruck in bold is three times as long)."""
    if seen is text:
        return end - start
    low, high = _source_line(text, start, end)
    return len(visible(text[low:high]))


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


def _only_blank_between(text: str, end: int, start: int) -> bool:
    """Whether nothing but blank lines lies between ``end`` and ``start`` (``_blank_between``:
    whether one blank line at least does)."""
    return not text[end:start].strip()
