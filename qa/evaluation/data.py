"""Evaluation data: BEIR datasets and question sets, read and checked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.types import Document
from qa.ingest.formats import parse

WHOLE = {"layout": "whole"}  # one passage per document, truncated by the model: the reference setup
Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirData:
    """A BEIR dataset's split: its documents, and the queries that the split's qrels judge."""

    name: str
    split: str
    documents: list[Document]
    queries: dict[str, str]  # query id -> text, in qrels order
    qrels: Qrels  # query id -> {doc_id: relevance}

    def limited(self, limit: int | None) -> BeirData:
        """The first ``limit`` queries (in qrels order); the corpus stays whole so scores stay comparable."""
        if limit is None:
            return self
        kept = list(self.queries)[:limit]
        queries = {query_id: self.queries[query_id] for query_id in kept}
        return BeirData(self.name, self.split, self.documents, queries, {q: self.qrels[q] for q in kept})


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answerable: bool
    gold: str | None
    category: str = ""


def _jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error})") from error
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            yield number, row


def _read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.split()
            if not fields or (number == 1 and fields[0] == "query-id"):
                continue
            if len(fields) != 3:
                raise ValueError(f"{path}:{number}: expected 'query-id corpus-id score'")
            query_id, doc_id, score = fields
            try:
                qrels.setdefault(query_id, {})[doc_id] = int(score)
            except ValueError as error:
                raise ValueError(f"{path}:{number}: score {score!r} is not an integer") from error
    return qrels


def as_text_file(row: dict[str, Any]) -> str:
    """A BEIR corpus record as a text file: its title on the first line, a blank line, its text."""
    title, text = str(row.get("title") or "").strip(), str(row.get("text") or "")
    return f"{title}\n\n{text}" if title else text


def file_name(record_id: str) -> str:
    """The name a BEIR record has as a text file in a corpus folder, and so its doc_id there."""
    return f"{record_id}.txt"


def _documents(rows: list[tuple[str, dict[str, Any]]], whole: bool) -> list[Document]:
    """The records as documents. Parsed, each is the text file ``file_name`` names, in the order the
    corpus walk reads a folder of them (by name): BM25's ties (the lower row first) then see what a
    corpus folder gives them (the token codec's sample is picked by doc_id, whatever the order)."""
    if whole:  # the reference setup: the record's own title and text, no parser
        return [
            Document(doc_id, str(row.get("title") or ""), str(row.get("text") or ""), dict(WHOLE))
            for doc_id, row in rows
        ]
    named = sorted(((file_name(doc_id), row) for doc_id, row in rows), key=lambda item: item[0])
    return [parse(name, as_text_file(row).encode("utf-8"), ".txt") for name, row in named]


def load_beir(folder: Path, split: str, whole_documents: bool = False) -> BeirData:
    """Read the BEIR layout: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Each document is the ``.txt`` file ``as_text_file`` writes, named by ``file_name`` (the qrels
    name it so too), through the parser and in the order a corpus folder of those files gives, so
    the score is the one the same records get as files served from a corpus folder.
    ``whole_documents`` makes each document one passage that the model truncates, as in the
    published reference runs (title + text, exact cosine); it exists to reproduce those figures."""
    paths = {name: folder / name for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found (a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/<split>.tsv)"
            )
    qrels = _read_qrels(paths[f"qrels/{split}.tsv"])
    try:
        rows = [(str(row["_id"]), row) for _, row in _jsonl(paths["corpus.jsonl"])]
        texts = {str(row["_id"]): str(row["text"]) for _, row in _jsonl(paths["queries.jsonl"])}
    except KeyError as error:
        raise ValueError(f"a row in {folder} lacks the field {error}") from error
    documents = _documents(rows, whole_documents)
    if not whole_documents:
        qrels = {
            query: {file_name(doc): grade for doc, grade in judged.items()} for query, judged in qrels.items()
        }
    missing = [query_id for query_id in qrels if query_id not in texts]
    if missing:
        raise ValueError(
            f"{len(missing)} queries of qrels/{split}.tsv are not in queries.jsonl, e.g. {missing[0]!r}"
        )
    return BeirData(folder.resolve().name, split, documents, {q: texts[q] for q in qrels}, qrels)


def load_question_set(path: Path) -> list[Question]:
    """Questions from JSONL rows with id, question, answerable, gold (or null) and category."""
    if not path.is_file():
        raise FileNotFoundError(f"question set {path} not found")
    questions: list[Question] = []
    seen: set[str] = set()
    for number, row in _jsonl(path):
        try:
            gold = row.get("gold")
            question = Question(
                str(row["id"]),
                str(row["question"]),
                bool(row["answerable"]),
                None if gold is None else str(gold),
                str(row.get("category", "")),
            )
        except KeyError as error:
            raise ValueError(f"{path}:{number}: missing field {error}") from error
        if question.answerable and not question.gold:
            raise ValueError(f"{path}:{number}: an answerable question needs a gold span")
        if question.id in seen:
            raise ValueError(f"{path}:{number}: the id {question.id!r} is used twice")
        seen.add(question.id)
        questions.append(question)
    return questions
