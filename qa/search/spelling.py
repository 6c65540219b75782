"""Typo tolerance on the keyword side: a question's word that the index has never seen is replaced
by the index's own word one edit away, the most frequent one.

Keyword search matches stems, so a misspelled word ("wokrspace") finds nothing and the question
leans on its other words. Here every question word whose stem is in no segment's vocabulary, that
is made of letters only (numbers, codes and short words are left alone) and that the model's
tokenizer does not hold whole (:func:`fixable`: a word the model's vocabulary holds is a real
word, which a small corpus may simply not use: "when", "would"), is tried against
the words one edit away from it (a deletion, an insertion, a substitution or a swap of two
neighbours: Norvig's candidates, over the letters the vocabulary uses); their stems that the
vocabulary holds are candidates, and the one in the most live passages wins (summed over the
segments, as BM25's statistics are). A word the vocabulary holds is never changed, so correctly
spelled questions search exactly as before unless a word is both unknown to the corpus and
split by the model's tokenizer (a rare name, say). One edit covers a swap or
a dropped letter, the commonest typos; two edits would mean a few hundred thousand candidates.

Two rules keep the correction off what is no typo (measured on SciFact's claims, whose domain
words a corpus of 5,183 abstracts often lacks; ``eval/typos/README.md``):

- a word written in mixed case after its first letter ("dLNs", "ComYMV", "OPMLs") or in capitals
  after a small first letter ("cRCT", "hDLE") is an acronym or a name as its writer meant it,
  never a candidate (a word in capitals alone may be a typo of one the corpus writes: "HTPTX");
- a correction keeps the word's first letter: typing errors rarely fall on it, and a changed first
  letter turns a name into a common word ("Mims" into "aims").

The cost is a few hundred stems and dictionary look-ups per unknown word (``eval/typos`` measures
it, and what it changes).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache, cached_property
from typing import Any

from qa.core.kept import Kept
from qa.core.protocols import Encoder
from qa.index.keyword import LiveSegment
from qa.lang.en import ENGLISH

MIN_LETTERS = 4  # shorter words have too many neighbours to choose from
ALPHABET_WORDS = 50_000  # vocabulary words per segment read for the alphabet
WORD = re.compile(r"\w+")  # a word as written, case kept (keyword search lower-cases its words)
ALPHABET_SIZE = 64  # the commonest letters of the vocabulary; a rare one is rarely a typo's fix


def edits(word: str, alphabet: str) -> set[str]:
    """Every string one deletion, swap of neighbours, substitution or insertion from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in alphabet]
    inserts = [a + c + b for a, b in splits for c in alphabet]
    return set(deletes + swaps + replaces + inserts) - {word}


class Speller:
    """Corrects the keyword words of questions against the vocabulary of some segments."""

    def __init__(self, segments: Sequence[LiveSegment], stemmer: Any) -> None:
        self.segments = list(segments)
        self.stemmer = stemmer

    def known(self, stem: str) -> bool:
        return any(stem in part.vocabulary for part, _ in self.segments)

    def frequency(self, stem: str) -> int:
        """Live passages holding ``stem``, over every segment."""
        return sum(int(live[part.postings(stem)[0]].sum()) for part, live in self.segments)

    @cached_property
    def alphabet(self) -> str:
        letters: Counter[str] = Counter()
        for part, _ in self.segments:
            for number, word in enumerate(part.vocabulary):
                if number >= ALPHABET_WORDS:
                    break
                letters.update(char for char in word if char.isalpha())
        return "".join(char for char, _ in letters.most_common(ALPHABET_SIZE))

    def correct_word(self, word: str) -> str | None:
        """The stem of the most frequent vocabulary word one edit from ``word``, or None."""
        candidates = sorted(word[0] + edit for edit in edits(word[1:], self.alphabet))  # first letter kept
        stems: set[str] = {stem for stem in self.stemmer.stemWords(candidates) if self.known(stem)}
        if not stems:
            return None
        return max(sorted(stems), key=self.frequency)

    def correct(
        self, raw: Sequence[str], stems: Sequence[str], fixable: Sequence[str] | None = None
    ) -> list[str]:
        """``stems`` (of the question's words ``raw``, in order) with each unknown one corrected;
        only words among ``fixable`` when it is given."""
        corrected = []
        for word, stem in zip(raw, stems, strict=True):
            fix = None
            candidate = fixable is None or word in fixable
            if candidate and len(word) >= MIN_LETTERS and word.isalpha() and not self.known(stem):
                fix = self.correct_word(word)
            corrected.append(fix or stem)
        return corrected


def fixable(encoder: Encoder, text: str, counted: Kept[str, int] | None = None) -> tuple[str, ...]:
    """The question's words a typo may hide in: made of letters, ``MIN_LETTERS`` or more, never
    written in mixed case after the first letter (an acronym or a name: ``as_written``), and
    split into several word pieces by the model's tokenizer (a word it holds whole is a real one).
    ``counted`` keeps words' piece counts from earlier questions (a tokenizer call costs more
    than the look-ups: a few words are asked again and again)."""
    kept = as_written(text)
    words = sorted(
        {word for word in raw_words(text) if len(word) >= MIN_LETTERS and word.isalpha() and word not in kept}
    )
    if not words:
        return ()
    counts = {word: counted.get(word) for word in words} if counted is not None else {}
    unknown = [word for word in words if counts.get(word) is None]
    for word, pieces in zip(unknown, encoder.count_tokens(unknown) if unknown else [], strict=True):
        counts[word] = pieces
        if counted is not None:
            counted.put(word, pieces)
    return tuple(word for word in words if (counts[word] or 0) > 1)


def as_written(text: str) -> set[str]:
    """The text's words (lower-cased) written somewhere in a case other than lower case, a
    capital first letter or capitals alone: mixed case after the first letter ("dLNs", "OPMLs")
    or capitals after a small first letter ("cRCT", "hDLE"). A word in capitals alone ("HTTPX")
    may still hold a typo."""
    return {
        word.lower()
        for word in WORD.findall(text)
        if word not in (word.lower(), word.upper(), word[:1].upper() + word[1:].lower())
    }


# bm25s.tokenize's default pattern, which the keyword index was built with (qa.index.keyword)
KEYWORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@cache
def stop_words(name: str) -> frozenset[str]:
    """The stop words bm25s.tokenize drops for the list called ``name`` (read once)."""
    from bm25s.tokenization import _infer_stopwords

    return frozenset(_infer_stopwords(name))


def raw_words(text: str) -> list[str]:
    """The question's keyword words before stemming (lower-cased, stop words out), in order: what
    ``bm25s.tokenize`` gives without its stemmer, without the progress bars it makes (disabled, but
    built three times a call: a sixth of a millisecond a question)."""
    stop = stop_words(ENGLISH.stopwords)
    return [word for word in KEYWORD_TOKEN.findall(text.lower()) if word not in stop]
