"""A ``Language``: what the pipeline needs to know of the language its documents are written in.

Chunking reads the sentence rules and abbreviations, keyword search the stemmer and stop words,
the news-page layout its furniture patterns, and passages the anaphora and attribution patterns.
The manifest records the language's code, so an index says which rules cut and stemmed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    stemmer: str  # a Snowball algorithm name (PyStemmer)
    stopwords: str  # a stop-word list name bm25s knows
    abbreviations: frozenset[str]  # words a period does not end a sentence after ("Dr", "e.g")
    sentence_end: re.Pattern[str]
    # the furniture of a news page: date and read-time lines, bylines, link lines, footers, promos
    date_line: re.Pattern[str]
    read_time: re.Pattern[str]
    byline: re.Pattern[str]
    link_line: re.Pattern[str]
    footer_start: re.Pattern[str]
    promo: re.Pattern[str]
    author_heading: re.Pattern[str]
    # passages: a pronoun opening a passage, where a sentence's subject ends, a quote's speaker
    anaphor: re.Pattern[str]
    subject_end: re.Pattern[str]
    attribution: re.Pattern[str]
    quote_open: re.Pattern[str]
