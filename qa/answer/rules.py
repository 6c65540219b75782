"""The rule-based reader: the answer sentence by late interaction, vetted by English answer rules.

Sentences of the top passages are scored by late interaction over the passages' stored word
pieces (no model call), higher-ranked passages preferred; the best one is the answer. Whether the
passages answer at all is judged from what the question asks for (``qa.answer.analysis``: the
names it mentions, its expected answer type and the noun it counts, which the words beside a number
must match) and from the passages' late-interaction score, which all-MiniLM-L6-v2 keeps low for
unrelated text. The reader is English: its patterns live in ``qa.lang.en``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.answer.analysis import (
    MAX_NAMES,
    absent_names,
    counted_words,
    expected_type,
    focus,
    has_type,
    mentions_any,
    name_spans,
    question_names,
    role_asked,
    title_words,
)
from qa.core.protocols import Encoder
from qa.core.types import Answer, Evidence, Query, cite
from qa.ingest.chunking import sentences
from qa.lang.en import answers as en_rules
from qa.search.acronyms import written_out
from qa.search.late import best_matches, credit, inner_products

RANK_PENALTY = 0.02
# How well the answer sentence (for a count: the words beside its number) must match the noun a
# counting or role question is about ("how many *countries*"): word pieces of unrelated words match
# at most about this well (development set).
FOCUS_MATCH = 0.35
# How well a title of the sentence must match the title asked about ("who is the *mayor*"): the
# same title matched itself at 0.70-0.94 in other sentences, different titles each other at
# 0.46 at most ("director" and "secretary"; probe questions on the article).
TITLE_MATCH = 0.6
ANSWERABLE_LATE = (
    0.38  # below this late-interaction score even the best of the answer passages shares too little
)


class RuleReader:
    """Reads English with hand-written answer rules; safe to share between threads."""

    name = "rules-en/1"

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def read(self, query: Query, evidence: Sequence[Evidence]) -> Answer | None:
        """The best sentence among the passages of ``evidence``, or None when it does not answer.

        The question counts as not answered when its documents never name an entity it asks about
        ("What did UNESCO announce?"), when no sentence can hold the expected answer type (no time
        for "when", no number for "how many"), or when none of the passages shares enough with the
        question. A typed answer must also come from a passage about what the question names
        ("When did Smith become director general?" is not answered by the date on which someone
        else joined), and its sentence must speak of what the question asks the holder of ("who is
        the *author*"), with a matching title where that is an office ("who is the *mayor*", "who
        *chaired*"); a count must count it ("how many *countries*" is not answered by "a
        five-point pledge"), a kind of organisation must be named ("which *companies*").
        """
        documents = {item.document.doc_id: item.document for item in evidence}
        if absent_names(query.text, (document.text for document in documents.values())):
            return None
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
        for rank, item in enumerate(evidence):
            passage = item.passage
            if names and not mentions_any(passage.embedding_text, names):
                continue
            text = item.document.text
            vectors, starts = item.tokens, item.starts
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
            return None
        ranks = [rank for rank, _, _ in candidates]
        best = best_matches(query.tokens, pieces)  # (candidates, question pieces)
        in_passage = best_matches(query.tokens, [item.tokens for item in evidence])  # (passages, …)
        named = self._name_pieces(query)
        if named.any():
            # "He holds an MSc …" is about the person its passage names: the question's names
            # match as well as anywhere in the sentence's passage
            best[:, named] = np.maximum(best[:, named], in_passage[ranks][:, named])
        if en_rules.acronyms(query.text):
            texts = {
                i: evidence[rank].document.text[start:end] for i, (rank, start, end) in enumerate(candidates)
            }
            for i, ranges in written_out(self.encoder, query, texts).items():
                credit(best[i], ranges)
        similarities = best.mean(axis=1) if best.shape[1] else np.zeros(len(candidates))
        scores = similarities - RANK_PENALTY * np.array(ranks)
        chosen = int(np.argmax(scores))
        rank, start, end = candidates[chosen]
        document = evidence[rank].document
        best_passage = float(in_passage.mean(axis=1).max()) if in_passage.shape[1] else 0.0
        on_focus = described_by is not None or _matches(focus_tokens, pieces[chosen])
        if not (on_focus and best_passage >= ANSWERABLE_LATE):
            return None
        return Answer(document.text[start:end], float(similarities[chosen]), cite(document, start, end))

    def _name_pieces(self, query: Query) -> npt.NDArray[np.bool_]:
        """Which of the question's word pieces belong to the names it mentions."""
        named = np.zeros(len(query.tokens), dtype=bool)
        if not name_spans(query.text):
            return named  # most questions: no tokenizer call
        # the names the model reads, the first MAX_NAMES: each costs a tokenization of the question
        read = self.encoder.truncate(query.text, self.encoder.max_tokens)
        spans = name_spans(read)[:MAX_NAMES]
        bounds = self.encoder.count_tokens([query.text[:at] for span in spans for at in span])
        for first, last in zip(bounds[::2], bounds[1::2], strict=True):
            named[first:last] = True  # a name past the model's window selects nothing
        return named

    def _focus_tokens(self, query: Query) -> npt.NDArray[Any] | None:
        """The question's word pieces of the noun it counts or asks the holder of ("how many
        *countries*", "who is the *director*"), or None when it has no such noun."""
        span = focus(query.text)
        if span is None:
            return None
        first, last = self.encoder.count_tokens([query.text[: span[0]], query.text[: span[1]]])
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
