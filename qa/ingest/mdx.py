"""MDX files (Markdown with JSX: Docusaurus, Nextra, Starlight) rendered to the Markdown they hold.

Their JavaScript ``import``/``export`` statements (to the line where their brackets close and no
operator carries them on) and ``{/* */}`` comments, outside code fences, are replaced by spaces
with line breaks kept, so the rendering has the file's length and lines,
and a citation's lines are the file's. JSX elements are HTML to the Markdown reader, whose tags
the model does not read (``qa.ingest.markdown.view``).
"""

from __future__ import annotations

import re

from qa.ingest.inline import blank

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")  # indented four spaces or more, it is indented code
_ESM = re.compile(r"^(?:import|export)\b")  # MDX's JavaScript module lines, at the top level
# a line a statement goes on after: an open bracket's count is kept; these endings also go on
_CONTINUED = re.compile(r"(?:[,=(\[{+\-*/.?:]|=>|&&|\|\|)[ \t]*$")
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)


def render_mdx(text: str) -> str:
    """An MDX file's text as Markdown (see the module's docstring)."""
    chars = list(text)
    fenced: list[tuple[int, int]] = []
    fence, fence_start, statement, depth, offset = "", 0, False, 0, 0
    for line in text.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fenced.append((fence_start, offset + len(line)))
                fence = ""
        elif opened:
            fence, fence_start = opened.group(1), offset
        elif depth > 0 or statement or _ESM.match(line):
            blank(chars, offset, offset + len(line))
            depth = max(0, depth + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}"))
            statement = depth > 0 or bool(_CONTINUED.search(line.rstrip("\r\n")))
        offset += len(line)
    if fence:
        fenced.append((fence_start, len(text)))
    for match in _JSX_COMMENT.finditer(text):
        if not any(low <= match.start() < high for low, high in fenced):
            blank(chars, match.start(), match.end())
    return "".join(chars)
