"""Passages of a structured document (Markdown, and what is rendered to it) by its parts.

- A passage fills the model's window less its heading path: the model reads the heading path and
  then the passage, so the budget is what the window leaves (a deep path leaves less). Word pieces
  are counted on what the model reads (``markdown.reading``: markup blanked), not on the markup.
- A section's parts (paragraphs, lists, code) are packed in order into passages, so that a
  question about a section ("how do I set a timeout?") is answered by its explanation and its
  example together. A section longer than one passage is cut into passages of even size (the
  fewest that fit, each about the same length), never a full passage and a scrap: a short scrap
  stands alone under the section's heading and wins on the heading's words while holding little
  (on the documentation development set, eval/docs, filling the window with even sizes took
  tuning R@1 from 0.38 to 0.43 and R@3 from 0.62 to 0.68, validation R@3 from 0.59 to 0.67).
- A paragraph that leads into a list or a code block ("You can set a timeout for one request:")
  opens the passage of what it introduces when the two do not fit the passage before. A code
  block that opens a passage without it carries its last sentence in the passage's context.
- Code over the window alone is split between runs of lines (at blank lines), a run over the
  window between lines; a passage holding code is of kind ``code``.
- Tables: kind ``table``, split between rows; every piece carries the header row in its context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.ingest.chunking import TokenCounter, longest_fitting, split_to_limit, trim
from qa.ingest.markdown import Part, plain

PATH_SEPARATOR = " > "
# a heading (an ATX line, or a setext line and its underline; a thematic break is none): between two
# parts under the same heading path ("## Example" twice, a slide and its continuation under the
# same title) it starts another section
_SECTION_BREAK = re.compile(
    r"^ {0,3}#{1,6}(?:[ \t]|$)|^(?=[^\n]*\S)[^\n]*\n {0,3}(?:=+|-+)[ \t]*$", re.MULTILINE
)  # each line scanned once: no backtracking over a long line
_CELL_BREAK = re.compile(r"(?<!\\)\|")  # a pipe between cells; an escaped one (\|) is a cell's own


@dataclass(frozen=True)
class Piece:
    start: int
    end: int
    kind: str
    context: str


@dataclass(frozen=True)
class _Reading:
    """A document's text, what the model reads of it (the same length), and the word-piece counter."""

    text: str
    seen: str
    count: TokenCounter

    def size(self, start: int, end: int) -> int:
        return self.count([self.seen[start:end]])[0]

    def fits(self, start: int, end: int, limit: int) -> bool:
        return self.size(start, end) <= limit


def fit_units(doc: _Reading, units: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Consecutive ``units`` grouped into spans of at most ``limit`` word pieces, split only
    between units; a unit over the limit alone is split by sentence, then word. Each group is
    the longest run of units from its first that fits, searched near the previous group's
    length (``longest_fitting``): a few counts a group, where adding one unit at a time counted
    the group once per unit (a table's rows, a code block's lines)."""
    if units and doc.fits(units[0][0], units[-1][1], limit):
        return [(units[0][0], units[-1][1])]
    groups: list[tuple[int, int]] = []
    first, length = 0, 1
    while first < len(units):
        start, end = units[first]
        if not doc.fits(start, end, limit):
            groups.extend(split_to_limit(doc.text, start, end, doc.count, limit))
            first += 1
            continue

        def fits(last: int, start: int = start) -> bool:
            return doc.fits(start, units[last][1], limit)

        last = longest_fitting(fits, first, len(units) - 1, first + length - 1)
        groups.append((start, units[last][1]))
        first, length = last + 1, last + 1 - first
    return groups


def _context(part: Part, title: str) -> str:
    return PATH_SEPARATOR.join(part.path) if part.path else title


def _budget(doc: _Reading, context: str, window: int) -> int:
    """Word pieces left for a passage's own text once the model has read its context."""
    return max(window - doc.count([context])[0] - 1, window // 2)


def _table(doc: _Reading, part: Part, window: int, title: str) -> list[Piece]:
    text = doc.text
    header, rows = (part.units[0], part.units[1:]) if part.units else ((part.start, part.start), ())
    cells = [plain(cell) for cell in _CELL_BREAK.split(text[header[0] : header[1]].strip().strip("|"))]
    context = " | ".join(item for item in (_context(part, title), *cells) if item)
    limit = _budget(doc, context, window)
    if doc.fits(part.start, part.end, limit):
        return [Piece(part.start, part.end, "table", context)]
    if not rows:  # a header row alone over the window: cut like prose
        spans = split_to_limit(doc.text, part.start, part.end, doc.count, limit)
        return [Piece(start, end, "table", context) for start, end in spans]
    budget = max(limit - doc.size(*header), limit // 2)
    spans = fit_units(doc, rows, budget)
    if doc.fits(header[0], spans[0][1], limit):
        spans[0] = (header[0], spans[0][1])  # the first piece cites the header row too
    else:  # a header too wide to share a passage: pieces of its own
        spans = split_to_limit(doc.text, header[0], header[1], doc.count, limit) + spans
    return [Piece(start, end, "table", context) for start, end in spans]


@dataclass(frozen=True)
class _Unit:
    """What a section's passages are cut between: a part, or a piece of a part over the limit."""

    start: int
    end: int
    kind: str  # "body", "list" or "code"
    part: Part


def _code_units(doc: _Reading, part: Part, limit: int) -> list[tuple[int, int]]:
    """A long code block's pieces: runs of lines between blank lines, a run over the limit by line."""
    lines = part.units or ((part.start, part.end),)
    runs: list[list[tuple[int, int]]] = [[]]
    for line in lines:
        if runs[-1] and doc.text.count("\n", runs[-1][-1][1], line[0]) > 1:
            runs.append([])
        runs[-1].append(line)
    units: list[tuple[int, int]] = []
    for run in runs:
        if doc.fits(run[0][0], run[-1][1], limit):
            units.append((run[0][0], run[-1][1]))
        else:
            units.extend(fit_units(doc, run, limit))
    return units


def _item_pieces(doc: _Reading, part: Part, item: tuple[int, int]) -> list[tuple[int, int]]:
    """A list item too long for a passage, in pieces: its prose between code blocks, and each
    code block's lines (so that it is cut between lines, not inside one)."""
    pieces: list[tuple[int, int]] = []
    position = item[0]
    for code in part.code:
        if item[0] <= code.start and code.end <= item[1]:
            pieces.append(trim(doc.text, position, code.start))
            pieces.extend(code.units)
            position = code.end
    pieces.append(trim(doc.text, position, item[1]))
    return [(start, end) for start, end in pieces if end > start]


def _list_unit(part: Part, start: int, end: int) -> _Unit:
    """A piece of a list: of kind "code" when it holds some of a code block of the list."""
    code = any(block.start < end and start < block.end for block in part.code)
    return _Unit(start, end, "code" if code else "list", part)


def _section_units(doc: _Reading, group: list[Part], limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for part in group:
        if doc.fits(part.start, part.end, limit):
            units.append(
                _list_unit(part, part.start, part.end)
                if part.code
                else _Unit(part.start, part.end, part.kind, part)
            )
        elif part.kind == "code":
            units.extend(_Unit(s, e, "code", part) for s, e in _code_units(doc, part, limit))
        elif part.kind == "list" and part.units:
            items = [
                piece
                for item in part.units
                for piece in ([item] if doc.fits(*item, limit) else _item_pieces(doc, part, item))
            ]
            units.extend(_list_unit(part, s, e) for s, e in fit_units(doc, items, limit))
        else:
            spans = split_to_limit(doc.text, part.start, part.end, doc.count, limit)
            units.extend(_Unit(s, e, "body", part) for s, e in spans)
    return units


def _lead_in(text: str, unit: _Unit | None) -> str:
    """The last sentence of the paragraph before a code block ("Or disable timeouts for a request:")."""
    if unit is None or unit.kind != "body":
        return ""
    words = plain(text[unit.start : unit.end])
    last = words.rstrip(".:").rfind(". ")
    return words[last + 2 :][-300:] if last >= 0 else words[-300:]


def _window(doc: _Reading, units: list[_Unit], first: int, stop: int, title: str) -> Piece:
    """The passage of ``units[first:stop]``."""
    context = _context(units[first].part, title)
    if units[first].kind == "code":
        lead_in = _lead_in(doc.text, units[first - 1] if first else None)
        context = " | ".join(item for item in (context, lead_in) if item)
    kind = "code" if any(unit.kind == "code" for unit in units[first:stop]) else "body"
    return Piece(units[first].start, units[stop - 1].end, kind, context)


def _needed(sizes: list[int], limit: int) -> int:
    """How many passages a section of units of ``sizes`` needs at the fewest (packed greedily)."""
    needed, size = 1, 0
    for unit_size in sizes:
        if size and size + unit_size > limit:
            needed, size = needed + 1, 0
        size += unit_size
    return needed


def _section(doc: _Reading, units: list[_Unit], limit: int, title: str) -> list[Piece]:
    """A section's units in passages of at most ``limit`` word pieces, in order, of even size:
    each passage aims at what is left of the section over the passages left to make."""
    if doc.fits(units[0].start, units[-1].end, limit):
        return [_window(doc, units, 0, len(units), title)]
    sizes = doc.count([doc.seen[unit.start : unit.end] for unit in units])
    needed, left = _needed(sizes, limit), sum(sizes)
    pieces: list[Piece] = []
    first = 0
    while first < len(units):
        target = left / max(needed - len(pieces), 1)
        # the last unit that may join: each one joins while the passage is short of the target
        # and the passage with it fits; the first part is summed, the second searched from it
        cap, size = first, sizes[first]
        while cap + 1 < len(units) and size < target:
            cap += 1
            size += sizes[cap]

        def fits(last: int, first: int = first) -> bool:
            return doc.fits(units[first].start, units[last].end, limit)

        stop = longest_fitting(fits, first, cap, cap) + 1
        leads = units[stop - 1].kind == "body" and stop < len(units) and units[stop].kind in ("code", "list")
        if leads and stop - 1 > first and doc.fits(units[stop - 1].start, units[stop].end, limit):
            stop -= 1  # the paragraph leading into what did not fit opens the next passage with it
        pieces.append(_window(doc, units, first, stop, title))
        left -= sum(sizes[first:stop])
        first = stop
    return pieces


def chunk_parts(
    text: str, seen: str, parts: Sequence[Part], count: TokenCounter, window: int, title: str = ""
) -> list[Piece]:
    """The passages of a structured document's parts, in order (see the module's docstring).
    ``seen`` is what the model reads of ``text`` (``markdown.reading``), ``window`` the most word
    pieces the model reads of a passage, its context included."""
    doc = _Reading(text, seen, count)
    pieces: list[Piece] = []
    group: list[Part] = []

    def flush() -> None:
        if group:
            limit = _budget(doc, _context(group[0], title), window)
            pieces.extend(_section(doc, _section_units(doc, group, limit), limit, title))
        group.clear()

    for part in parts:
        if group and (
            part.kind == "table"
            or part.path != group[-1].path
            or _SECTION_BREAK.search(text, group[-1].end, part.start)
        ):
            flush()
        if part.kind == "table":
            pieces.extend(_table(doc, part, window, title))
        else:
            group.append(part)
    flush()
    return pieces
