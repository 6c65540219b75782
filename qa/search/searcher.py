"""Dense, keyword and hybrid search over a generation, and the choice of an answer sentence.

Hybrid search fuses the two rankings by reciprocal rank fusion (RRF): it needs no score
calibration between cosine similarities and BM25 scores, which live on unrelated scales.
Late interaction then re-scores the head of the fused ranking; there, when none of the passages
uses an acronym of the question, one that writes it out ("research and development" for "R&D")
counts as matching it, since the model's word pieces for "R", "&" and "D" resemble nothing in
those words.
The answer is the sentence of the top passages closest to the question in embedding space,
with a small preference for higher-ranked passages; it is extractive, never generated.
Whether the documents answer at all is judged from what the question asks for (qa/answer/rules.py:
the names it mentions, its expected answer type and the noun it counts, which the words beside a
number must match) and from the passages' late-interaction score, which all-MiniLM-L6-v2 keeps low
for unrelated text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from qa.answer.rules import (
    MAX_NAMES,
    absent_names,
    acronyms,
    counted_words,
    expected_type,
    focus,
    has_type,
    mentions_any,
    name_spans,
    question_names,
    role_asked,
    spelled_out,
    title_words,
    uses_acronym,
)
from qa.core.config import SearchMode
from qa.core.protocols import Encoder
from qa.core.types import Document, Passage, Vectors, line_of, page_of
from qa.index.generations import Generation
from qa.ingest.chunking import sentences
from qa.search.shards import LocalShards, Partition, Ranked, Shards, inner_products, merge

K = TypeVar("K")

RRF_K = 60
CANDIDATES = 100  # per first-stage ranking, before fusion
RERANK = 40  # first-stage results that late interaction re-scores (nDCG@10 on SciFact train: flat from 20)
LATE_WEIGHT = 8.0  # the late-interaction ranking outweighs the two first-stage rankings
ANSWER_PASSAGES = 3
RANK_PENALTY = 0.02
# How well the answer sentence (for a count: the words beside its number) must match the noun a
# counting or role question is about ("how many *countries*"): word pieces of unrelated words match
# at most about this well (development set).
FOCUS_MATCH = 0.35
# How well a title of the sentence must match the title asked about ("who is the *mayor*"): the
# same title matched itself at 0.70-0.94 in other sentences, different titles each other at
# 0.46 at most ("director" and "secretary"; probe questions on the article).
TITLE_MATCH = 0.6
# How well a word piece of the question matches the same word in a passage: acronyms of the
# development set matched their own occurrences at 0.66-0.92 (median 0.86).
ACRONYM_MATCH = 0.8
ACRONYM_DEPTH = 20  # late-ranked passages looked at for it; the credit lifts a passage by a few places
ANSWERABLE_LATE = (
    0.38  # below this late-interaction score even the best of the answer passages shares too little
)


@dataclass(frozen=True)
class Query:
    """A question, embedded once: its vector and its word-piece vectors."""

    text: str
    vector: Vectors
    tokens: Vectors


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    start: int
    end: int
    line_start: int
    line_end: int
    page: int | None = None


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    citation: Citation


@dataclass(frozen=True)
class Answer:
    text: str
    score: float
    citation: Citation


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    answer: Answer | None
    answerable: bool


def cite(document: Document, start: int, end: int) -> Citation:
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        start=start,
        end=end,
        line_start=line_of(document.text, start),
        line_end=line_of(document.text, max(start, end - 1)),
        page=page_of(document, start),
    )


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return fused


def embed_questions(embedder: Encoder, questions: Sequence[str]) -> list[Query]:
    """Questions embedded in one model call: text vectors and word-piece vectors (no offsets)."""
    vectors, tokens = embedder.embed_with_tokens(
        list(questions), batch_size=max(1, len(questions)), offsets=False
    )
    return [
        Query(text, vector, pieces)
        for text, vector, (pieces, _) in zip(questions, vectors, tokens, strict=True)
    ]


@dataclass(frozen=True)
class Ask:
    """One question to answer from one searcher (the generation served when it was asked)."""

    searcher: Searcher
    question: str
    k: int
    mode: SearchMode


def answer_batch(embedder: Encoder, asks: Sequence[Ask]) -> list[SearchResult | Exception]:
    """Embed every question in one model call, then search for each, in this same thread: handing
    the vectors to other threads made them wait for the CPU the model had just used. Searches over
    remote shards (Ray) wait on round trips instead, so those run side by side. A search that
    fails is returned as its exception, so one bad question fails alone."""
    queries = embed_questions(embedder, [ask.question for ask in asks])

    def search(ask: Ask, query: Query) -> SearchResult | Exception:
        try:
            return ask.searcher.search_query(query, ask.k, ask.mode)
        except Exception as error:  # handed to that request alone
            return error

    remote = len(asks) > 1 and any(not isinstance(ask.searcher.shards, LocalShards) for ask in asks)
    if not remote:
        return [search(ask, query) for ask, query in zip(asks, queries, strict=True)]
    with ThreadPoolExecutor(max_workers=min(len(asks), 32), thread_name_prefix="qa-fan-out") as pool:
        return list(pool.map(search, asks, queries))


class Searcher:
    """Answers questions from one generation with one embedder; safe to share between threads."""

    def __init__(self, generation: Generation, embedder: Encoder, shards: Shards | None = None) -> None:
        """``shards`` are where candidates come from: by default the whole generation in this
        process; ``qa.distributed`` passes Ray shard actors holding partitions of it."""
        self.generation = generation
        self.embedder = embedder
        self.shards = shards if shards is not None else LocalShards([Partition.whole(generation)])

    def embed(self, question: str) -> Query:
        return embed_questions(self.embedder, [question])[0]

    def first_stage(
        self, query: Query, depth: int, dense: bool = True, keyword: bool = True
    ) -> tuple[Ranked, Ranked]:
        """Dense and keyword candidates, each the merge of every shard's best ``depth``."""
        parts = self.shards.first_stage(query.vector, query.text, depth, dense, keyword)
        return merge([p.dense for p in parts], depth), merge([p.keyword for p in parts], depth)

    def dense(self, query: Query, depth: int) -> Ranked:
        return self.first_stage(query, depth, keyword=False)[0]

    def keyword(self, query: Query, depth: int) -> Ranked:
        return self.first_stage(query, depth, dense=False)[1]

    def late(self, query: Query, rows: Sequence[int]) -> Ranked:
        """``rows`` scored by late interaction over their stored word pieces, best first."""
        scores = dict(item for part in self.shards.late(query.tokens, rows) for item in part)
        return sorted(((row, scores[row]) for row in rows), key=lambda item: -item[1])

    def rank(self, query: Query, depth: int, mode: SearchMode) -> list[tuple[int, float]]:
        """(passage row, score) best first, at most ``depth`` of them."""
        if mode == "keyword":
            return self.keyword(query, depth)
        if mode == "dense":
            return self.dense(query, depth)
        dense_ranked, keyword_ranked = self.first_stage(query, max(depth, CANDIDATES))
        dense = [row for row, _ in dense_ranked]
        keyword = [row for row, _ in keyword_ranked]
        first = sorted(reciprocal_rank_fusion([dense, keyword]).items(), key=lambda item: -item[1])
        head = [row for row, _ in first[:RERANK]]
        late = [row for row, _ in self._spelled_out(query, self.late(query, head))]
        fused = reciprocal_rank_fusion([dense, keyword, late], [1.0, 1.0, LATE_WEIGHT])
        reranked = sorted(((row, fused[row]) for row in head), key=lambda item: -item[1])
        # every reranked row scored at least as high as every row below it before late interaction
        # added to its score, so appending the rest in first-stage order keeps the ranking monotone
        return (reranked + first[RERANK:])[:depth]

    def _spelled_out(self, query: Query, scored: Ranked) -> Ranked:
        """Late-interaction scores again, best first, with a passage among the first
        ``ACRONYM_DEPTH`` that writes out an acronym of the question ("research and development"
        for "R&D") credited for it (:func:`_credited`), when none of them uses the acronym."""
        if not acronyms(query.text):
            return scored  # most questions: nothing to look for
        passages = self.generation.passages
        contenders = {row: passages[row].embedding_text for row, _ in scored[:ACRONYM_DEPTH]}
        written = self._written_out(query, contenders)
        if not written:
            return scored
        stored = self.shards.tokens(list(written))
        rescored = dict(scored)
        for row, ranges in written.items():
            rescored[row] = _credited(query.tokens, stored[row][0], ranges)
        return sorted(rescored.items(), key=lambda item: -item[1])

    def _written_out(self, query: Query, texts: dict[K, str]) -> dict[K, list[slice]]:
        """For each of ``texts`` that writes out acronyms of the question, the question's word
        pieces of those acronyms; texts that write out none are left out. Only acronyms that none
        of ``texts`` uses count: a reader who writes "R&D" where every passage says "research and
        development" abbreviated; where some passages say "R&D", those match it already."""
        spans = acronyms(query.text)
        if not spans:
            return {}
        words = {span: query.text[span[0] : span[1]] for span in spans}
        unused = {
            word for word in set(words.values()) if not any(uses_acronym(word, t) for t in texts.values())
        }
        if not unused:
            return {}
        found: dict[K, list[tuple[int, int]]] = {}
        for key, text in texts.items():
            written = {acronym for acronym in unused if spelled_out(acronym, text)}
            if written:
                found[key] = [span for span in spans if words[span] in written]
        if not found:
            return {}
        bounds = self.embedder.count_tokens([query.text[:at] for span in spans for at in span])
        pieces = {
            span: slice(first, last)
            for span, first, last in zip(spans, bounds[::2], bounds[1::2], strict=True)
        }
        return {key: [pieces[span] for span in written] for key, written in found.items()}

    def hit(self, row: int, score: float) -> Hit:
        passage = self.generation.passages[row]
        document = self.generation.documents[passage.doc_id]
        return Hit(passage, score, cite(document, passage.start, passage.end))

    def ranked_passages(
        self, question: str, depth: int, mode: SearchMode = "hybrid"
    ) -> list[tuple[int, float]]:
        """(passage row, score) pairs, best first: what evaluation pools into document rankings."""
        return self.rank(self.embed(question), depth, mode)

    def search(self, question: str, k: int, mode: SearchMode = "hybrid") -> SearchResult:
        return self.search_query(self.embed(question), k, mode)

    def search_query(self, query: Query, k: int, mode: SearchMode = "hybrid") -> SearchResult:
        """Search with a question already embedded (by :func:`embed_questions`, possibly in a batch)."""
        ranked = self.rank(query, k, mode)
        hits = [self.hit(row, score) for row, score in ranked]
        answer, answerable = self.answer(query, [row for row, _ in ranked[:ANSWER_PASSAGES]])
        return SearchResult(hits, answer if answerable else None, answerable)

    def answer(self, query: Query, rows: Sequence[int]) -> tuple[Answer | None, bool]:
        """The best sentence among the passages at ``rows`` and whether it answers the question.

        Sentences are scored by late interaction over the passage's stored word pieces (no model
        call), higher-ranked passages preferred. The question counts as not answered when its
        documents never name an entity it asks about ("What did UNESCO announce?"), when no
        sentence can hold the expected answer type (no time for "when", no number for "how
        many"), or when none of the passages shares enough with the question. A typed answer must
        also come from a passage about what the question names ("When did Müller become director
        general?" is not answered by the date on which someone else joined), and its sentence must
        speak of what the question asks the holder of ("who is the *author*"), with a matching title
        where that is an office ("who is the *mayor*", "who *chaired*"); a count must count it
        ("how many *countries*" is not answered by "a five-point pledge"), a kind of organisation
        must be named ("which *companies*").
        """
        generation = self.generation
        doc_ids = dict.fromkeys(generation.passages[row].doc_id for row in rows)
        if absent_names(query.text, (generation.documents[doc_id].text for doc_id in doc_ids)):
            return None, False
        wanted = expected_type(query.text)
        names = question_names(query.text) if wanted else []
        role = role_asked(query.text) if wanted == "person" else None
        # a word for whoever leads matches no title ("head" and "director" are far apart)
        focus_tokens = self._focus_tokens(query) if wanted and role != "any title" else None
        # the words of a sentence that must speak of the focus noun, checked on each sentence
        described_by: Callable[[str], list[tuple[int, int]]] | None = None
        threshold = FOCUS_MATCH
        if wanted == "number" and focus_tokens is not None:
            described_by = counted_words  # a count must count the noun asked about
        elif role is not None:
            described_by, threshold = title_words, TITLE_MATCH  # an office holder is named with a title
        candidates: list[tuple[int, int, int]] = []  # (rank, start, end)
        pieces: list[npt.NDArray[Any]] = []
        stored = self.shards.tokens(rows)
        for rank, row in enumerate(rows):
            passage = generation.passages[row]
            if names and not mentions_any(passage.embedding_text, names):
                continue
            text = generation.documents[passage.doc_id].text
            vectors, starts = stored[row]
            cited = text[passage.start : passage.end]
            for start, end in sentences(text, passage.start, passage.end):
                if not has_type(text[start:end], wanted, cited, query.text):
                    continue
                if described_by is not None and not _speaks_of(
                    focus_tokens, described_by(text[start:end]), start, vectors, starts, threshold
                ):
                    continue
                candidates.append((rank, start, end))
                pieces.append(vectors[(starts >= start) & (starts < end)])
        if not candidates:
            return None, False
        ranks = [rank for rank, _, _ in candidates]
        best_matches = _best_matches(query.tokens, pieces)  # (candidates, question pieces)
        # the passages' word pieces are at hand: no second trip to the shards
        in_passage = _best_matches(query.tokens, [stored[row][0] for row in rows])  # (passages, …)
        named = self._name_pieces(query)
        if named.any():
            # "He holds an MSc …" is about the Ben Wodecki its passage names: the question's names
            # match as well as anywhere in the sentence's passage
            best_matches[:, named] = np.maximum(best_matches[:, named], in_passage[ranks][:, named])
        if acronyms(query.text):
            texts = {
                i: generation.documents[generation.passages[rows[rank]].doc_id].text[start:end]
                for i, (rank, start, end) in enumerate(candidates)
            }
            for i, ranges in self._written_out(query, texts).items():
                _credit(best_matches[i], ranges)
        similarities = best_matches.mean(axis=1) if best_matches.shape[1] else np.zeros(len(candidates))
        scores = similarities - RANK_PENALTY * np.array(ranks)
        best = int(np.argmax(scores))
        rank, start, end = candidates[best]
        document = generation.documents[generation.passages[rows[rank]].doc_id]
        answer = Answer(document.text[start:end], float(similarities[best]), cite(document, start, end))
        best_passage = float(in_passage.mean(axis=1).max()) if in_passage.shape[1] else 0.0
        on_focus = described_by is not None or _matches(focus_tokens, pieces[best])
        return answer, on_focus and best_passage >= ANSWERABLE_LATE

    def _name_pieces(self, query: Query) -> npt.NDArray[np.bool_]:
        """Which of the question's word pieces belong to the names it mentions."""
        named = np.zeros(len(query.tokens), dtype=bool)
        if not name_spans(query.text):
            return named  # most questions: no tokenizer call
        # the names the model reads, the first MAX_NAMES: each costs a tokenization of the question
        read = self.embedder.truncate(query.text, self.embedder.max_tokens)
        spans = name_spans(read)[:MAX_NAMES]
        bounds = self.embedder.count_tokens([query.text[:at] for span in spans for at in span])
        for first, last in zip(bounds[::2], bounds[1::2], strict=True):
            named[first:last] = True  # a name past the model's window selects nothing
        return named

    def _focus_tokens(self, query: Query) -> npt.NDArray[Any] | None:
        """The question's word pieces of the noun it counts or asks the holder of ("how many
        *countries*", "who is the *director*"), or None when it has no such noun."""
        span = focus(query.text)
        if span is None:
            return None
        first, last = self.embedder.count_tokens([query.text[: span[0]], query.text[: span[1]]])
        if not 0 <= first < last <= len(query.tokens):
            return None  # the noun lies past the model's window
        return query.tokens[first:last]


def _speaks_of(
    focus_tokens: npt.NDArray[Any] | None,
    spans: list[tuple[int, int]],
    start: int,
    vectors: npt.NDArray[Any],
    starts: npt.NDArray[Any],
    threshold: float = FOCUS_MATCH,
) -> bool:
    """Whether the words at ``spans`` of a sentence starting at ``start`` (the words a number
    counts, its titles) exist and match the focus noun at ``threshold``. "a five-point pledge"
    holds a number, but it counts points of a pledge, not countries or governments; "party
    secretary" is a title, but not a minister's."""
    inside = np.zeros(len(starts), dtype=bool)
    for word_start, word_end in spans:
        inside |= (starts >= start + word_start) & (starts < start + word_end)
    return bool(inside.any()) and _matches(focus_tokens, vectors[inside], threshold)


def _matches(
    focus_tokens: npt.NDArray[Any] | None, pieces: npt.NDArray[Any], threshold: float = FOCUS_MATCH
) -> bool:
    """Whether ``pieces`` speak of the focus noun: each of its word pieces' best match among them,
    averaged, reaches ``threshold``. True without a focus noun (or without pieces to judge)."""
    if focus_tokens is None or not len(pieces):
        return True
    match = inner_products(pieces, focus_tokens).max(axis=0).mean()
    return float(match) >= threshold


def _best_matches(query_tokens: Vectors, texts: Sequence[npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
    """For each text's word pieces, each question piece's best match among them (0 for a text
    without pieces): the rows whose means are late-interaction scores. One product for all."""
    best = np.zeros((len(texts), len(query_tokens)), dtype=np.float32)
    lengths = np.array([len(pieces) for pieces in texts])
    if not len(query_tokens) or not lengths.any():
        return best
    similarities = inner_products(np.concatenate(texts), query_tokens)  # (pieces, question pieces)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    nonempty = lengths > 0
    best[nonempty] = np.maximum.reduceat(similarities, starts[nonempty], axis=0)
    return best


def _credited(query_tokens: Vectors, pieces: npt.NDArray[Any], acronym_pieces: Sequence[slice]) -> float:
    """Late interaction of a text that writes out acronyms of the question (:func:`_credit`)."""
    if not len(pieces) or not len(query_tokens):
        return 0.0
    best = _best_matches(query_tokens, [pieces])[0]
    _credit(best, acronym_pieces)
    return float(best.mean())


def _credit(best: npt.NDArray[np.float32], acronym_pieces: Sequence[slice]) -> None:
    """Raise, in place, a text's best matches for the question's word pieces of acronyms the text
    writes out: they match at least as well as the same word would (``ACRONYM_MATCH``), since the
    model cannot see that "R&D" and "research and development" are the same words."""
    for piece_range in acronym_pieces:
        best[piece_range] = np.maximum(best[piece_range], ACRONYM_MATCH)
