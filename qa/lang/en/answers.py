"""English for the reader and for acronyms: the cue words the learned reader's features read, and
the rules that tell when a text writes out an acronym of the question.

The reader (``qa.answer.learned``) learns how much each cue counts; none of them vetoes an answer.
Every pattern here is general English (question words, month names, number words, units), tested
in ``tests/lang/test_en_answers.py`` on sentences of its own. What the rest of the pipeline needs of
a language is ``qa.lang.en.ENGLISH``.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Literal

from qa.lang.en import ENGLISH

# Reader cues

# Words too common to say what a question is about (lower case; "whats" and "s" for typed questions).
STOP_WORDS = frozenset(
    re.findall(
        r"\S+",
        """a an the of in on at to for from by with about as into over after before between during under
        is are was were be been being am do does did done has have had having will would shall should
        can could may might must and or but if then than that this these those it its it's he she they
        them his her their there here what which who whom whose when where why how whats s t not no yes
        i you we me my your our us one ones also get got so such very just much many""",
    )
)

QuestionClass = Literal["what", "which", "when", "where", "who", "why", "how", "how_quant", "other"]
QUESTION_CLASSES: tuple[QuestionClass, ...] = (
    "what",
    "which",
    "when",
    "where",
    "who",
    "why",
    "how",
    "how_quant",
    "other",
)
WH_WORDS = frozenset({"what", "which", "when", "where", "who", "whom", "whose", "why", "how"})
WORDS = re.compile(r"[^\W_]+")  # words of any script, digits included
QUANTITY_QUESTION = re.compile(r"\bhow (?:many|much|long|old|far|big|large|tall|high|often|fast|deep|wide)\b")
TIME_QUESTION = re.compile(r"\b(?:what|which) (?:year|date|day|month|century|decade|time|era|period)s?\b")

YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b")
MONTH = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b", re.I
)
DIGIT = re.compile(r"\d")
NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)\b", re.I
)
UNIT = re.compile(r"[%$€£]|\b(?:percent|per cent|dollars?|km|miles?|metres?|meters?|feet|kg|tons?)\b", re.I)
CAPITALISED_WORD = re.compile(r"(?<=\s)[A-Z][\w-]+")  # not a text's first word: pad it with a space
# a sentence that ends in a question mark (its closing quotes or brackets after it)
ASKING = re.compile(r"[?\uff1f][\"'\u201d\u2019)\]]*\s*\Z")


def asks(sentence: str) -> bool:
    """Whether ``sentence`` is a question ("So how do you register that blueprint?"): it asserts
    nothing, so it answers no question, however many of the question's words it repeats."""
    return bool(ASKING.search(sentence))


# verbs that open a yes/no question
AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would"}
    | {"shall", "should", "may", "might", "must", "has", "have", "had"}
)
# scripts written without spaces between words (Chinese, Japanese, Thai): a run of them is no one word
UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def bare_term(question: str) -> bool:
    """Whether ``question`` names a term and asks nothing ("hello", "error", "PhantomData"): no
    question word, no question mark, at most one word that is not a stop word. The reader's
    features measure how much of a question a sentence holds, so any sentence holding the term
    scored as a confident answer ("test" was answered "#[test]" at 0.77); a term gets passages."""
    words = WORDS.findall(question.lower())
    asked = (
        asks(question.strip())
        or "\u061f" in question  # the Arabic question mark
        or not (WH_WORDS | {"whats"}).isdisjoint(words)
        or (bool(words) and words[0] in AUXILIARIES)  # "is it free", "can I cancel": asked without "?"
        or UNSPACED.search(question)
    )
    return not asked and len(set(content_words(question))) <= 1


@functools.cache
def stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(ENGLISH.stemmer)


def content_words(text: str) -> list[str]:
    """The stems of ``text``'s words that are not stop words, lower-cased, in order."""
    return list(stemmer().stemWords([w for w in WORDS.findall(text.lower()) if w not in STOP_WORDS]))


def question_class(question: str) -> QuestionClass:
    """What kind of answer a question asks for, by its question word: "how many …" and "what year …"
    have classes of their own ("how_quant", "when"); a question without one is "other". Case does
    not matter ("WHEN WAS …" typed in capitals is "when")."""
    lowered = question.lower()
    if QUANTITY_QUESTION.search(lowered):
        return "how_quant"
    if TIME_QUESTION.search(lowered):
        return "when"
    for word in WORDS.findall(lowered):
        if word in WH_WORDS:
            return "who" if word in ("whom", "whose") else word  # type: ignore[return-value]
    return "other"


# Acronyms ("R&D" for "research and development"): used by search (``qa.search.acronyms``)

# Capitalised words that open questions or stand for the reader, not for an entity of the text.
NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "i a an the this that these those what which who whom whose when where why how is are was were "
        "do does did has have had can could will would should may might must in on at of for to and or",
    )
)


LINKS = frozenset({"and", "of", "the", "for", "on", "in"})


MAX_NAMES = 8  # a question naming more is not a reader's question; the rest are not checked
ACRONYM_IN_TEXT = re.compile(r"(?<![\w&.])[A-Z][A-Z&.]*[A-Z](?![\w&])\.?")


def acronyms(question: str) -> list[tuple[int, int]]:
    """Character spans of the acronyms a question uses ("R&D", "IT", "U.S."), the first
    ``MAX_NAMES`` of them: a reader's question holds a few, and each costs a look at the passages."""
    return [match.span() for match in itertools.islice(ACRONYM_IN_TEXT.finditer(question), MAX_NAMES)]


LINK_WORDS = "|".join(sorted(LINKS))


LINK_GAP = re.compile(rf"(?:[\s&-]+(?:(?:{LINK_WORDS})[\s&-]+)*)", re.I)


@functools.lru_cache(maxsize=256)
def written_pattern(letters: str) -> re.Pattern[str]:
    """A run of words with these initials, linking words between them."""
    words = LINK_GAP.pattern.join(f"([{c.upper()}{c}][^\\W\\d_]+)" for c in letters)
    return re.compile(rf"(?<![\w’']){words}(?![\w’'])")


def uses_acronym(acronym: str, text: str) -> bool:
    """Whether ``text`` uses ``acronym`` itself, as a word, with or without dots ("US", "U.S.")."""
    capitals = "".join(c for c in acronym if c.isalpha()).upper()
    for form in {capitals, ".".join(capitals), "&".join(capitals)} if len(capitals) > 1 else ():
        at = text.find(form)
        while at >= 0:  # substring searches: this runs for every passage a question's acronym meets
            end = at + len(form)
            if not (at and text[at - 1].isalnum()) and not (end < len(text) and text[end].isalnum()):
                return True
            at = text.find(form, at + 1)
    return False


JOINED_BEFORE = re.compile(r"(?<![\w.'’-])[A-Z][^\W\d_]*\s+$")  # a capitalised word just before


JOINED_AFTER = re.compile(r"\s+[A-Z]")  # ... or just after


def spelled_out(acronym: str, text: str) -> bool:
    """Whether ``text`` writes ``acronym`` out ("research and development" for "R&D", "Information
    Technology" for "IT") and never uses the acronym itself, with or without dots.

    The words must be content words next to each other ("important to" does not spell "IT", nor
    "governments, the scientific" "GS"), and capitalised words a whole name or the end of one:
    "Declaration on Global" inside "Paris Declaration on Global Health Policy" is not "DG"."""
    letters = "".join(c.lower() for c in acronym if c.isalpha())
    if len(letters) < 2 or uses_acronym(acronym, text):
        return False
    written = written_pattern(letters)
    run = written.search(text)
    while run is not None:  # searched again from the next character: runs may overlap
        if spells(text, run):
            return True
        run = written.search(text, run.start() + 1)
    return False


def spells(text: str, run: re.Match[str]) -> bool:
    """Whether a run of words with an acronym's initials can stand for it."""
    words = run.groups()  # one for each letter; linking words between them are left out
    if any(word.lower() in NOT_NAMES for word in words):
        return False  # "in the transfer" is no "IT", nor "important to"
    capitals = [word[0].isupper() for word in words]
    if not all(capitals):
        return not any(capitals[1:])  # lower case, perhaps opening a sentence
    joined = JOINED_BEFORE.search(text, max(0, run.start() - 40), run.start())
    return not (joined or JOINED_AFTER.match(text, run.end()))
