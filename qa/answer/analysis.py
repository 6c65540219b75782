"""What a question asks for, and whether a sentence or a document can hold it.

"When will the centre open?" is not answered by a sentence that names no time, however close it
is in meaning. Classic extractive QA checks the expected answer type; this is a small rule-based
version of that check, on the question's wh-word and the noun it asks about:

- contact: a website, web address, street address, e-mail or phone number; satisfied by a URL, an
  e-mail address, a phone number or a numbered street ("2 Dongchuan Road").
- time: what time, opening hours; satisfied by a clock time ("9 am", "18:30", "noon").
- age: how old, what age; satisfied by "42 years old", "aged 42", "born in …".
- money: how much … cost/pay/fund, what is the budget/cost/price; satisfied by a currency.
- duration: how long; satisfied by an amount of time ("three years") or a date to count from.
- number: how many, how much, what number/percentage/population; satisfied by digits or a number
  word that is not part of a date ("July 8, 2024" counts nothing).
- date: when, what/which date, year, month, day; satisfied by a month name, a four-digit year,
  a weekday or a relative time ("last year").
- person: who, whom, whose; satisfied by a capitalised word that does not open the sentence.
- place: where, which city/country/…; satisfied by a place word before a name ("in Madrid", "to
  the Global South"; "access to AI" names no place) or by names that open the sentence ("China,
  France and Brazil signed").
- company, university, bank, hospital, museum: which/what (up to three modifiers) companies, firms,
  makers …, universities, colleges …, banks …; satisfied by a sentence that names something the
  question does not (a capitalised word) in a passage that speaks of organisations of that kind
  ("Huawei" where the passage says "tech firms such as", "Middlesex University"). A name alone
  does not tell its kind to this model (it puts "Huawei" no nearer "company" than "city"), and
  "industries" is no company: a sentence about a conference's industries does not say which
  companies showed products there.

Questions of any other shape (what, which, how, why) have no expected type and pass.
The rules are deliberately loose: they only ever reject sentences that cannot hold the answer.
A count must also count the right thing: ``counted_words`` are the words beside a sentence's
numbers ("a *five-point pledge*"), which must speak of the noun a "how many" question counts.

Names work the same way from the other side: a reader who asks about UNESCO, Beijing or the
European Union asks about that entity, and a document that never names it cannot answer, however
similar its wording ("another UN agency", "another city"). ``absent_names`` lists the names of a
question that a text does not contain (as words, stemmed, or as an acronym of its words, so that
"R&D" is found in "research and development"), or turned round with "of" ("the Madrid
City Council" in "the city council of Madrid"). ``en_rules.spelled_out`` tells when a text writes out an
acronym of the question without using it, which the embedding model cannot see.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from qa.lang.en import answers as en_rules


def _names_place(sentence: str) -> bool:
    """Whether a place word stands before a name: "in Madrid", "In Zürich,", "to the Global
    South", "in the UK". An acronym without "the" is seldom a place ("access to AI")."""
    for match in en_rules.PLACE_WORD.finditer(sentence):
        word = match.group(2)
        if not word[0].isupper():
            continue
        if len(word) > 1 and (word[1].islower() or word[1] == "."):
            return True  # "Madrid", "Île-de-France", "U.S."
        if match.group(1) and word.isupper():
            return True  # "the UK"
    return False


KIND_MODIFIERS = 3  # words between "which" and the kind: "which *Chinese tech* companies"


def _asked_kind(clause: str) -> en_rules.AnswerType | None:
    """The kind of organisation a "which/what … companies" clause asks for, if any."""
    words = re.findall(r"[\w’'-]+", clause.lower())
    for at, word in enumerate(words):
        if word not in ("which", "what"):
            continue
        for following in words[at + 1 : at + 2 + KIND_MODIFIERS]:
            kind = next(
                (kind for kind, (nouns, _) in en_rules.KINDS.items() if nouns.fullmatch(following)), None
            )
            if kind is not None:
                return kind
            if following in en_rules.NOT_NAMES or following in en_rules.KIND_STOP:
                break
        return None  # only the first wh-word's phrase
    return None


def _main_clause(question: str) -> str:
    return question[_main_clause_start(question) :]


def _main_clause_start(question: str) -> int:
    main = en_rules.MAIN_CLAUSE.search(question)
    return main.start(1) if main else 0


def expected_type(question: str) -> en_rules.AnswerType | None:
    clause = _main_clause(question)
    for answer_type, pattern in en_rules.QUESTION_TYPES:
        if pattern.search(clause):
            return answer_type
    return _asked_kind(clause)


def _capitalised(text: str, skip_first: bool) -> set[str]:
    """The capitalised words of ``text``, lower-cased, possessive and outer dots left out; the
    first word of the text left out when ``skip_first``."""
    first = re.search(r"[^\W\d_]", text)
    words = set()
    for match in en_rules.CAPITALISED.finditer(text):
        word = match.group()
        if word[0].isupper() and not (skip_first and first is not None and match.start() == first.start()):
            words.add(re.sub(r"[’']s$", "", word.strip(".’'")).lower())
    return words


def has_type(
    sentence: str, answer_type: en_rules.AnswerType | None, passage: str = "", question: str = ""
) -> bool:
    """Whether ``sentence`` holds a span of ``answer_type`` (always true without a type).

    For a kind of organisation the sentence must name something the ``question`` does not, and
    the word that says what kind its names are may stand anywhere in the ``passage`` it was cut
    from ("Three tech firms took part. Huawei showed …")."""
    if answer_type is None:
        return True
    if answer_type in en_rules.KINDS:
        asked = _capitalised(question, skip_first=False)
        names = _capitalised(sentence, skip_first=not en_rules.OPENS_WITH_NAME.match(sentence))
        named = any(name not in en_rules.NOT_NAMES and name not in asked for name in names)
        return named and bool(en_rules.KINDS[answer_type][1].search(passage or sentence))
    if answer_type in en_rules.SATISFIED_BY:
        return bool(en_rules.SATISFIED_BY[answer_type].search(sentence))
    if answer_type == "duration":
        return bool(en_rules.DURATION.search(sentence) or en_rules.DATE.search(sentence))
    if answer_type == "number":  # a count: the parts of a date count nothing
        return bool(en_rules.NUMBER.search(en_rules.DATE.sub(" ", sentence)))
    if answer_type == "place":  # not any capital: "in Madrid", or names that open the sentence
        return _names_place(sentence) or bool(en_rules.OPENS_WITH_NAME.match(sentence))
    return bool(en_rules.NAME_WORD.search(sentence.strip()))  # not the sentence's first word


def question_names(question: str) -> list[str]:
    """The question's names: runs of capitalised words ("World Health Organization", "UNESCO").

    The question's first word counts only when it is plainly a name (an acronym or "OpenAI"),
    since every question opens with a capital."""
    return [" ".join(word for word, _ in name) for name in _name_words(question)]


def name_spans(question: str) -> list[tuple[int, int]]:
    """Character spans of the question's names (possessive endings left out)."""
    return [(name[0][1][0], name[-1][1][1]) for name in _name_words(question)]


def _name_words(question: str) -> list[list[tuple[str, tuple[int, int]]]]:
    """The words of each of the question's names, with their character spans."""
    names: list[list[tuple[str, tuple[int, int]]]] = []
    previous_was_name = False
    previous_end = 0
    for position, match in enumerate(en_rules.WORD.finditer(question)):
        if question[previous_end : match.start()].strip():
            previous_was_name = False  # "Ann Lee, Bo Chen": a comma ends a name
        previous_end = match.end()
        word = match.group().strip(".’'-")
        possessive = word.endswith(("’s", "'s"))
        word = word.removesuffix("’s").removesuffix("'s")
        capitalised = bool(word) and word[0].isupper() and word.lower() not in en_rules.NOT_NAMES
        if position == 0:
            capitalised = capitalised and any(c.isupper() for c in word[1:])
        if capitalised:
            start = question.index(word, match.start())
            entry = (word, (start, start + len(word)))
            if previous_was_name:
                names[-1].append(entry)
            else:
                names.append([entry])
        previous_was_name = capitalised and not possessive  # "China's AI plans": two names
    return names


def _words(text: str) -> list[tuple[str, str]]:
    """(lower-case word, its stem) for each word of ``text``, possessives dropped."""
    words = re.findall(r"\w+", text.lower().replace("’s", "").replace("'s", ""))
    return list(zip(words, en_rules.stemmer().stemWords(words), strict=True))


def _same(name: tuple[str, str], word: tuple[str, str]) -> bool:
    """Whether a word of the text is this word of a name: the same stem, or, for a name of five
    letters or more, its adjective ("China" → "Chinese", "Japan" → "Japanese")."""
    if name[1] == word[1]:
        return True
    root = name[0][:-1] if name[0][-1] in "aeiouy" else name[0]
    return len(name[0]) >= 5 and word[0].startswith(root)


def _contains(text: list[tuple[str, str]], name: list[tuple[str, str]]) -> bool:
    width = len(name)
    return width > 0 and any(
        all(_same(part, word) for part, word in zip(name, text[i : i + width], strict=True))
        for i in range(len(text) - width + 1)
    )


def _acronym_of(acronym: str, words: list[tuple[str, str]]) -> bool:
    """Whether the letters of ``acronym`` ("R&D") are the initials of consecutive words of the text,
    small linking words skipped ("research and development")."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    content = [w for w, _ in words if w not in en_rules.LINKS]
    width = len(letters)
    return any([w[0] for w in content[i : i + width]] == letters for i in range(len(content) - width + 1))


def names_in(name: str, words: list[tuple[str, str]]) -> bool:
    """Whether ``name`` occurs in a text given as ``_words(text)``, also turned round with "of"
    ("the Madrid Government" in "the government of Madrid"). A run of en_rules.acronyms ("AI R&D")
    is found when each of them is."""
    name_words = _words(name)
    if _contains(words, name_words):
        return True
    if len(name_words) > 1 and _contains(words, [name_words[-1], ("of", "of"), *name_words[:-1]]):
        return True
    parts = name.split()
    if not all(en_rules.ACRONYM.match(part) for part in parts):
        return False
    return all(_contains(words, _words(part)) or _acronym_of(part, words) for part in parts)


MAX_NAMES = en_rules.MAX_NAMES


@functools.lru_cache(maxsize=16)
def _document_words(text: str) -> list[tuple[str, str]]:
    """``_words`` of a document's text, kept for the next questions that cite the same document."""
    return _words(text)


def absent_names(question: str, texts: Iterable[str]) -> list[str]:
    """The question's names (the first ``MAX_NAMES``) that none of ``texts`` mentions."""
    documents = [_document_words(text) for text in texts]
    names = question_names(question)[:MAX_NAMES]
    return [name for name in names if not any(names_in(name, words) for words in documents)]


def mentions_any(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` names at least one of ``names``."""
    words = _words(text)
    return any(names_in(name, words) for name in names)


COUNTED_AFTER = 3  # words after a number that may be what it counts ("five-point pledge to")
COUNTED_BEFORE = 2  # words before it ("a staff of 40", "a population of 24 million")


def counted_words(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the words that the numbers of ``sentence`` count: up to
    ``COUNTED_AFTER`` words after each number and ``COUNTED_BEFORE`` before it, within its clause,
    small words left out. The parts of a date count nothing ("July 8, 2024")."""
    undated = en_rules.DATE.sub(lambda match: " " * len(match.group()), sentence)
    breaks = [(match.start(), match.end()) for match in en_rules.CLAUSE_BREAK.finditer(sentence)]
    spans: set[tuple[int, int]] = set()
    for number in en_rules.NUMBER.finditer(undated):
        clause_start = max([end for _, end in breaks if end <= number.start()], default=0)
        clause_end = min([start for start, _ in breaks if start >= number.end()], default=len(sentence))
        after = list(en_rules.LETTERS.finditer(sentence, number.end(), clause_end))[:COUNTED_AFTER]
        before = list(en_rules.LETTERS.finditer(sentence, clause_start, number.start()))[-COUNTED_BEFORE:]
        for word in (*before, *after):
            if word.group().lower() not in en_rules.NOT_NAMES and not en_rules.NUMBER.fullmatch(word.group()):
                spans.add(word.span())
    return sorted(spans)


def focus(question: str) -> tuple[int, int] | None:
    """The character span of the noun that a counting or role question is about, if it has one
    (in its main clause: "When the summit opened, who chaired it?")."""
    start = _main_clause_start(question)
    clause = question[start:]  # searched on its own: "^" marks where the clause begins
    for pattern in en_rules.FOCUS:
        match = pattern.search(clause)
        if match:
            group = next(i for i in range(1, (pattern.groups or 0) + 1) if match.group(i))
            first, last = match.span(group)
            return start + first, start + last
    return None


def role_asked(question: str) -> en_rules.RoleAsked | None:
    """What office a "who is the … of" question asks the holder of: "any title" for a word for
    whoever leads ("head", "boss", "who runs"), answered by a sentence that holds any title; "this
    title" for a title itself ("mayor", "director") or its verb ("who chaired", "who founded"),
    answered by a sentence with a title that matches it (a sentence about the municipal government
    names no mayor, a party secretary is no minister, an editor founded nothing)."""
    question = _main_clause(question)
    verb = en_rules.TITLE_VERB.search(question)
    if verb is not None:
        return "any title" if verb.group(1).lower() in en_rules.LEADS else "this title"
    match = en_rules.WHO_IS_THE.search(question)
    if match is None:
        return None
    noun = match.group(1).lower()
    if noun in en_rules.LEADS:
        return "any title"
    return "this title" if en_rules.TITLE.fullmatch(noun) else None


def title_words(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the titles in ``sentence``."""
    return [match.span() for match in en_rules.TITLE.finditer(sentence)]
