"""Acronyms of the question that a text writes out without using them ("research and development"
for "R&D"): which texts do, and which of the question's word pieces those acronyms are."""

from __future__ import annotations

from typing import TypeVar

from qa.core.protocols import Encoder
from qa.core.types import Query
from qa.lang.en import answers as en_rules

K = TypeVar("K")


def written_out(encoder: Encoder, query: Query, texts: dict[K, str]) -> dict[K, list[slice]]:
    """For each of ``texts`` that writes out acronyms of the question, the question's word
    pieces of those acronyms; texts that write out none are left out. Only acronyms that none
    of ``texts`` uses count: a reader who writes "R&D" where every passage says "research and
    development" abbreviated; where some passages say "R&D", those match it already."""
    spans = en_rules.acronyms(query.text)
    if not spans:
        return {}
    words = {span: query.text[span[0] : span[1]] for span in spans}
    unused = {
        word
        for word in set(words.values())
        if not any(en_rules.uses_acronym(word, t) for t in texts.values())
    }
    if not unused:
        return {}
    found: dict[K, list[tuple[int, int]]] = {}
    for key, text in texts.items():
        written = {acronym for acronym in unused if en_rules.spelled_out(acronym, text)}
        if written:
            found[key] = [span for span in spans if words[span] in written]
    if not found:
        return {}
    bounds = encoder.count_tokens([query.text[:at] for span in spans for at in span])
    pieces = {
        span: slice(first, last) for span, first, last in zip(spans, bounds[::2], bounds[1::2], strict=True)
    }
    return {key: [pieces[span] for span in written] for key, written in found.items()}
