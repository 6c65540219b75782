"""Inline markup that regular expressions alone read wrongly: code spans and HTML comments,
paired left to right as CommonMark pairs them, and the style sheets and scripts outside them.
Spans are (start, end) offsets into the string given, in order."""

from __future__ import annotations

import bisect
import html
import itertools
import re

# an HTML element whose content is no text: a style sheet, a script
_OPENING = re.compile(r"<(style|script)\b[^<>]*>", re.IGNORECASE)
_TICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_COMMENT_OPENING = re.compile(r"(?<!\\)<!--")  # an escaped "\<!--" opens nothing


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


def not_text(span: str, skipped: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The style sheets and scripts of ``span``, each from its opening tag to its closing one
    (or the end); an element opened inside one of ``skipped`` (disjoint spans in order: inline
    code, "the `<script>` tag", and comments) is written about or hidden, not used. Linear: an
    opening tag is matched alone, and its closing tag searched for only when it counts."""
    found: list[tuple[int, int]] = []
    position = 0
    for opening in _OPENING.finditer(span):
        if opening.start() < position or within(skipped, opening.start()):
            continue
        closing = re.compile(rf"</{opening.group(1)}\s*>", re.IGNORECASE).search(span, opening.end())
        position = closing.end() if closing else len(span)
        found.append((opening.start(), position))
    return found


def blank(chars: list[str], start: int, end: int) -> None:
    """Replace ``chars[start:end]`` by spaces, line breaks kept (so offsets and lines hold)."""
    for position in range(start, end):
        if chars[position] not in "\r\n":
            chars[position] = " "


def within(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` falls in one of ``spans`` (disjoint, in order)."""
    at = bisect.bisect_right(spans, position, key=lambda span: span[0]) - 1
    return at >= 0 and spans[at][0] <= position < spans[at][1]


_STARS = re.compile(r"\*+")


def emphasis_stars(span: str, skipped: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The runs of asterisks in ``span`` that can be emphasis markers: a run that opens (a
    character other than a space after it) with a run that closes after it on its line, or one
    that closes (not a space before it) with a run that opens before it. The rest are asterisks
    as written: "1.* allows", a table cell "| * |", "2 * 3", a lone "*args". Runs inside the
    ``skipped`` spans (code, comments; in order) are not looked at."""
    found: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\r\n]+", span):
        runs = [
            (m.start(), m.end())
            for m in _STARS.finditer(span, line.start(), line.end())
            if not within(skipped, m.start())
        ]
        if len(runs) < 2:
            continue
        opens = [high < line.end() and not span[high].isspace() for _, high in runs]
        closes = [low > line.start() and not span[low - 1].isspace() for low, _ in runs]
        opened_before = list(itertools.accumulate(opens, lambda a, b: a or b, initial=False))[:-1]
        closed_after = list(itertools.accumulate(closes[::-1], lambda a, b: a or b, initial=False))[:-1][::-1]
        for at, run in enumerate(runs):
            if (opens[at] and closed_after[at]) or (closes[at] and opened_before[at]):
                found.append(run)
    return found


# a terminal session's styling, as docs write their coloured output inside a ```console fence
_STYLING = re.compile(r"</?(?:font|span|b|i|u|strong|em)\b[^<>\n]*>", re.IGNORECASE)
_CONSOLE = re.compile(r"[ \t]*(?:`{3,}|~{3,})[ \t]*(?:console|shell-session|terminal)\b", re.IGNORECASE)
ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")  # "&lt;", "&#10;"


def console_styling(chars: list[str], span: str) -> None:
    """In a terminal session's fence (```console), the HTML that colours its output
    (``<font color=...>``, ``<b>``, ``<span style=...>``) is blanked in ``chars`` and its
    entities ("&apos;", "&lt;") read as the character they stand for, padded with spaces: what
    the terminal showed, not how the page styles it."""
    if not _CONSOLE.match(span):
        return
    for match in _STYLING.finditer(span):
        chars[match.start() : match.end()] = " " * (match.end() - match.start())
    for match in ENTITY.finditer(span):
        character = html.unescape(match.group(0))
        if len(character) == 1 and character.isprintable() and not character.isspace():
            chars[match.start() : match.end()] = character + " " * (match.end() - match.start() - 1)


# a documentation site's macro call (MDN's KumaScript and the like): "{{HTTPHeader("Date")}}",
# "{{Glossary("Simple header", "CORS-safelisted header")}}"; its arguments may run over lines
_MACRO = re.compile(
    r"\{\{[ \t]*[A-Za-z_][\w-]*[ \t]*\(((?:[^(){}\"']|\"[^\"]{0,300}\"|'[^']{0,300}')*)\)[ \t]*\}\}"
)
_ARGUMENT = re.compile(r"\"([^\"]*)\"|'([^']*)'|[^,\s]+")


def macros(span: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(each macro call, the text it shows) of ``span``: a link macro's arguments are its target
    and, when given, the words shown for it, so what a reader sees is the second argument when
    it is a non-empty string, else the first string ((0, 0) when there is none: "{{Compat}}"
    calls no function, "{{EmbedLiveSample(1)}}" shows no words)."""
    found: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for call in _MACRO.finditer(span):
        arguments = [  # by position; a string's is its quotes' content, another's (-1, -1)
            (a.start(1), a.end(1)) if a.group(1) is not None else (a.start(2), a.end(2))
            for a in _ARGUMENT.finditer(span, call.start(1), call.end(1))
        ]
        texts = [a for a in arguments if a[1] > a[0] >= 0]
        second = arguments[1] if len(arguments) > 1 and arguments[1][1] > arguments[1][0] >= 0 else None
        found.append((call.span(), second or (texts or [(0, 0)])[0]))
    return found


# brackets against a word are an index, never a link's: "m[i][j]", "v[0]" (a link opens after a space)
_SUBSCRIPT = re.compile(r"(?<=[A-Za-z0-9])(?:\[(?!\^)[!-Z\\^-~]+\])+(?![(\[])")  # ASCII, no space


def indexes_and_macros(
    span: str, skipped: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """(the macro calls of ``span`` outside ``skipped``, to blank; what of it is read whatever
    markup it looks like: an index's brackets ("m[i][j]") and the words a macro shows, both in order)."""
    indexes = [m.span() for m in _SUBSCRIPT.finditer(span) if not within(skipped, m.start())]
    calls = [(call, shown) for call, shown in macros(span) if not within(skipped, call[0])]
    shown = [(low, high) for _, (low, high) in calls if high > low]
    return [call for call, _ in calls], indexes, shown


def without_macros(text: str) -> str:
    """``text`` less its macro calls: a list of them alone ("- {{HTTPHeader("Expires")}}") is links."""
    ends = [0, *(offset for call, _ in macros(text) for offset in call), len(text)]
    return "".join(text[low:high] for low, high in zip(ends[::2], ends[1::2], strict=True))
