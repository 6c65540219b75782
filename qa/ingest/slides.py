"""PowerPoint decks (.pptx) rendered to Markdown, the text their citations index (python-pptx).

Each slide is a section: its title is a ``##`` heading (a slide without one is headed "Slide N"),
so the passages under it carry the slide's title as their heading path, and the slide's number
is the page its citations name (``page_starts``, one per slide). Under the heading, in the order
the slide holds them: its text boxes and placeholders, a bulleted placeholder's paragraphs as
list items indented by level, text set in a monospaced font (Consolas, Courier ...) as a code
block, tables as pipe tables, the shapes of a group in turn; then the speaker notes after a
line "Speaker notes:", in the slide's section. Left out: the footer, slide number and date
placeholders (a deck's furniture, on every slide), pictures, charts, SmartArt diagrams, embedded
objects and connectors, empty
paragraphs, and the body of a slide that repeats an earlier one word for word (an outline shown
again before each part: the first is read, the repeat keeps its heading and page).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import archives, escaping
from qa.ingest.renderers import fence, pipe_table

# fonts that set code: a text box whose every run is in one of these is a code block
_MONOSPACED = re.compile(
    r"consola|courier|\bmono(?:space)?\b|menlo|monaco|lucida console|source code|fira code|jetbrains", re.I
)  # "Roboto Mono", "DejaVu Sans Mono"; not "Monotype Corsiva"
_TITLE_TYPES = ("TITLE", "CENTER_TITLE", "VERTICAL_TITLE")
_FURNITURE_TYPES = ("FOOTER", "SLIDE_NUMBER", "DATE", "HEADER")
_BULLETED_TYPES = ("BODY", "OBJECT", "VERTICAL_BODY", "VERTICAL_OBJECT")
NOTES_LEAD = "Speaker notes:"
# the title PowerPoint gives a deck nobody titled: the first slide's title is a better one
_DEFAULT_TITLES = frozenset({"powerpoint presentation"})


def _placeholder(shape: Any) -> str:
    """The name of a placeholder's type ("TITLE", "FOOTER" ...), "" for any other shape."""
    if not getattr(shape, "is_placeholder", False):
        return ""
    kind = shape.placeholder_format.type
    return str(getattr(kind, "name", "") or "")


def _font(run: Any, paragraph: Any, frame: Any) -> str:
    """A run's typeface: its own, else its paragraph's default, else the text box's list style's
    for the paragraph's level (a code box sets Consolas once, there); "" when inherited further."""
    if run.font.name:
        return str(run.font.name)
    found = paragraph._p.xpath("a:pPr/a:defRPr/a:latin/@typeface")
    level = f"a:lvl{min(paragraph.level, 8) + 1}pPr"
    found = found or frame._txBody.xpath(f"a:lstStyle/{level}/a:defRPr/a:latin/@typeface")
    return str(found[0]) if found else ""


def _code(frame: Any) -> bool:
    fonts = [
        _font(run, paragraph, frame)
        for paragraph in frame.paragraphs
        for run in paragraph.runs
        if run.text.strip()
    ]
    return bool(fonts) and all(_MONOSPACED.search(font) for font in fonts)


def _frame(frame: Any, bulleted: bool) -> Iterator[str]:
    """Markdown blocks of a text frame: one code block, list items, or a paragraph each."""
    if _code(frame):
        lines = [paragraph.text.replace("\v", "\n").rstrip() for paragraph in frame.paragraphs]
        while lines and not lines[-1].strip():
            lines.pop()
        yield fence("\n".join(lines))
        return
    items: list[str] = []
    levels: list[int] = []  # the levels of the items the next one may nest under
    for paragraph in frame.paragraphs:
        text = escaping.words(paragraph.text)
        if not text:
            continue
        if bulleted or paragraph.level:
            # nested one step under the last item of a lower level, however deep its level: a list
            # that opens at level 2 is no indented code block
            while levels and levels[-1] >= paragraph.level:
                levels.pop()
            items.append("  " * len(levels) + "- " + escaping.escape(text))
            levels.append(paragraph.level)
        else:
            if items:
                yield "\n".join(items)
                items, levels = [], []
            yield escaping.escape_line(text)
    if items:
        yield "\n".join(items)


def _shape(shape: Any) -> Iterator[str]:
    kind = _placeholder(shape)
    if kind in _TITLE_TYPES or kind in _FURNITURE_TYPES:
        return
    if getattr(shape, "shapes", None) is not None and not getattr(shape, "has_text_frame", False):
        for inner in shape.shapes:  # a group's shapes in turn
            yield from _shape(inner)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = [
            [escaping.escape(escaping.words(cell.text)) for cell in row.cells] for row in shape.table.rows
        ]
        if any(any(cell for cell in row) for row in rows):
            yield pipe_table(rows)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        yield from _frame(shape.text_frame, kind in _BULLETED_TYPES)


def _title(slide: Any) -> str:
    for shape in slide.shapes:
        if _placeholder(shape) in _TITLE_TYPES and shape.has_text_frame:
            return escaping.words(shape.text_frame.text)
    return ""


def _notes(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        return ""
    paragraphs = [escaping.escape_line(p.text) for p in frame.paragraphs if escaping.words(p.text)]
    return "\n\n".join(paragraphs)


def render_pptx(doc_id: str, data: bytes) -> tuple[str, str, list[int]]:
    """(Markdown text, title, the offset where each slide starts) of a .pptx file."""
    import pptx

    archives.check_inflation(doc_id, data, "a PowerPoint file")
    try:
        deck = pptx.Presentation(io.BytesIO(data))
        slides = list(deck.slides)
    except Exception as error:  # python-pptx raises zip, XML and key errors on a broken file
        raise DocumentError(f"{doc_id}: not a readable PowerPoint file ({type(error).__name__})") from error
    text, starts = "", []
    first_title = ""
    shown: set[tuple[str, ...]] = set()  # the bodies of the slides before
    for number, slide in enumerate(slides, 1):
        try:
            title = _title(slide)
            blocks = [block for shape in slide.shapes for block in _shape(shape)]
            notes = _notes(slide)
        except Exception as error:  # a slide whose XML python-pptx cannot read
            raise DocumentError(
                f"{doc_id}: slide {number} could not be read ({type(error).__name__})"
            ) from error
        first_title = first_title or title
        heading = "## " + (escaping.escape(title) if title else f"Slide {number}")
        if notes:
            blocks += [NOTES_LEAD, notes]
        if tuple(blocks) in shown:
            blocks = []  # a slide shown again word for word (an outline before each part) is read once
        shown.add(tuple(blocks))
        starts.append(len(text))
        text += "\n\n".join([heading, *blocks]) + "\n\n"
    if not slides:
        raise DocumentError(f"{doc_id}: the PowerPoint file has no slides")
    title = escaping.words(str(deck.core_properties.title or ""))
    title = first_title if not title or title.lower() in _DEFAULT_TITLES else title
    return text.rstrip("\n") + "\n", title, starts
