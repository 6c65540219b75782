"""Asking: a question checked, embedded (with the others asked at the same moment) and searched."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from qa.core.config import SearchMode
from qa.core.errors import InvalidQuestion
from qa.core.filters import Filter
from qa.core.protocols import Encoder
from qa.core.types import Query, SearchResult
from qa.search.searcher import Searcher, embed_questions
from qa.search.shards import LocalShards


@dataclass(frozen=True)
class Ask:
    """One question to answer from one searcher (the generation served when it was asked)."""

    searcher: Searcher
    question: str
    k: int
    mode: SearchMode
    only: Filter | None = None  # the documents asked of (qa.core.filters)


def answer_batch(encoder: Encoder, asks: Sequence[Ask]) -> list[SearchResult | Exception]:
    """Embed every question in one model call, then search for each, in this same thread: handing
    the vectors to other threads made them wait for the CPU the model had just used. Searches over
    remote shards (Ray) wait on round trips instead, so those run side by side. A search that
    fails is returned as its exception, so one bad question fails alone."""
    queries = embed_questions(encoder, [ask.question for ask in asks])

    def search(ask: Ask, query: Query) -> SearchResult | Exception:
        try:
            return ask.searcher.search_query(query, ask.k, ask.mode, ask.only)
        except Exception as error:  # handed to that request alone
            return error

    remote = len(asks) > 1 and any(not isinstance(ask.searcher.shards, LocalShards) for ask in asks)
    if not remote:
        return [search(ask, query) for ask, query in zip(asks, queries, strict=True)]
    with ThreadPoolExecutor(max_workers=min(len(asks), 32), thread_name_prefix="qa-fan-out") as pool:
        return list(pool.map(search, asks, queries))


def clean_question(question: str, limit: int, example: str = "what+does+this+cover%3F") -> str:
    """The question with surrounding whitespace removed; ``InvalidQuestion`` says what is wrong."""
    stripped = question.strip()
    if not stripped:
        raise InvalidQuestion(f"the question is empty; ask something, e.g. q={example}")
    if len(question) > limit:
        raise InvalidQuestion(f"the question is {len(question)} characters long; the limit is {limit}")
    if "\x00" in question:
        raise InvalidQuestion("the question contains a NUL character")
    control = next(
        (char for char in stripped if unicodedata.category(char) == "Cc" and char not in "\t\n\r"), None
    )
    if control is not None:
        raise InvalidQuestion(f"the question contains the control character {control!r}; send plain text")
    surrogate = next((i for i, char in enumerate(stripped) if unicodedata.category(char) == "Cs"), None)
    if surrogate is not None:
        raise InvalidQuestion(
            f"the question contains an unpaired surrogate (U+{ord(stripped[surrogate]):04X} at character "
            f"{surrogate + 1}); send valid Unicode text"
        )
    return stripped
