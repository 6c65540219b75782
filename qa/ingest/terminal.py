"""Text as a terminal shows it. Text saved from a terminal or a pager (``man ls > ls.txt``, a
build log, groff's output) holds ANSI escape sequences ("ESC[1m" for bold) and overstrikes (a
character, a backspace and the character again for bold, "_" and a backspace for underline).
They stay in the text, which is cited as it is, but are never read: what the model reads has
each word with its visible characters only, closed up at the word's start and padded with
spaces to the same length (``read``), and a title is its visible text (``visible``).
"""

from __future__ import annotations

import re

# ANSI CSI ("ESC[1m", "ESC[24m"), OSC ("ESC]8;;url BEL", a terminal hyperlink), two-character
# escapes, and an overstrike's first character with its backspace (the second is what shows)
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: "ESC[1m", "ESC[2K"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST, or at the line's end
    r"|\x1b[ -/]+[0-~]"  # a character set chosen: "ESC(B" (tput sgr0)
    r"|\x1b[0-~]?"  # two characters ("ESC=", "ESC7"), or an escape left alone
)
_OVERSTRIKE = re.compile(r"([^\n\x08])\x08(?=([^\n\x08]))")


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
    text has it ("ESC[1mmanESC[22m(1)," reads "man(1)," and spaces). A word is a run of
    characters that are not spaces or are inside a control sequence (which may hold spaces)."""
    if not controlled(text):
        return text
    spans = _merged(_hidden(text))
    parts: list[str] = []
    cursor = index = 0
    while index < len(spans):
        word = spans[index][0]
        while word > cursor and not text[word - 1].isspace():
            word -= 1
        first, end = index, spans[index][1]
        while True:  # on to the word's end, over the control sequences inside it
            while end < len(text) and not text[end].isspace():
                if index + 1 < len(spans) and spans[index + 1][0] <= end:
                    break
                end += 1
            if index + 1 < len(spans) and spans[index + 1][0] <= end:
                index += 1
                end = max(end, spans[index][1])
                continue
            break
        shown, at = [], word
        for low, high in spans[first : index + 1]:
            shown.append(text[at:low])
            at = high
        shown.append(text[at:end])
        visible_word = "".join(shown)
        parts += [text[cursor:word], visible_word, " " * (end - word - len(visible_word))]
        cursor, index = end, index + 1
    parts.append(text[cursor:])
    return "".join(parts)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``spans`` with those that overlap or touch made one."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
