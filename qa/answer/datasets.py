"""Labelled public data for training and measuring readers, as documents the service indexes.

- SQuAD 2.0 (JSON as released): one document per article (its title as front matter, its
  paragraphs separated by blank lines), each question with the document offsets where its answers
  start (an unanswerable question keeps its "plausible" answer's start, which no sentence answers).
- WikiQA (JSONL: id, question, title, sentences, labels): one document per question, the page
  summary's sentences joined by spaces, each sentence's document span and label kept.

Documents go through the service's own parser for plain text (``qa.ingest.formats.parse``), so
what is indexed, chunked and read is what a user's file would give.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.types import Document
from qa.ingest.formats import parse


class DatasetError(ValueError):
    """A dataset file that cannot be read as the format it claims."""


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    text: str
    doc_id: str
    article: str
    answerable: bool
    starts: tuple[int, ...]  # document offsets where an answer (or, unanswerable, a plausible one) starts
    paragraph: tuple[int, int]  # the paragraph's document span
    texts: tuple[str, ...] = ()  # the answers' texts (an unanswerable question: none)


@dataclass(frozen=True)
class WikiQuestion:
    id: str
    text: str
    doc_id: str
    spans: tuple[tuple[int, int], ...]  # each labelled sentence's document span, in page order
    labels: tuple[int, ...]


def _front_matter(title: str) -> str:
    return f"---\ntitle: {title.replace(chr(10), ' ')}\n---\n"


def _doc_id(prefix: str, name: str) -> str:
    return f"{prefix}{re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('_')[:80]}.txt"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: cannot read it as JSON ({error})") from error


def squad_articles(path: Path) -> list[str]:
    """The article titles of a SQuAD file, in file order."""
    return [str(article["title"]) for article in _read_json(path)["data"]]


def load_squad(path: Path) -> tuple[list[Document], list[SquadQuestion]]:
    """Every article of a SQuAD 2.0 file as a document, and every question with its answer offsets."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: not a SQuAD file (no 'data' list)")
    documents: list[Document] = []
    questions: list[SquadQuestion] = []
    try:
        for number, article in enumerate(data["data"]):
            title = str(article["title"]).replace("_", " ")
            doc_id = _doc_id(f"squad-{number:03d}-", title)
            text = _front_matter(title)
            for paragraph in article["paragraphs"]:
                raw = str(paragraph["context"])
                context, shift = raw.strip(), len(raw) - len(raw.lstrip())
                base = len(text)
                text += context + "\n\n"
                for qa in paragraph["qas"]:
                    impossible = bool(qa.get("is_impossible", False))
                    spans = qa.get("plausible_answers", []) if impossible else qa["answers"]
                    starts = tuple(sorted({base + int(a["answer_start"]) - shift for a in spans}))
                    texts = () if impossible else tuple(dict.fromkeys(str(a["text"]) for a in spans))
                    questions.append(
                        SquadQuestion(
                            str(qa["id"]), str(qa["question"]), doc_id, str(article["title"]),
                            not impossible, starts, (base, base + len(context)), texts,
                        )
                    )  # fmt: skip
            documents.append(parse(doc_id, text.encode("utf-8"), ".txt"))
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetError(f"{path}: not a SQuAD 2.0 file ({error!r})") from error
    return documents, questions


def load_wikiqa(path: Path) -> tuple[list[Document], list[WikiQuestion]]:
    """One document per WikiQA question: its page summary, sentences joined by spaces."""
    documents: list[Document] = []
    questions: list[WikiQuestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error})") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc_id = _doc_id("wikiqa-", str(row["id"]))
            text = _front_matter(str(row.get("title") or row["id"]))
            spans = []
            for sentence in row["sentences"]:
                sentence = " ".join(str(sentence).split())
                if not text.endswith("\n"):
                    text += " "
                spans.append((len(text), len(text) + len(sentence)))
                text += sentence
            labels = tuple(int(label) for label in row["labels"])
            if len(labels) != len(spans):
                raise ValueError("sentences and labels differ in number")
        except (KeyError, TypeError, ValueError) as error:
            raise DatasetError(f"{path}:{number}: not a WikiQA row ({error!r})") from error
        documents.append(parse(doc_id, (text + "\n").encode("utf-8"), ".txt"))
        questions.append(WikiQuestion(str(row["id"]), str(row["question"]), doc_id, tuple(spans), labels))
    return documents, questions
