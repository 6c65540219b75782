"""Inline markup that regular expressions alone read wrongly: code spans and HTML comments,
paired left to right as CommonMark pairs them, and the style sheets and scripts outside them.
Spans are (start, end) offsets into the string given, in order."""

from __future__ import annotations

import bisect
import re

# content of an HTML element that is no text: a style sheet, a script
NOT_TEXT = re.compile(r"<(style|script)\b[^<>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_TICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_COMMENT_OPENING = re.compile("<!--")


def code_and_comments(span: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(each inline code span's content, each HTML comment) of ``span``, paired left to right as
    CommonMark pairs them: whichever opens first wins; a run of backticks closes at the next run
    of the same length with no blank line between (else it is literal), and an escaped one opens
    nothing; a comment runs to ``-->`` or the span's end. Linear in the span but for bisections."""
    runs = [(match.start(), match.end()) for match in _TICKS.finditer(span)]
    starts_by_length: dict[int, list[int]] = {}
    for low, high in runs:
        starts_by_length.setdefault(high - low, []).append(low)
    blanks = [match.start() for match in _BLANK_LINE.finditer(span)]
    openings = [match.start() for match in _COMMENT_OPENING.finditer(span)]
    code: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    position, run = 0, 0
    while True:
        while run < len(runs) and runs[run][0] < position:
            run += 1
        following = bisect.bisect_left(openings, position)
        opened = openings[following] if following < len(openings) else -1
        if opened >= 0 and (run == len(runs) or opened < runs[run][0]):
            closed = span.find("-->", opened + 4)
            position = len(span) if closed < 0 else closed + 3
            comments.append((opened, position))
            continue
        if run == len(runs):
            return code, comments
        low, high = runs[run]
        position = high
        if low and span[low - 1] == "\\":
            continue  # an escaped backtick
        same = starts_by_length[high - low]
        after = bisect.bisect_right(same, low)
        if after < len(same):
            close = same[after]
            blank = bisect.bisect_left(blanks, high)
            if blank == len(blanks) or blanks[blank] >= close:
                code.append((high, close))
                position = close + high - low


def not_text(span: str, code: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The style sheets and scripts of ``span`` (an element opened in an inline code span is
    written about, not used: "the `<script>` tag")."""
    found: list[tuple[int, int]] = []
    code_starts = [low for low, _ in code]
    position = 0
    while (match := NOT_TEXT.search(span, position)) is not None:
        inside = bisect.bisect_right(code_starts, match.start()) - 1
        if inside >= 0 and match.start() < code[inside][1]:
            position = match.start() + 1
            continue
        found.append((match.start(), match.end()))
        position = match.end()
    return found


def within(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` falls in one of ``spans`` (disjoint, in order)."""
    at = bisect.bisect_right(spans, position, key=lambda span: span[0]) - 1
    return at >= 0 and spans[at][0] <= position < spans[at][1]
