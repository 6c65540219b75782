"""Filter syntax and matching (``qa.core.filters``): globs on doc_id, front-matter fields, refusals."""

from __future__ import annotations

import pickle

import pytest

from qa.core.errors import InvalidFilter
from qa.core.filters import PIPELINE_KEYS, Filter, document_fields, make_filter, meta_pairs
from qa.ingest.formats import RESERVED_METADATA, parse_text

DOC_IDS = ["a.md", "docs/a.md", "docs/b.txt", "docs/x/a.md", "docs/x/y/c.md", "other/docs/a.md"]


def matching(glob: str | list[str]) -> list[str]:
    only = make_filter(glob)
    assert only is not None
    return [doc_id for doc_id in DOC_IDS if only.matches(doc_id, {})]


def test_a_star_stays_in_its_folder_and_two_cross_folders() -> None:
    assert matching("docs/*") == ["docs/a.md", "docs/b.txt"]
    assert matching("docs/*.md") == ["docs/a.md"]
    assert matching("docs/**") == ["docs/a.md", "docs/b.txt", "docs/x/a.md", "docs/x/y/c.md"]
    assert matching("docs/**/*.md") == ["docs/a.md", "docs/x/a.md", "docs/x/y/c.md"]
    assert matching("**/a.md") == ["a.md", "docs/a.md", "docs/x/a.md", "other/docs/a.md"]
    assert matching("*.md") == ["a.md"]
    assert matching("docs/?.md") == ["docs/a.md"]
    assert matching("docs/a.md") == ["docs/a.md"]  # a plain doc_id matches itself only
    assert matching(["a.md", "docs/b.txt"]) == ["a.md", "docs/b.txt"]  # any glob
    assert matching("docs/[ab].md") == []  # brackets are literal characters, not a class


def test_globs_that_would_make_a_regex_backtrack_match_at_once() -> None:
    """Each run of text after a * is taken at its first occurrence, atomically (a regular
    expression of 40 ``.*`` runs would take longer than the universe's age on these)."""
    assert not make_filter("*a" * 40 + "b").matches("a" * 500, {})  # type: ignore[union-attr]
    assert make_filter("*a" * 40 + "*").matches("a" * 500, {})  # type: ignore[union-attr]
    deep = make_filter("/".join(["**", "*a*a*a*b"] * 6))
    assert deep is not None and not deep.matches("/".join(["a" * 60] * 12), {})
    assert deep.matches("/".join(["x", "aaab"] * 6), {})
    assert not make_filter(meta={"t": "*a" * 40 + "b"}).matches("x", {"t": "a" * 900})  # type: ignore[union-attr]


def test_meta_fields_match_exactly_or_as_a_glob_and_every_key_must_match() -> None:
    fields = {"author": "Ada Lovelace", "status": "draft", "title": "Notes"}
    assert make_filter(meta={"author": "Ada Lovelace"}).matches("x.md", fields)  # type: ignore[union-attr]
    assert not make_filter(meta={"author": "Ada"}).matches("x.md", fields)  # type: ignore[union-attr]
    assert make_filter(meta={"author": "Ada*"}).matches("x.md", fields)  # type: ignore[union-attr]
    assert make_filter(meta={"AUTHOR": "Ada*", "status": ["final", "draft"]}).matches("x.md", fields)  # type: ignore[union-attr]
    assert not make_filter(meta={"author": "Ada*", "status": "final"}).matches("x.md", fields)  # type: ignore[union-attr]
    assert not make_filter(meta={"lang": "en"}).matches("x.md", fields)  # type: ignore[union-attr]
    both = make_filter("docs/*", {"status": "draft"})
    assert both is not None and both.matches("docs/x.md", fields) and not both.matches("x.md", fields)


def test_equal_filters_are_one_cache_key_and_travel_to_shards() -> None:
    first = make_filter(["b/*", "a/**", "b/*"], [("Lang", "en")])
    second = make_filter(["a/**", "b/*"], {"lang": "en"})
    assert first == second and hash(first) == hash(second) and first is not None
    assert first.matches("a/x/y.md", {"lang": "en"})  # the compiled pattern is cached on the filter
    assert pickle.loads(pickle.dumps(first)) == first
    assert make_filter() is None and make_filter([], {}) is None and not Filter()
    assert first.describe() == "doc=a/**, doc=b/*, meta.lang=en"


@pytest.mark.parametrize(
    ("doc", "meta", "message"),
    [
        ("", None, "empty"),
        ("  ", None, "empty"),
        ("docs/***", None, "***"),
        ("docs/**.md", None, "whole folders"),
        ("a\x00b", None, "control"),
        ("x" * 1001, None, "limit"),
        (None, {"": "x"}, "empty"),
        (None, {"au thor": "x"}, "front-matter field name"),
        (None, {"page_starts": "1"}, "set by qa"),
        (None, {"author": ""}, "meta.author"),
        ([f"d{i}/*" for i in range(65)], None, "limit"),
    ],
)
def test_bad_filters_are_refused_saying_what_to_write(doc: object, meta: object, message: str) -> None:
    with pytest.raises(InvalidFilter, match=message.replace("*", r"\*")):
        make_filter(doc, meta)  # type: ignore[arg-type]


def test_meta_pairs_from_the_command_line() -> None:
    assert meta_pairs(["author=Ada", "title=a=b"]) == [("author", "Ada"), ("title", "a=b")]
    with pytest.raises(InvalidFilter, match="KEY=VALUE"):
        meta_pairs(["author"])


def test_fields_are_the_title_and_front_matter_not_what_the_pipeline_sets() -> None:
    document = parse_text(
        "notes/x.md", "---\ntitle: X\nAuthor: Ada\n---\n\n# Heading\n\nText.\n", {"structure": "markdown"}
    )
    assert document_fields(document.title, document.metadata) == {"author": "Ada", "title": "X"}
    assert RESERVED_METADATA - {"title"} <= PIPELINE_KEYS
