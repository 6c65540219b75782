"""A small library of real documents in folders, some with front matter: the corpus the filter
tests ask of (httpx's and Flask's documentation pages from eval/docs, and two notes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from qa.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "eval" / "docs" / "corpus"
HTTPX = ["quickstart.md", "advanced-timeouts.md", "advanced-ssl.md"]
FLASK = ["config.rst", "blueprints.rst", "testing.rst"]
NOTES = {
    "notes/ferry.md": "---\ntitle: Night ferry\nauthor: Ada\nstatus: draft\n---\n\n"
    "The night ferry to the islands leaves at 23:40 from pier seven, every day but Sunday.\n\n"
    "Tickets for the ferry are sold at the pier and cost 12 euros.\n",
    "notes/trips/bridge.md": "---\ntitle: Bridge works\nauthor: Grace\nstatus: final\n---\n\n"
    "The bridge to the islands is closed for repairs until March; the repairs cost 4 million euros.\n\n"
    "During the works the night ferry runs twice as often.\n",
}


def library_copy(base: Path) -> Settings:
    """Settings over ``base/corpus`` (httpx/*.md, flask/*.rst, notes/**), index in ``base/index``."""
    corpus = base / "corpus"
    for folder, names in (("httpx", HTTPX), ("flask", FLASK)):
        (corpus / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(PAGES / folder / name, corpus / folder / name)
    for doc_id, text in NOTES.items():
        path = corpus / doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=base / "index").resolved()
