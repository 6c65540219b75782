"""Pure functions from a document's text to passages with exact character offsets.

Every span returned here satisfies ``start < end`` and slices the original text, so
``text[start:end]`` is what gets cited; nothing is normalised or rewritten.

Trade-offs, admitted:
- Sentences are found by a small regular-expression splitter with an abbreviation list, not a
  trained model: it keeps offsets exact and costs microseconds, and it misses rare cases
  ("Dept. Smith"), which only move a passage boundary by a sentence.
- Token limits are checked with the model's own tokenizer, passed in as ``count_tokens``, so
  a passage never exceeds what the model reads. Word-piece counts are treated as additive
  across words while packing, then every passage is counted for real and split again if the
  estimate was short.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from qa.lang.en import ENGLISH

TokenCounter = Callable[[Sequence[str]], list[int]]


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")
_WORD = re.compile(r"\S+")
_WRAPPED_LINE_MIN = 60
# a line that starts a block of its own: a list item, a heading, a quote, a table row
_BLOCK_START = re.compile(r"[ \t]*(?:[-*+\u2022][ \t]|\d{1,9}[.)][ \t]|#{1,6}[ \t]|>|\|)")
_UNSPLITTABLE = re.compile(r"`[^`\n]+`|!?\[[^\[\]\n]+\]\([^()\s]*\)|\b[a-z][a-z+.-]*://\S+|\bwww\.\S+")
_NEXT_VISIBLE = re.compile(r"\s*(\S)")  # the first character after whitespace (re's \s is str.isspace)
_BREAK_AHEAD = re.compile(r"(?=(\n[ \t\r\f\v\u00a0]*\n))")  # a blank line, found where it opens
_NEWLINE = re.compile(r"\n")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Block:
    """A region of a document: ``kind`` is "body" (chunked) or "heading" (carried as context:
    ``label`` when given, such as a heading's path, else the heading's own words)."""

    start: int
    end: int
    kind: str = "body"
    label: str = ""

    def heading(self, text: str) -> str:
        return self.label or " ".join(text[self.start : self.end].split())


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    heading: str = ""


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past leading and trailing whitespace; empty spans collapse to start."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Non-empty spans separated by blank lines."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        spans.append(trim(text, cursor, match.start()))
        cursor = match.end()
    spans.append(trim(text, cursor, end))
    return [(s, e) for s, e in spans if e > s]


def _is_abbreviation(text: str, period_end: int) -> bool:
    word_start = period_end - 1
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"'\u201c":
        word_start -= 1
    word = text[word_start:period_end].rstrip(".").lower()
    if len(word) == 1 and word.isalpha():
        return True  # an initial, as in "J. Smith"
    return word in ENGLISH.abbreviations


def _widths(lines: Sequence[str], carried: tuple[int, int] = (0, 0)) -> list[int]:
    """Per line, the width its paragraph was hard-wrapped at (the paragraph's longest line), or 0
    where the paragraph is a single line or has no line long enough to have been wrapped.
    ``carried`` is (longest, count) of lines before the first that belong to its paragraph."""
    widths = [0] * len(lines)
    first = 0
    for number in range(len(lines) + 1):
        if number == len(lines) or not lines[number].strip():
            paragraph = lines[first:number]
            widest = max((len(line.rstrip()) for line in paragraph), default=0)
            before_widest, before = carried if first == 0 else (0, 0)
            widest = max(widest, before_widest)
            if len(paragraph) + before > 1 and widest >= _WRAPPED_LINE_MIN:
                widths[first:number] = [widest] * len(paragraph)
            first = number + 1
    return widths


def _line_breaks(text: str, start: int, end: int, carried: tuple[int, int] = (0, 0)) -> list[int]:
    """Offsets just after line breaks that end a line which does not look hard-wrapped.

    A break is a hard wrap when the line is long and ends mid-sentence, when the next line's
    first word would not have fitted on it within its paragraph's width (a greedy wrap before a
    long word or URL), or when the line opens a sentence the next line goes on with
    (:func:`_goes_on`). A break before a blank line, a list item, a heading, a quote or a table
    row is kept."""
    lines = text[start:end].split("\n")
    widths = _widths(lines, carried)
    breaks: list[int] = []
    offset = start
    for number, (line, following) in enumerate(itertools.pairwise(lines)):
        offset += len(line) + 1
        stripped = line.rstrip()
        words = following.split(maxsplit=1)
        long_unended = len(stripped) >= _WRAPPED_LINE_MIN and not ENGLISH.sentence_end.search(stripped + " ")
        greedy = 0 < widths[number] < len(stripped) + 1 + len(words[0]) if words else False
        if (
            not words
            or not (long_unended or greedy or _goes_on(stripped, following))
            or _BLOCK_START.match(following)
        ):
            breaks.append(offset)
    return breaks


_HARD_BREAK = re.compile(r"(?:  |\\)\r?$")


def _soft_breaks(text: str, start: int, end: int) -> list[int]:
    """Offsets just after the line breaks of Markdown prose that end a sentence (``sentences``)."""
    lines = text[start:end].split("\n")
    breaks: list[int] = []
    offset = start
    for line, following in itertools.pairwise(lines):
        offset += len(line) + 1
        if not following.strip() or _BLOCK_START.match(following) or _HARD_BREAK.search(line):
            breaks.append(offset)
    return breaks


_LOWER_START = re.compile(r"\b[a-z]")  # a word that starts lower-case
_LOWER_WORD = re.compile(r"[ \t]*[a-z][a-z'\u2019-]*(?:[,;]|\s|$)")  # a plain lower-case word


def _goes_on(line: str, following: str) -> bool:
    """Whether ``line`` ends in the middle of a sentence that ``following`` goes on with, however
    short the line: the sentence it opens (after its last sentence end) starts with a capital, has
    two words or more and stops on a word or a comma, and the next line starts with a plain
    lower-case word, and it is not a title: every word capitalised, and no lower-case word before
    it on the line ("Installation Guide" or "2. Getting Started" over a command; "... in Geneva.
    The United Nations" goes on). A line
    shortened by markup left out ("Jinja comes with some built-in filters. To use" once a role's
    target is gone) is wrapped, not ended; a code line, which starts lower-case or stops on a
    bracket, an operator or a quote, is not joined to the next."""
    cut = 0
    for match in ENGLISH.sentence_end.finditer(line + " "):
        cut = min(match.end(), len(line))
    opened = line[cut:].strip()
    return (
        opened[:1].isupper()
        and " " in opened
        and not (
            all(word[:1].isupper() for word in opened.split())
            and _LOWER_START.search(line, 0, cut) is None  # "2. Getting Started", "Chapter 1. Usage"
        )
        and (opened[-1].isalnum() or opened[-1] == ",")
        and _LOWER_WORD.match(following) is not None
    )


def _protected(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Inline code, a Markdown link or image, a URL: no sentence ends inside them."""
    return [(m.start(), m.end()) for m in _UNSPLITTABLE.finditer(text, start, end)]


def sentences(
    text: str,
    start: int = 0,
    end: int | None = None,
    carried: tuple[int, int] = (0, 0),
    soft_breaks: bool = False,
) -> list[tuple[int, int]]:
    """Sentence spans within ``text[start:end]``, trimmed of surrounding whitespace; linear in the
    span's length. No sentence crosses a blank line, so splitting from the start of any paragraph
    gives the same sentences from there on (what :class:`SentenceIndex` relies on). ``carried``:
    see ``_widths`` (for a split that starts at a line inside a paragraph). ``soft_breaks``: the
    text is Markdown prose, whose line breaks inside a paragraph are soft (CommonMark joins the
    lines), so a line break ends a sentence only before a blank line, a list item, a heading, a
    quote or a table row, or as a hard break (two spaces or a backslash at the line's end)."""
    end = len(text) if end is None else end
    cuts = set(_soft_breaks(text, start, end) if soft_breaks else _line_breaks(text, start, end, carried))
    for match in ENGLISH.sentence_end.finditer(text, start, end):
        punctuation_end = match.start() + len(match.group(0).rstrip("\"'\u201d\u2019)]"))
        if text[punctuation_end - 1] == "." and _is_abbreviation(text, punctuation_end):
            continue
        following = _NEXT_VISIBLE.match(text, match.end(), end)
        if following and following.group(1).islower():
            continue  # "e.g. something", or an ellipsis inside a sentence
        cuts.add(match.end())
    protected = _protected(text, start, end)  # in order, none overlapping: one to check per cut
    lows = [low for low, _ in protected]
    spans: list[tuple[int, int]] = []
    cursor = start
    for cut in sorted(cuts):
        inside = bisect.bisect_left(lows, cut) - 1  # the last protected span opening before the cut
        if inside >= 0 and cut < protected[inside][1]:
            continue
        spans.append(trim(text, cursor, cut))
        cursor = cut
    spans.append(trim(text, cursor, end))
    return [(s, e) for s, e in spans if e > s]


class SentenceIndex:
    """The paragraph starts and lines of ``text[low:high]``, read once, so that the sentence before
    any offset is found by reading back from it only about as far as that sentence, not to the
    start of its paragraph (which may be the whole text, in one enormous paragraph or line).

    ``sentence_before(position, stop)`` is the last of ``sentences(text, start, stop)``, exactly,
    where ``start`` opens the paragraph holding ``position`` (just after the blank line before it,
    or ``low``): it splits ``text[window:stop]``, doubling the window until it
    holds a sentence boundary, from a start that no split can tell apart from the paragraph's.
    Such a start is a line start (no inline code, URL or sentence end crosses a line break; the
    wrap width of the lines before it is carried), or a space with no line break and no backtick
    between it and ``stop`` (no URL or sentence end holds a space, and no inline code that opens
    before it can close before ``stop``)."""

    WINDOW = 512  # characters read back at first

    def __init__(self, text: str, low: int, high: int) -> None:
        self.text, self.low = text, low
        # where a paragraph can open: just after each blank line, overlapping ones included
        self.breaks = [m.start() + len(m.group(1)) for m in _BREAK_AHEAD.finditer(text, low, high)]
        self.line_ends = [match.start() for match in _NEWLINE.finditer(text, low, high)]
        # per line, (longest, count) of the run of non-blank lines it ends, as ``_widths`` reads them
        self.runs: list[tuple[int, int]] = []
        widest = count = 0
        line_start = low
        for line_end in [*self.line_ends, high]:
            line = text[line_start:line_end]
            widest, count = (max(widest, len(line.rstrip())), count + 1) if line.strip() else (0, 0)
            self.runs.append((widest, count))
            line_start = line_end + 1

    def paragraph_start(self, position: int) -> int:
        """Where the paragraph holding ``position`` opens (just after the blank line before it, or
        ``low``), by bisection."""
        found = bisect.bisect_right(self.breaks, position) - 1
        return self.breaks[found] if found >= 0 else self.low

    def _window_start(self, first: int, stop: int, window: int) -> int | None:
        candidate = stop - window
        if candidate <= first:
            return first
        newline = self.text.find("\n", candidate, stop)
        if newline >= 0:
            return newline + 1
        tick = self.text.rfind("`", candidate, stop)
        space = _SPACE.search(self.text, max(candidate, tick + 1), stop)
        return space.start() if space else None

    def sentence_before(self, position: int, stop: int) -> tuple[int, int] | None:
        """See the class; ``low <= position <= stop <= high`` (the lines are read up to ``high``)."""
        first = self.paragraph_start(position)
        window = max(self.WINDOW, 1)  # doubled until the window holds a boundary or the paragraph
        while True:
            start = self._window_start(first, stop, window)
            window *= 2
            if start is None:
                continue
            carried = (0, 0)
            if start > first and self.text[start - 1] == "\n":  # the run of lines the window opens in
                carried = self.runs[bisect.bisect_left(self.line_ends, start - 1)]
            spans = sentences(self.text, start, stop, carried)
            if start == first or len(spans) > 1:  # the last span opens at a boundary both splits share
                return spans[-1] if spans else None


def longest_fitting(fits: Callable[[int], bool], low: int, high: int, guess: int) -> int:
    """The largest ``x`` in ``[low, high]`` for which ``fits(x)``, taking ``low`` as fitting (it is
    not asked), searched near ``guess``: galloping away from it (steps doubling from a sixteenth
    of the guess's distance from ``low``), then bisecting the last step. Where ``fits`` holds up
    to some point and fails after it, this is that point, found with about two counts per
    doubling of the guess's error: a guess from the previous piece's length is usually within a
    step or two, so cutting a text into pieces costs counts of texts about a piece long."""
    probe = min(max(guess, low), high)
    step = max(1, (probe - low) // 16)
    if probe == low or fits(probe):
        low = probe
        while low + step <= high and fits(low + step):
            low, step = low + step, step * 2
        high = min(high, low + step - 1)
    else:  # high + 1 does not fit, from here on
        high = probe - 1
        while high - step >= low and not fits(high - step + 1):
            high, step = high - step, step * 2
        low = max(low, high - step + 1)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _split_word(text: str, start: int, end: int, count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """Cut one whitespace-free run that alone exceeds ``limit`` into the longest fitting prefixes,
    each searched near the previous one's length (``longest_fitting``), so a run costs time
    linear in its length: bisecting over the whole rest of the run counted megabytes per piece
    (a 97 KB base64 line took 25 s). Where a longer prefix never counts fewer pieces, these are
    the prefixes that bisecting the whole rest finds (a prefix of one character is taken even
    if it does not fit)."""
    pieces: list[tuple[int, int]] = []
    length = 1
    while start < end:

        def fits(prefix_end: int, start: int = start) -> bool:
            return count([text[start:prefix_end]])[0] <= limit

        prefix_end = longest_fitting(fits, start + 1, end, start + length)
        pieces.append((start, prefix_end))
        length, start = prefix_end - start, prefix_end
    return pieces


def _pack(units: Sequence[tuple[int, int]], sizes: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Group consecutive units into spans of at most ``limit`` (estimated), evenly sized."""
    total = sum(sizes)
    if total <= limit:
        return [(units[0][0], units[-1][1])]
    pieces = -(-total // limit)
    target = total / pieces
    spans: list[tuple[int, int]] = []
    group_start, group_size = 0, 0
    for position, size in enumerate(sizes):
        if position > group_start and (group_size + size > limit or group_size >= target):
            spans.append((units[group_start][0], units[position - 1][1]))
            group_start, group_size = position, 0
        group_size += size
    spans.append((units[group_start][0], units[-1][1]))
    return spans


def split_to_limit(text: str, start: int, end: int, count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into spans of at most ``limit`` word pieces: by sentence, then word."""
    if count([text[start:end]])[0] <= limit:
        return [(start, end)]
    # every count is asked in one batch per step (a long paragraph has thousands of sentences)
    found = sentences(text, start, end)
    units: list[tuple[int, int]] = []
    for sentence, size in zip(found, count([text[s:e] for s, e in found]), strict=True):
        if size <= limit:
            units.append(sentence)
            continue
        words = [(match.start(), match.end()) for match in _WORD.finditer(text, *sentence)]
        for word, word_size in zip(words, count([text[s:e] for s, e in words]), strict=True):
            units.extend([word] if word_size <= limit else _split_word(text, *word, count, limit))
    packed = _pack(units, count([text[s:e] for s, e in units]), limit)
    unit_starts = [unit_start for unit_start, _ in units]  # units are in order and do not overlap
    spans: list[tuple[int, int]] = []
    for (packed_start, packed_end), size in zip(packed, count([text[s:e] for s, e in packed]), strict=True):
        if size <= limit:
            spans.append((packed_start, packed_end))
        else:  # additivity fell short; recurse on the smaller span, which has fewer units
            # the units a packed span is made of: from its first unit to its last
            inner = units[
                bisect.bisect_left(unit_starts, packed_start) : bisect.bisect_left(unit_starts, packed_end)
            ]
            if len(inner) == 1:
                spans.extend(_split_word(text, packed_start, packed_end, count, limit))
            else:
                middle = inner[len(inner) // 2][0]
                left_end = trim(text, packed_start, middle)[1]
                spans.extend(split_to_limit(text, packed_start, left_end, count, limit))
                spans.extend(split_to_limit(text, middle, packed_end, count, limit))
    return spans


def chunk_blocks(
    text: str,
    blocks: Iterable[Block],
    count: TokenCounter,
    max_tokens: int,
    min_chars: int = 0,
    heading: str = "",
) -> list[Chunk]:
    """Passages for the body blocks: one per paragraph, short paragraphs merged with the next
    paragraph of the same section while they fit, long ones split by sentence under ``max_tokens``.
    Each chunk carries the heading of its section (``heading`` until the first heading block)."""
    chunks: list[Chunk] = []
    pending: tuple[int, int] | None = None  # a short paragraph waiting for its neighbour

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            chunks.extend(Chunk(s, e, heading) for s, e in split_to_limit(text, *pending, count, max_tokens))
            pending = None

    for block in blocks:
        if block.kind == "heading":
            flush()
            heading = block.heading(text)
            continue
        for paragraph_start, paragraph_end in paragraphs(text, block.start, block.end):
            if pending is not None:
                merged = (pending[0], paragraph_end)
                if count([text[merged[0] : merged[1]]])[0] <= max_tokens:
                    pending = merged
                else:
                    flush()
                    pending = (paragraph_start, paragraph_end)
            else:
                pending = (paragraph_start, paragraph_end)
            if pending[1] - pending[0] >= min_chars:
                flush()
    flush()
    return chunks


def chunk_text(text: str, count: TokenCounter, max_tokens: int, min_chars: int = 0) -> list[Chunk]:
    """Chunks of a whole text, with no heading or boilerplate detection."""
    return chunk_blocks(text, [Block(0, len(text))], count, max_tokens, min_chars)
