"""Page furniture in text copied from a news page: what is left out of the passages, and why."""

from __future__ import annotations

from qa.ingest.formats import parse
from qa.ingest.layout import analyse
from qa.ingest.passages import build_passages, choose_layout
from tests.conftest import ARTICLE, real_embedder


def test_article_furniture_is_classified_and_metadata_found() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    layout = analyse(text)
    left_out = {text[start:end].split("\n")[0]: why for start, end, why in layout.furniture}
    assert left_out["3 Min Read"] == "reading time"
    assert left_out["Chinese flag waving in front of Shanghai cityscape"] == "caption"
    assert left_out["Related:China Dominates Global Generative AI Patent Filings"] == "related link"
    assert left_out["About the Author(s)"] == "author heading"
    assert left_out["You May Also Like"] == "promo"
    assert layout.fields["author"].value == "Ben Wodecki" and layout.fields["date"].value == "July 8, 2024"
    assert text[layout.fields["bio"].start :].startswith("Ben Wodecki is the Jr. Editor of AI Business")
    body = " ".join(text[b.start : b.end] for b in layout.blocks if b.kind == "body")
    assert "It will be located in the Shanghai Artificial Intelligence Research Institute" in body
    assert [text[b.start : b.end] for b in layout.blocks if b.kind == "heading"] == [
        "UN Industrial AI Center of Excellence"
    ]


def test_plain_prose_has_no_furniture() -> None:
    text = (
        "A note.\n\nThe harbour bridge reopened on Monday after eighteen months of repairs to its cables.\n"
    )
    layout = analyse(text)
    assert all(b.kind == "body" for b in layout.blocks[1:]) and not layout.fields


def test_a_plain_text_first_line_is_its_heading_and_a_web_article_is_detected() -> None:
    title = "A  long title " + "about ferries and tides " * 10
    record = parse(
        "r.txt", f"{title.strip()}\n\nFerries leave at nine. Tides turn at noon.\n".encode(), ".txt"
    )
    assert choose_layout(record, "auto") == "plain"
    encoder = real_embedder()
    [passage] = build_passages(record, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, 0)
    assert passage.text.startswith("Ferries") and passage.context == title.strip()
    article = parse("a.txt", ARTICLE.read_bytes(), ".txt")
    assert choose_layout(article, "auto") == "article"
    assert choose_layout(article, "plain") == "plain"
    forced = parse("f.md", b"---\nlayout: article\n---\n# Notes\n\nText.\n", ".md")
    assert choose_layout(forced, "auto") == "article"
