"""Dense, keyword and hybrid search over a generation: a question to ranked, cited passages.

Hybrid search fuses the two rankings by reciprocal rank fusion (RRF): it needs no score
calibration between cosine similarities and BM25 scores, which live on unrelated scales.
Late interaction then re-scores the head of the fused ranking; there, when none of the passages
uses an acronym of the question, one that writes it out ("research and development" for "R&D")
counts as matching it (``qa.search.acronyms``).

The answer sentence is not chosen here: a ``Reader`` (``qa.core.protocols``; the default is
``qa.answer.learned.LearnedReader``) is handed the top passages' evidence and returns the answer, or
None when they do not answer the question.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.core.config import SearchMode
from qa.core.filters import NO_MATCH, Filter
from qa.core.kept import Kept
from qa.core.protocols import Encoder, Reader
from qa.core.types import Evidence, Hit, Query, SearchResult, cite
from qa.index.generations import Generation
from qa.lang.en import answers as en_rules
from qa.search import spelling
from qa.search.acronyms import written_out
from qa.search.late import credited, one_blas_thread
from qa.search.shards import LocalShards, Partition, Ranked, Shards, merge

RRF_K = 60
# per first-stage ranking, fused for every question whatever its k: SciFact nDCG@10 0.7402 -> 0.7419
# on train and 0.7454 -> 0.7468 on test against 100, the documentation set unchanged
CANDIDATES = 300
RERANK = 40  # first-stage results that late interaction re-scores (nDCG@10 on SciFact train: flat from 20)
LATE_WEIGHT = 8.0  # the late-interaction ranking outweighs the two first-stage rankings
DENSE_WEIGHT = 1.0  # the first-stage rankings' weights when late interaction is fused with them
KEYWORD_WEIGHT = 1.0
ANSWER_PASSAGES = 3  # the top passages a reader is handed
KEPT_WORDS = 65_536  # question words whose word-piece counts a searcher keeps
BARE_TERM = (
    "a single term asks no question, so no sentence is given as its answer: these are the passages "
    'that match it best; ask a question ("what is ...?", "how do I ...?") for an answer'
)
ACRONYM_DEPTH = 20  # late-ranked passages looked at for it; the credit lifts a passage by a few places


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return fused


def embed_questions(encoder: Encoder, questions: Sequence[str]) -> list[Query]:
    """Questions embedded in one model call: text vectors and word-piece vectors (no offsets)."""
    vectors, tokens = encoder.embed_with_tokens(
        list(questions), batch_size=max(1, len(questions)), offsets=False
    )
    return [
        Query(text, vector, pieces)
        for text, vector, (pieces, _) in zip(questions, vectors, tokens, strict=True)
    ]


class Searcher:
    """Answers questions from one generation with one encoder; safe to share between threads."""

    def __init__(
        self,
        generation: Generation,
        encoder: Encoder,
        shards: Shards | None = None,
        reader: Reader | None = None,
    ) -> None:
        """``shards`` are where candidates come from: by default the whole generation in this
        process; ``qa.distributed`` passes Ray shard actors holding partitions of it. ``reader``
        chooses the answer sentence; without one, results carry passages and no answer."""
        self.generation = generation
        self.encoder = encoder
        self.shards = shards if shards is not None else LocalShards([Partition.whole(generation)])
        self.reader = reader
        self.piece_counts: Kept[str, int] = Kept(KEPT_WORDS)  # words' word pieces (spelling.fixable)
        one_blas_thread()  # the reader's products are small too

    def embed(self, question: str) -> Query:
        return embed_questions(self.encoder, [question])[0]

    def first_stage(
        self, query: Query, depth: int, dense: bool = True, keyword: bool = True, only: Filter | None = None
    ) -> tuple[Ranked, Ranked]:
        """Dense and keyword candidates, each the merge of every shard's best ``depth`` (of the
        passages ``only`` allows, when given); the shards correct the question's misspelled words
        among those the model's tokenizer does not hold whole (``qa.search.spelling``)."""
        fixable = spelling.fixable(self.encoder, query.text, self.piece_counts) if keyword else ()
        parts = self.shards.first_stage(query.vector, query.text, depth, dense, keyword, only, fixable)
        return merge([p.dense for p in parts], depth), merge([p.keyword for p in parts], depth)

    def dense(self, query: Query, depth: int, only: Filter | None = None) -> Ranked:
        return self.first_stage(query, depth, keyword=False, only=only)[0]

    def keyword(self, query: Query, depth: int, only: Filter | None = None) -> Ranked:
        return self.first_stage(query, depth, dense=False, only=only)[1]

    def late(self, query: Query, rows: Sequence[int]) -> Ranked:
        """``rows`` scored by late interaction over their stored word pieces, best first."""
        scores = dict(item for part in self.shards.late(query.tokens, rows) for item in part)
        return sorted(((row, scores[row]) for row in rows), key=lambda item: -item[1])

    def rank(
        self, query: Query, depth: int, mode: SearchMode, only: Filter | None = None
    ) -> list[tuple[int, float]]:
        """(passage row, score) best first, at most ``depth`` of them, of the passages ``only``
        allows (the first stage searches only those; what follows re-ranks its candidates)."""
        if mode == "keyword":
            return self.keyword(query, depth, only)
        if mode == "dense":
            return self.dense(query, depth, only)
        dense_ranked, keyword_ranked = self.first_stage(query, max(depth, CANDIDATES), only=only)
        dense = [row for row, _ in dense_ranked[:CANDIDATES]]
        keyword = [row for row, _ in keyword_ranked[:CANDIDATES]]
        first = sorted(reciprocal_rank_fusion([dense, keyword]).items(), key=lambda item: -item[1])
        head = [row for row, _ in first[:RERANK]]
        late = [row for row, _ in self._spelled_out(query, self.late(query, head))]
        fused = reciprocal_rank_fusion([dense, keyword, late], [DENSE_WEIGHT, KEYWORD_WEIGHT, LATE_WEIGHT])
        reranked = sorted(((row, fused[row]) for row in head), key=lambda item: -item[1])
        # every reranked row scored at least as high as every row below it before late interaction
        # added to its score, so appending the rest in first-stage order keeps the ranking monotone
        ranked = reranked + first[RERANK:]
        if depth > len(ranked):  # a deep ranking (evaluation) goes on with the deeper candidates, so
            # its head is the one a question asking for fewer passages gets
            seen = {row for row, _ in ranked}
            deeper = [
                [row for row, _ in found if row not in seen] for found in (dense_ranked, keyword_ranked)
            ]
            tail = sorted(reciprocal_rank_fusion(deeper).items(), key=lambda item: -item[1])
            floor = ranked[-1][1] if ranked else 0.0
            ranked += [(row, min(score, floor)) for row, score in tail]
        return ranked[:depth]

    def _spelled_out(self, query: Query, scored: Ranked) -> Ranked:
        """Late-interaction scores again, best first, with a passage among the first
        ``ACRONYM_DEPTH`` that writes out an acronym of the question ("research and development"
        for "R&D") credited for it (``qa.search.late.credit``), when none of them uses the acronym."""
        if not en_rules.acronyms(query.text):
            return scored  # most questions: nothing to look for
        passages = self.generation.passages
        contenders = {row: passages[row].embedding_text for row, _ in scored[:ACRONYM_DEPTH]}
        written = written_out(self.encoder, query, contenders)
        if not written:
            return scored
        stored = self.shards.tokens(list(written))
        rescored = dict(scored)
        for row, ranges in written.items():
            rescored[row] = credited(query.tokens, stored[row][0], ranges)
        return sorted(rescored.items(), key=lambda item: -item[1])

    def hit(self, row: int, score: float) -> Hit:
        passage = self.generation.passages[row]
        document = self.generation.documents[passage.doc_id]
        return Hit(passage, score, cite(document, passage.start, passage.end))

    def evidence(self, rows: Sequence[int]) -> list[Evidence]:
        """What a reader is handed for the passages at ``rows``: one trip to the shards."""
        generation = self.generation
        stored = self.shards.tokens(rows)
        found = []
        for row in rows:
            passage = generation.passages[row]
            vectors, starts = stored[row]
            found.append(Evidence(row, passage, generation.documents[passage.doc_id], vectors, starts))
        return found

    def ranked_passages(
        self, question: str, depth: int, mode: SearchMode = "hybrid", only: Filter | None = None
    ) -> list[tuple[int, float]]:
        """(passage row, score) pairs, best first: what evaluation pools into document rankings."""
        return self.rank(self.embed(question), depth, mode, only)

    def search(
        self, question: str, k: int, mode: SearchMode = "hybrid", only: Filter | None = None
    ) -> SearchResult:
        return self.search_query(self.embed(question), k, mode, only)

    def matches_any(self, only: Filter) -> bool:
        """Whether any served document with passages matches ``only`` (read from the catalog)."""
        generation = self.generation
        for doc_id, segment in generation.documents.owners.items():
            if generation.rows_of_doc.get(doc_id) and only.matches(doc_id, segment.fields.get(doc_id, {})):
                return True
        return False

    def search_query(
        self, query: Query, k: int, mode: SearchMode = "hybrid", only: Filter | None = None
    ) -> SearchResult:
        """Search with a question already embedded (by :func:`embed_questions`, possibly in a batch),
        among the passages ``only`` allows; when it allows none, the result says so."""
        ranked = self.rank(query, k, mode, only)
        hits = [self.hit(row, score) for row, score in ranked]
        if not ranked and only and not self.matches_any(only):
            return SearchResult([], None, False, f"{NO_MATCH} ({only.describe()}); GET /documents lists them")
        if self.reader is None or not ranked:
            return SearchResult(hits, None, False)
        if en_rules.bare_term(query.text):
            return SearchResult(hits, None, False, BARE_TERM)
        answer = self.reader.read(query, self.evidence([row for row, _ in ranked[:ANSWER_PASSAGES]]))
        return SearchResult(hits, answer, answer is not None)
