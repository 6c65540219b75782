"""Passages of a structured document (Markdown, and what is rendered to it) by its parts.

- A section's text and code are packed in order into passages while they fit the limit: a
  question about a section ("how do I set a timeout?") is answered by its explanation and its
  example together, which as separate passages each held half of the answer (on the documentation
  development set, eval/docs, tuning R@1 rose from 0.26 to 0.38). A code block that does not fit
  beside the text before it opens a passage with the paragraph introducing it when those two fit,
  else alone, whole, with that paragraph's last sentence in its context. A list stays with the
  paragraph leading into it.
- Code over the limit alone is split only between lines; a passage holding code is of kind
  ``code``, and the model reads its code as written and its prose without markup.
- Tables: kind ``table``, split between rows; every piece carries the header row in its context.
- Every passage carries its heading path ("Chapter > Section") as context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.ingest.chunking import TokenCounter, split_to_limit
from qa.ingest.markdown import Part, plain, view

PATH_SEPARATOR = " > "


@dataclass(frozen=True)
class Piece:
    start: int
    end: int
    kind: str
    context: str
    code: tuple[tuple[int, int], ...] = ()  # spans of code inside a passage that also holds prose


def _fits(text: str, start: int, end: int, count: TokenCounter, limit: int) -> bool:
    return count([text[start:end]])[0] <= limit


def fit_units(
    text: str, units: Sequence[tuple[int, int]], count: TokenCounter, limit: int
) -> list[tuple[int, int]]:
    """Consecutive ``units`` grouped into spans of at most ``limit`` word pieces, split only
    between units; a unit over the limit alone is split by sentence, then word."""
    if units and _fits(text, units[0][0], units[-1][1], count, limit):
        return [(units[0][0], units[-1][1])]
    groups: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for unit in units:
        if current and _fits(text, current[0][0], unit[1], count, limit):
            current.append(unit)
            continue
        if current:
            groups.append((current[0][0], current[-1][1]))
            current = []
        if _fits(text, *unit, count, limit):
            current = [unit]
        else:
            groups.extend(split_to_limit(text, *unit, count, limit))
    if current:
        groups.append((current[0][0], current[-1][1]))
    return groups


def _context(part: Part, title: str) -> str:
    return PATH_SEPARATOR.join(part.path) if part.path else title


def _table(text: str, part: Part, count: TokenCounter, limit: int, title: str) -> list[Piece]:
    header, rows = (part.units[0], part.units[1:]) if part.units else ((part.start, part.start), ())
    cells = [plain(cell) for cell in text[header[0] : header[1]].strip().strip("|").split("|")]
    context = " | ".join(item for item in (_context(part, title), *cells) if item)
    if _fits(text, part.start, part.end, count, limit) or not rows:
        return [Piece(part.start, part.end, "table", context)]
    budget = max(limit - count([text[header[0] : header[1]]])[0], limit // 2)
    spans = fit_units(text, rows, count, budget)
    spans[0] = (header[0], spans[0][1])  # the first piece cites the header row too
    return [Piece(start, end, "table", context) for start, end in spans]


def _code(text: str, part: Part, count: TokenCounter, limit: int, title: str, lead_in: str) -> list[Piece]:
    """Code, whole or split between lines; the sentence that introduced it is in its context."""
    units = part.units or ((part.start, part.end),)
    if _fits(text, part.start, part.end, count, limit):
        units = ((part.start, part.end),)
    context = " | ".join(item for item in (_context(part, title), lead_in) if item)
    return [Piece(s, e, "code", context) for s, e in fit_units(text, units, count, limit)]


def _lead_in(text: str, part: Part | None) -> str:
    """The last sentence of the paragraph before a code block ("Or disable timeouts for a request:")."""
    if part is None or part.kind != "body":
        return ""
    words = plain(text[part.start : part.end])
    last = words.rstrip(".:").rfind(". ")
    return words[last + 2 :][-300:] if last >= 0 else words[-300:]


def _prose(text: str, group: list[Part], count: TokenCounter, limit: int, title: str) -> list[Piece]:
    units: list[tuple[int, int]] = []
    for part in group:
        units.extend(part.units if part.kind == "list" and part.units else [(part.start, part.end)])
    context = _context(group[0], title)
    return [Piece(s, e, "body", context) for s, e in fit_units(text, units, count, limit)]


def _introduction(text: str, part: Part, pending: list[Part], count: TokenCounter, limit: int) -> Part | None:
    """The paragraph before a code block ("You can set a timeout for one request:"), when the
    two fit one passage: an example and the sentence saying what it does answer together."""
    if part.kind != "code" or not pending or pending[-1].kind != "body" or pending[-1].path != part.path:
        return None
    last = pending[-1]
    return last if _fits(text, last.start, part.end, count, limit) else None


def _packed(group: list[Part], title: str) -> Piece:
    """One passage of several parts of a section, which fit together."""
    code = tuple((part.start, part.end) for part in group if part.kind == "code")
    return Piece(group[0].start, group[-1].end, "code" if code else "body", _context(group[0], title), code)


def chunk_parts(
    text: str, parts: Sequence[Part], count: TokenCounter, limit: int, min_chars: int, title: str = ""
) -> list[Piece]:
    """The passages of a structured document's parts, in order (see the module's docstring).
    ``min_chars`` is unused: the parts of a section are packed while they fit, short or not."""
    pieces: list[Piece] = []
    pending: list[Part] = []
    lead_in = ""  # for a code block alone in its passage: the sentence before it
    previous: Part | None = None

    def flush() -> None:
        if len(pending) == 1 and pending[0].kind == "code":
            pieces.extend(_code(text, pending[0], count, limit, title, lead_in))
        elif any(part.kind == "code" for part in pending):
            pieces.append(_packed(pending, title))
        elif pending:
            pieces.extend(_prose(text, pending, count, limit, title))
        pending.clear()

    for part in parts:
        if pending and (part.kind == "table" or part.path != pending[-1].path):
            flush()
        if part.kind == "table":
            pieces.extend(_table(text, part, count, limit, title))
        elif not pending or _fits(text, pending[0].start, part.end, count, limit):
            pending.append(part)
        elif part.kind == "list" and pending[-1].kind == "body":
            # a list stays with the paragraph leading into it, split between items if need be
            lead = pending.pop()
            flush()
            pending.extend([lead, part])
        else:
            introduced = _introduction(text, part, pending, count, limit)
            if introduced is not None:
                pending.pop()
            flush()
            pending.extend([introduced, part] if introduced is not None else [part])
        if len(pending) == 1 and pending[0] is part and part.kind == "code":
            same_section = previous is not None and previous.path == part.path
            lead_in = _lead_in(text, previous if same_section else None)
        previous = part
    flush()
    return pieces


def piece_view(text: str, piece: Piece) -> str:
    """What the model reads of a piece: code as written, everything else with markup blanked."""
    if piece.kind == "code" and not piece.code:
        return text[piece.start : piece.end]
    seen = view(text, piece.start, piece.end)
    for start, end in piece.code:
        seen = seen[: start - piece.start] + text[start:end] + seen[end - piece.start :]
    return seen
