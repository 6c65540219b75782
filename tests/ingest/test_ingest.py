"""Ingestion without HTTP: doc_id rules, and stored changes that undo exactly (files and folders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.core import errors
from qa.ingest import uploads as ingest


@pytest.mark.parametrize(
    "doc_id",
    [
        "../x.txt",
        "/etc/passwd",
        "a\\b.txt",
        "a\x00.txt",
        "a//b.txt",
        "./a.txt",
        "a/.b.txt",
        "a.exe",
        "",
        "x" * 250 + ".md",
    ],
)
def test_unsafe_doc_ids_are_refused(doc_id: str) -> None:
    with pytest.raises(errors.InvalidDocId):
        ingest.clean_doc_id(doc_id)


@pytest.mark.parametrize("doc_id", ["a.txt", "news/2024/a.md", "Page.HTML", "r.pdf", "café notes.txt"])
def test_plain_doc_ids_pass(doc_id: str) -> None:
    assert ingest.clean_doc_id(doc_id) == doc_id


def test_default_doc_ids() -> None:
    assert ingest.default_doc_id("Harbour Bridge: Café reopens!", "x") == "harbour-bridge-cafe-reopens.md"
    assert ingest.default_doc_id(None, "some text").startswith("doc-")
    assert ingest.default_doc_id("日本", "some text") == ingest.default_doc_id(None, "some text")


def test_a_new_file_in_new_folders_undoes_to_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    prepared = ingest.prepare(corpus, "a/b/note.md", b"# Note\n\nSome text.\n", 1000, {})
    change = ingest.store(prepared)
    assert (corpus / "a" / "b" / "note.md").read_bytes() == b"# Note\n\nSome text.\n"
    assert sorted(p.name for p in corpus.rglob("*")) == ["a", "b", "note.md"]  # no temporary file left
    change.undo()
    assert list(corpus.iterdir()) == []


def test_a_replaced_or_removed_file_undoes_to_its_old_bytes(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"old text\r\n")
    change = ingest.store(ingest.prepare(tmp_path, "note.txt", b"new text\n", 1000, {}))
    assert path.read_bytes() == b"new text\n"
    change.undo()
    assert path.read_bytes() == b"old text\r\n"
    removal = ingest.remove(path)
    assert not path.exists()
    removal.undo()
    assert path.read_bytes() == b"old text\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["note.txt"]
