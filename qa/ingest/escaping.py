"""Text written into Markdown as text: what Markdown would read as markup, escaped.

The renderers (HTML pages, Word, PowerPoint) write what a file says as Markdown, which the
Markdown reader then reads (``qa.ingest.markdown``). Words that happen to look like markup in the
file ("<Enter>", a backtick, a line starting "1. " in a paragraph) must stay words: a tag-like run
becomes a code span (read as written), a backtick or a backslash is escaped, and a line start that
would open a list, heading, fence or thematic break is escaped. "*", "_" and brackets are left as
written: a backslash before each would show in the cited text, and the reader's view keeps an
escaped character as it is anyway.
"""

from __future__ import annotations

import re

# escaped in text: a backtick (it would pair with a code span's) and a backslash that would escape
# what follows it
_ESCAPED = re.compile(r"`|\\(?=[!-/:-@\[-`{-~]|$)")
_TAG_LIKE = re.compile(r"(<[A-Za-z/!?][^<>]*>)")  # "<string>" would read as a tag
_OPENING = re.compile(r"<(?=[A-Za-z/!?])")  # a "<" that could open one
_LINE_END = re.compile(r"\r\n?|\n")
# a line that is a setext heading's underline, a thematic break, a fence of tildes, a link
# reference definition ("[1]: note"), or a list item's or heading's marker
LINE_START = re.compile(
    r"^(?:=+$|-+$|(?:[*_]\s*){3,}$|~{3,}|\[[^\]]*\]:|[-*+>#](?:\s|$)|\d{1,9}[.)](?:\s|$))"
)


def words(text: str) -> str:
    return " ".join(text.split())


def escape(text: str) -> str:
    """Text with what Markdown would read as markup escaped (``_ESCAPED``), on one line (a
    line break in the source is a space; only a ``<br>`` breaks a line). A run that would read as
    a tag ("<string>", "<Enter>") becomes a code span, which the Markdown reader keeps as written."""
    parts = []
    for position, part in enumerate(_TAG_LIKE.split(_LINE_END.sub(" ", text))):
        if position % 2:
            parts.append(code_span(part))
        else:
            parts.append(_OPENING.sub("\\\\<", _ESCAPED.sub(lambda match: "\\" + match.group(0), part)))
    return "".join(parts)


def tags_as_code(text: str) -> str:
    """Only the runs that would read as a tag ("<Enter>", "<style>") made code spans, lines kept:
    for text whose other markup a parser has already taken (reStructuredText's)."""
    return _TAG_LIKE.sub(lambda match: code_span(match.group(0)), text)


def escape_line(text: str) -> str:
    """``escape``d text that also stays a paragraph: a start that would open a list, heading,
    fence or thematic break is escaped."""
    line = words(escape(text))
    return "\\" + line if LINE_START.match(line) else line


def code_span(text: str) -> str:
    found = words(text)
    if not found:
        return ""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", found)), default=0) + 1)
    pad = " " if found.startswith("`") or found.endswith("`") else ""
    return f"{ticks}{pad}{found}{pad}{ticks}"
