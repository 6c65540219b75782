"""The corpus walk names every file it does not index, with the reason."""

from __future__ import annotations

from pathlib import Path

from qa.ingest.corpus import load_corpus


def test_every_file_not_indexed_is_named_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("# A\n\nSome text.\n", encoding="utf-8")
    (tmp_path / "table.xls").write_bytes(b"PK\x03\x04")
    (tmp_path / "README").write_text("no suffix\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00broken")
    (tmp_path / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x\n", encoding="utf-8")
    report = load_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["notes/a.md"]
    reasons = dict(report.skipped)
    assert set(reasons) == {"table.xls", "README", "bad.txt", ".hidden.txt", ".git/"}
    assert reasons["table.xls"].startswith(".xls is not a supported format (supported: ")
    assert ".docx" in reasons["table.xls"] and ".md" in reasons["table.xls"]
    assert "without a suffix" in reasons["README"]
    assert "UTF-8" in reasons["bad.txt"]
    assert reasons[".git/"] == "hidden folder" and reasons[".hidden.txt"] == "hidden file"


def test_parsed_documents_are_reported_as_they_go(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text("Text.\n", encoding="utf-8")
    heard: list[int] = []
    load_corpus(tmp_path, heard.append)
    assert heard == [1, 2, 3]
