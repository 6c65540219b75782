"""What a lead-in sentence introduces: the code block, list or table that follows a sentence
ending in a colon ("You can set timeouts for an individual request:"), in a document read by its
Markdown structure (Markdown itself, and every format rendered to it: reST, HTML pages, Word,
notebooks).

Documentation answers a how-to question with such a pair: the sentence says what the example
does, the example is the answer. An answer that stops at the colon cites the promise of an
answer, so the reader's answer runs on to the end of the block (``introduced_end``), at most
``MAX_LINES`` lines and ``MAX_CHARS`` characters of it (a code block whole or not at all, and
not one holding only an include line). Only the span grows: the sentence alone was scored, and
the citation stays the exact characters of the document.
"""

from __future__ import annotations

import re

from qa.ingest.chunking import sentences
from qa.ingest.fences import INCLUDE, Fences, fence_after, indent

MAX_LINES = 15  # an introduced block's lines that an answer carries (a longer list or table is cut
MAX_CHARS = 1200  # at a line; a longer code block is not carried: an answer never ends inside a fence)
MAX_BLANKS = 1  # blank lines allowed between the lead-in and its block
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n|$)")


def _lines(text: str, start: int) -> tuple[list[tuple[int, int]], bool]:
    """(start, end) of the lines from ``start`` on (a line break not included), at most a block's
    worth of lines that are not blank plus the blank lines before it and among them (at most
    ``4 * MAX_LINES`` in all), and whether they run to the end of the text."""
    found: list[tuple[int, int]] = []
    position, written = start, 0
    while position < len(text) and written < MAX_LINES + 2 and len(found) < 4 * MAX_LINES:
        match = _LINE.match(text, position)
        assert match is not None  # the pattern matches the empty string
        body = match.group(0).rstrip("\r\n")
        found.append((position, position + len(body)))
        written += bool(body.strip())
        if match.end() == position:
            break
        position = match.end()
    return found, position >= len(text)


def introduced_end(text: str, start: int, end: int, fences: Fences | None = None) -> int:
    """Where the answer ``text[start:end]`` ends once it carries the block it introduces: the end of
    the code block, list or table after it when the sentence ends in a colon and ends its line;
    else ``end`` unchanged. ``fences``: the text's code blocks, when the caller keeps them."""
    if not text[start:end].rstrip().endswith(":"):
        return end
    if (fences or Fences.of(text)).holds(start):
        return end  # a line of code ("Enter your password:") introduces nothing
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[end:line_end].strip():
        return end  # the line goes on after the sentence: what follows is no block of its own
    lead_line = text.rfind("\n", 0, start) + 1
    lead_indent = indent(text[lead_line:end])
    lines, to_the_end = _lines(text, line_end + 1) if line_end < len(text) else ([], True)
    blanks = 0
    while blanks < len(lines) and not text[slice(*lines[blanks])].strip():
        blanks += 1
    if blanks > MAX_BLANKS or blanks == len(lines):
        return end
    body = [text[s:e] for s, e in lines[blanks:]]
    fenced = bool(fence_after(body[0], ""))
    count, code = _block_lines(body, lead_indent, blank_before=blanks > 0, to_the_end=to_the_end)
    while count and (not body[count - 1].strip() or lines[blanks + count - 1][1] - start > MAX_CHARS):
        if code and body[count - 1].strip():
            return end  # a code block too long to carry whole
        count -= 1
        if not code:  # a list cut: never inside a code block of one of its items
            count = _before_open_fence(body, count)
    inner = body[1 : count - 1] if fenced else body[:count]
    if not count or not any(line.strip() and not INCLUDE.match(line) for line in inner):
        return end  # no block, or nothing in it to read ("{{#include ../lib.rs}}")
    return lines[blanks + count - 1][1]


def lead_in_of(
    text: str, low: int, high: int, start: int, end: int, fences: Fences | None = None
) -> tuple[int, int] | None:
    """The answer ``text[start:end]``, a line of a code block in the passage ``text[low:high]``,
    as the lead-in sentence above the block with the block it carries ("Cache results for 10
    minutes:" over "Access-Control-Max-Age: 600"), when that sentence carries it whole; else None
    (a passage that begins inside the block holds no lead-in)."""
    fences = fences or Fences.of(text)
    block = next(((a, b) for a, b in fences.within(low, high) if a <= start < b), None)
    if block is None:
        return None
    before = sentences(text, low, block[0])
    carried = introduced_end(text, *before[-1], fences) if before else 0
    return (before[-1][0], carried) if carried >= block[1] else None


_DESCRIPTION = re.compile(r"[ \t]*(?:[-*+][ \t]+)?:[ \t]+")  # "  - : " (MDN), ": " (a definition list)
_TERM_MARKER = re.compile(r"[ \t]*(?:[-*+][ \t]+)?")
MAX_TERM = 120  # characters of the line above a description that can be its term


def term_of(text: str, low: int, start: int) -> int | None:
    """Where the term starts that the answer ``text[start:...]`` describes, when the answer is in
    the first paragraph of a definition's description ("- `unsafe-none`" over "  - : This is the
    default value.") and the term, with the description up to the answer, is in the passage from
    ``low`` and within ``MAX_CHARS``; else None."""
    line = text.rfind("\n", 0, start) + 1
    while not _DESCRIPTION.match(text, line):  # back over the paragraph's lines, to its first
        if line <= max(low, start - MAX_CHARS) or not text[text.rfind("\n", 0, line - 1) + 1 : line].strip():
            return None
        line = text.rfind("\n", 0, line - 1) + 1
    above = text.rfind("\n", 0, line - 1) + 1
    if not text[above : line - 1].strip() and above > low:  # one blank line between
        above = text.rfind("\n", 0, above - 1) + 1
    term = text[above : line - 1].strip()
    if line <= low or above < low or not term or len(term) > MAX_TERM or _DESCRIPTION.match(term + " "):
        return None
    marker = _TERM_MARKER.match(text, above)  # the term itself, not its list item's marker
    return marker.end() if marker else above


def _before_open_fence(body: list[str], count: int) -> int:
    """``count`` lines of ``body``, or fewer: those before a code fence that they leave open."""
    fence, opened = "", 0
    for number in range(count):
        after = fence_after(body[number], fence)
        if after and not fence:
            opened = number
        fence = after
    return opened if fence else count


def _block_lines(body: list[str], lead_indent: int, blank_before: bool, to_the_end: bool) -> tuple[int, bool]:
    """How many of ``body``'s first lines the block opening it takes (at most ``MAX_LINES``; 0 when
    its first line opens no block or a code block runs on past them), and whether it is code.
    ``to_the_end``: ``body`` runs to the end of the text (a block not ended in it ends there)."""
    first = body[0]
    limit = min(len(body), MAX_LINES)
    fence = fence_after(first, "")
    if fence:
        for number in range(1, limit):
            fence = fence_after(body[number], fence)
            if not fence:
                return number + 1, True
        return 0, True  # it runs on past what an answer carries: not carried, never cut inside
    if _LIST_ITEM.match(first) or _TABLE_ROW.match(first):
        pattern = _LIST_ITEM if _LIST_ITEM.match(first) else _TABLE_ROW
        first_indent = indent(first)
        taken = 1
        for number in range(1, limit):
            line = body[number]
            if not line.strip():
                following = body[number + 1] if number + 1 < len(body) else ""
                if pattern is _TABLE_ROW or not following.strip() or indent(following) < first_indent:
                    break
            elif not (pattern.match(line) and indent(line) >= first_indent) and indent(line) <= first_indent:
                break
            taken = number + 1
        return _before_open_fence(body, taken), False
    if blank_before and indent(first) >= lead_indent + 4:  # an indented code block, whole or not at all
        ended = [n for n, line in enumerate(body) if line.strip() and indent(line) < lead_indent + 4]
        if not ended and not to_the_end:
            return 0, True  # it runs on past the lines read
        taken = ended[0] if ended else len(body)
        while not body[taken - 1].strip():
            taken -= 1
        return (taken if taken <= MAX_LINES else 0), True
    return 0, False
