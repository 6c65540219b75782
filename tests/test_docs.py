"""The documentation holds together: README.md is a short front door, docs/ is the manual, and
every relative Markdown link in them points at a file that exists and, for ``#anchor`` links into
Markdown files, at a heading that exists under GitHub's slug rules.

Standard library only: links are found by regular expressions outside fenced code blocks and
inline code spans, which is what the pages use (inline links, images, reference definitions).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 300
DOCS_MIN_PAGES = 4

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
# [text](target) and ![alt](target); the target may be <bracketed> and may carry a "title".
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:name|id)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> list[str]:
    """The text's lines, with fenced code blocks blanked (line numbers kept)."""
    lines = text.splitlines()
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            out.append("")
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return out


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every inline link, image and reference definition."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(prose(text), start=1):
        line = _INLINE_CODE.sub("", line)
        targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
        targets += [m.group(1) for m in _REFERENCE.finditer(line)]
        for target in targets:
            found.append((number, target[1:-1] if target.startswith("<") else target))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lowercased, with every character that is not
    a letter, mark, number, connector (``_``), space or hyphen removed, and spaces turned to hyphens."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # images: their alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "")
    text = re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text)  # emphasis markers, not snake_case
    kept = [
        char
        for char in text.lower()
        if char in " -" or unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) == "Pc"
    ]
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file offers: its headings' slugs (repeats get -1, -2, …) and
    explicit ``<a name|id="…">`` anchors."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in prose(path.read_text(encoding="utf-8")):
        found.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        found.add(base if seen == 0 else f"{base}-{seen}")
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """One message per relative link of ``page`` that does not resolve."""
    problems: list[str] = []
    for number, target in links(page.read_text(encoding="utf-8")):
        where = f"{page.relative_to(root)}:{number}: {target!r}"
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("//"):
            continue  # http:, https:, mailto: … are not checked here
        if not target:
            problems.append(f"{where}: empty link")
            continue
        path_part = unquote(parts.path)
        if path_part.startswith("/"):
            problems.append(f"{where}: absolute path; use a path relative to the page")
            continue
        destination = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not destination.is_relative_to(root.resolve()):
            problems.append(f"{where}: leaves the repository")
            continue
        if not destination.exists():
            problems.append(f"{where}: no file {destination.relative_to(root.resolve())}")
            continue
        if parts.fragment and destination.suffix.lower() == ".md":
            fragment = unquote(parts.fragment)
            if fragment not in anchors(destination):
                problems.append(f"{where}: no heading with anchor #{fragment} in {destination.name}")
    return problems


# --- the checker itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Two commands", "two-commands"),
        (
            "The query path (`bench/query.py`, `bench/serving.py`)",
            "the-query-path-benchquerypy-benchservingpy",
        ),
        ("Scale-out on Ray (`bench/ray_bench.py`)", "scale-out-on-ray-benchray_benchpy"),
        ("Sizing for 10M passages", "sizing-for-10m-passages"),
        (
            "qa — answers from your documents, cited to the character",
            "qa--answers-from-your-documents-cited-to-the-character",
        ),
        ("What **is** [this](x.md)?", "what-is-this"),
        ("Today's modules", "todays-modules"),
        ("Ünïcode stays", "ünïcode-stays"),
    ],
)
def test_slug_follows_github(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_the_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A section\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md) [fine anchor](other.md#a-section) [repeat](other.md#a-section-1)\n"
        "[here](#page) [web](https://example.com/missing.md) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n"
        "[missing file](missing.md)\n"
        "[missing anchor](other.md#no-such-section)\n"
        "![missing image](../img/none.png)\n"
        "[outside](../../elsewhere.md)\n"
        "[ref]: gone.md\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 5, problems
    named = " ".join(problems)
    assert all(word in named for word in ("missing.md", "no-such-section", "none.png", "gone.md"))
    assert any("leaves the repository" in problem for problem in problems)
    assert not any("fenced" in problem or "example.com" in problem for problem in problems)


# --- the documentation ----------------------------------------------------------------------------


def test_readme_is_a_short_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"


def test_docs_has_enough_pages() -> None:
    manual = [page for page in DOCS.glob("*.md") if page.name != "README.md"]
    assert len(manual) >= DOCS_MIN_PAGES, f"docs/ has {len(manual)} pages besides its index"


def test_every_docs_page_is_listed_in_the_index_and_the_readme() -> None:
    for index in (DOCS / "README.md", README):
        targets = {
            (index.parent / unquote(urlsplit(target).path)).resolve()
            for _, target in links(index.read_text(encoding="utf-8"))
            if not urlsplit(target).scheme
        }
        manual = [page for page in DOCS.glob("*.md") if page.name != "README.md"]
        unlisted = [page.name for page in manual if page.resolve() not in targets]
        assert not unlisted, f"{index.relative_to(ROOT)} does not link {unlisted}"


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, "\n".join(problems)
