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
- place: where, which city/country/…; satisfied by a place word before a name ("in Shanghai", "to
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
"R&D" is found in "research and development"), or turned round with "of" ("the Shanghai
Government" in "the government of Shanghai"). ``spelled_out`` tells when a text writes out an
acronym of the question without using it, which the embedding model cannot see.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from typing import Any, Literal

AnswerType = Literal[
    "contact",
    "time",
    "age",
    "money",
    "duration",
    "number",
    "date",
    "person",
    "place",
    "company",
    "university",
    "bank",
    "hospital",
    "museum",
]

_MONEY_WORDS = (
    r"(?:cost|costs|costing|price|prices|priced|budget|budgets|funding|money|spend|spent|pay|paid|"
    r"salary|fee|fees|invest\w*|worth)"
)
_QUESTION_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "contact",
        re.compile(
            r"\b(?:website|web ?site|web address|url|homepage|e-?mail(?: address)?|phone(?: number)?|"
            r"telephone|contact details)\b|"
            r"\b(?:what|where)(?:’s|'s| is| was| are)? "
            r"(?:the |its |their |his |her |(?:[\w.-]+ ){0,3}[\w.-]+[’']s )?"
            r"(?:street |postal |mailing |home |office )?address(?:\s+(?:of|for)\b|\s*[?.!]*\s*$)",
            re.I,
        ),
    ),
    (
        "time",
        re.compile(r"\b(?:what|which|at what) time\b|\b(?:opening|business|office|visiting) hours\b", re.I),
    ),
    ("age", re.compile(r"\bhow old\b|\b(?:what|which|at what) age\b", re.I)),
    ("person", re.compile(r"^\s*(?:who|whom|whose)\b", re.I)),
    (
        "money",
        re.compile(
            rf"\bhow (?:much|expensive)\b.*\b{_MONEY_WORDS}\b|\bhow (?:much|expensive)\b.*\b(?:cost|pay)\w*|"
            rf"\bwhat (?:is |was |are |were )?(?:the )?(?:\w+ )?{_MONEY_WORDS}\b",
            re.I,
        ),
    ),
    ("duration", re.compile(r"\bhow long\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|large|big|far)\b|\bwhat (?:is |was |are )?(?:the )?"
            r"(?:number|percentage|share|amount|population|size)\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"^\s*when\b|\b(?:what|which) (?:date|day|month|year)\b|\bin what year\b|\bsince when\b|"
            r"\bwhat(?:’s|'s| is| was| are| were) the (?:\w+ )?(?:deadline|due date|start date|end date)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"^\s*where\b|\b(?:which|what) (?:city|cities|country|countries|town|region|place|venue|"
            r"state|province|continent|location)\b",
            re.I,
        ),
    ),
]

_MONTHS = (
    r"Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
_DATE = re.compile(
    rf"\b(?:{_MONTHS})\b(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,?)?|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b|"
    r"\b(?:1[5-9]|20)\d\d\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
    r"\b(?:yesterday|today|tomorrow|(?:last|next|this) (?:year|month|week)|decade|century)\b|"
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|half|single|double|several|few|many"
)
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_TIME = re.compile(
    r"\b\d{1,2}(?:[:.]\d\d)?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\b\d{1,2}:\d\d\b|\bo['’]clock\b|\bnoon\b|"
    r"\bmidnight\b|\b24/7\b|\baround the clock\b",
    re.I,
)
_AGE = re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|\bborn (?:in|on)\b|\bbirthday\b", re.I)
_MONEY = re.compile(
    r"[$€£¥₹]|\b(?:dollars?|euros?|pounds sterling|yuan|renminbi|RMB|USD|EUR|GBP|CNY|JPY|yen|francs?|"
    r"rupees?|won)\b",
    re.I,
)
_DURATION = re.compile(
    rf"\b(?:\d+|{_NUMBER_WORDS}|a|an)[- ](?:years?|months?|weeks?|days?|hours?|minutes?|decades?)\b|"
    r"\bsince\b",
    re.I,
)
_CONTACT = re.compile(
    r"https?://|\bwww\.|\b[\w-]+\.(?:com|org|net|int|gov|edu|io|cn|uk)\b|\b[\w.+-]+@[\w-]+\.\w+|"
    r"\+?\d[\d ()-]{6,}\d|"
    r"(?-i:\b\d+[a-z]?,? (?:[A-Z][\w'’.-]* ){1,4}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Way|Drive|Square|Lu)\b)",
    re.I,
)
_NAME_WORD = re.compile(r"(?<=[\s(\"'“‘])[A-Z][\w'’.-]+")
_PLACE_WORD = re.compile(
    r"\b(?:in|at|near|from|to|into|across|outside|inside|within|throughout|around|between|based in)\s+"
    r"(the\s+)?([^\W\d_][\w.’'-]*)",
    re.I,
)


def _names_place(sentence: str) -> bool:
    """Whether a place word stands before a name: "in Shanghai", "In Zürich,", "to the Global
    South", "in the UK". An acronym without "the" is seldom a place ("access to AI")."""
    for match in _PLACE_WORD.finditer(sentence):
        word = match.group(2)
        if not word[0].isupper():
            continue
        if len(word) > 1 and (word[1].islower() or word[1] == "."):
            return True  # "Shanghai", "Île-de-France", "U.S."
        if match.group(1) and word.isupper():
            return True  # "the UK"
    return False


_SATISFIED_BY: dict[AnswerType, re.Pattern[str]] = {
    "contact": _CONTACT,
    "time": _TIME,
    "age": _AGE,
    "money": _MONEY,
    "date": _DATE,
}


# The organisations a "which …" question may ask for by kind: the nouns a reader asks with, and the
# words a passage names such organisations with (in the name, "Middlesex University", or beside it,
# "chipmakers such as"). Sectors and fields ("industry", "academia") are not organisations. Most
# kinds carry their noun in their names ("Bank of China", "Ruijin Hospital"); companies seldom do.
def _self_named(nouns: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(nouns, re.I), re.compile(rf"(?<![\w-])(?:{nouns})\b", re.I)


_COMPANIES = (
    r"compan(?:y|ies)|firms?|corporations?|start-?ups?|enterprises?|conglomerates?|(?:chip|car|auto)?makers?|"
    r"manufacturers?|vendors?|suppliers?|brands?|giants?"
)
# (the nouns a question asks with, the words a passage names such organisations with)
_KINDS: dict[AnswerType, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "company": (
        re.compile(_COMPANIES, re.I),
        # not "decision-makers" or "policy-makers": a hyphen joins the word to what it qualifies
        re.compile(rf"(?<![\w-])(?:{_COMPANIES}|corp|inc|ltd|llc|plc|gmbh|business(?:es)?)\b", re.I),
    ),
    "university": _self_named(r"universit(?:y|ies)|colleges?|schools?|academ(?:y|ies)"),
    "bank": _self_named(r"banks?"),
    "hospital": _self_named(r"hospitals?|clinics?"),
    "museum": _self_named(r"museums?|galler(?:y|ies)"),
}
KIND_MODIFIERS = 3  # words between "which" and the kind: "which *Chinese tech* companies"
# "what kind of firms" asks for a description, not for names
_KIND_STOP = frozenset({"kind", "kinds", "type", "types", "sort", "sorts"})


def _asked_kind(clause: str) -> AnswerType | None:
    """The kind of organisation a "which/what … companies" clause asks for, if any."""
    words = re.findall(r"[\w’'-]+", clause.lower())
    for at, word in enumerate(words):
        if word not in ("which", "what"):
            continue
        for following in words[at + 1 : at + 2 + KIND_MODIFIERS]:
            kind = next((kind for kind, (nouns, _) in _KINDS.items() if nouns.fullmatch(following)), None)
            if kind is not None:
                return kind
            if following in _NOT_NAMES or following in _KIND_STOP:
                break
        return None  # only the first wh-word's phrase
    return None


# "When the declaration came out, what did …?" asks "what": the main clause after the comma decides.
_MAIN_CLAUSE = re.compile(r",\s*((?:what|which|who|whom|whose|where|when|why|how)\b.*)$", re.I | re.S)


def _main_clause(question: str) -> str:
    return question[_main_clause_start(question) :]


def _main_clause_start(question: str) -> int:
    main = _MAIN_CLAUSE.search(question)
    return main.start(1) if main else 0


def expected_type(question: str) -> AnswerType | None:
    clause = _main_clause(question)
    for answer_type, pattern in _QUESTION_TYPES:
        if pattern.search(clause):
            return answer_type
    return _asked_kind(clause)


_CAPITALISED = re.compile(r"(?<![\w’'-])[^\W\d_][\w'’.&-]*")
# A sentence's first word is a name when a list or another name follows it ("Huawei, Baidu and
# Tencent", "Fudan University sent", "Huawei's chips"); alone it is usually just a capital.
_OPENS_WITH_NAME = re.compile(r"[\s\"“‘'(]*[^\W\d_][\w'’.&-]*(?:[’']s\b|\s*,|\s+and\b|\s+[A-Z])")


def _capitalised(text: str, skip_first: bool) -> set[str]:
    """The capitalised words of ``text``, lower-cased, possessive and outer dots left out; the
    first word of the text left out when ``skip_first``."""
    first = re.search(r"[^\W\d_]", text)
    words = set()
    for match in _CAPITALISED.finditer(text):
        word = match.group()
        if word[0].isupper() and not (skip_first and first is not None and match.start() == first.start()):
            words.add(re.sub(r"[’']s$", "", word.strip(".’'")).lower())
    return words


def has_type(sentence: str, answer_type: AnswerType | None, passage: str = "", question: str = "") -> bool:
    """Whether ``sentence`` holds a span of ``answer_type`` (always true without a type).

    For a kind of organisation the sentence must name something the ``question`` does not, and
    the word that says what kind its names are may stand anywhere in the ``passage`` it was cut
    from ("Three tech firms took part. Huawei showed …")."""
    if answer_type is None:
        return True
    if answer_type in _KINDS:
        asked = _capitalised(question, skip_first=False)
        names = _capitalised(sentence, skip_first=not _OPENS_WITH_NAME.match(sentence))
        named = any(name not in _NOT_NAMES and name not in asked for name in names)
        return named and bool(_KINDS[answer_type][1].search(passage or sentence))
    if answer_type in _SATISFIED_BY:
        return bool(_SATISFIED_BY[answer_type].search(sentence))
    if answer_type == "duration":
        return bool(_DURATION.search(sentence) or _DATE.search(sentence))
    if answer_type == "number":  # a count: the parts of a date count nothing
        return bool(_NUMBER.search(_DATE.sub(" ", sentence)))
    if answer_type == "place":  # not any capital: "in Shanghai", or names that open the sentence
        return _names_place(sentence) or bool(_OPENS_WITH_NAME.match(sentence))
    return bool(_NAME_WORD.search(sentence.strip()))  # not the sentence's first word


# Capitalised words that open questions or stand for the reader, not for an entity of the text.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "i a an the this that these those what which who whom whose when where why how is are was were "
        "do does did has have had can could will would should may might must in on at of for to and or",
    )
)
_WORD = re.compile(r"[\w’'&.-]+")
_LETTERS = re.compile(r"[^\W\d_]+")  # a word without its digits or punctuation
_ACRONYM = re.compile(r"^[A-Z][A-Z&.]*[A-Z]\.?$")
_LINKS = frozenset({"and", "of", "the", "for", "on", "in"})


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def question_names(question: str) -> list[str]:
    """The question's names: runs of capitalised words ("World Health Organization", "UNIDO").

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
    for position, match in enumerate(_WORD.finditer(question)):
        if question[previous_end : match.start()].strip():
            previous_was_name = False  # "Li Qiang, Xi Jinping": a comma ends a name
        previous_end = match.end()
        word = match.group().strip(".’'-")
        possessive = word.endswith(("’s", "'s"))
        word = word.removesuffix("’s").removesuffix("'s")
        capitalised = bool(word) and word[0].isupper() and word.lower() not in _NOT_NAMES
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
    return list(zip(words, _stemmer().stemWords(words), strict=True))


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
    content = [w for w, _ in words if w not in _LINKS]
    width = len(letters)
    return any([w[0] for w in content[i : i + width]] == letters for i in range(len(content) - width + 1))


_ACRONYM_IN_TEXT = re.compile(r"(?<![\w&.])[A-Z][A-Z&.]*[A-Z](?![\w&])\.?")


def acronyms(question: str) -> list[tuple[int, int]]:
    """Character spans of the acronyms a question uses ("R&D", "IT", "U.S."), the first
    ``MAX_NAMES`` of them: a reader's question holds a few, and each costs a look at the passages."""
    return [match.span() for match in itertools.islice(_ACRONYM_IN_TEXT.finditer(question), MAX_NAMES)]


_LINK_WORDS = "|".join(sorted(_LINKS))
_LINK_GAP = re.compile(rf"(?:[\s&-]+(?:(?:{_LINK_WORDS})[\s&-]+)*)", re.I)


@functools.lru_cache(maxsize=256)
def _written_pattern(letters: str) -> re.Pattern[str]:
    """A run of words with these initials, linking words between them."""
    words = _LINK_GAP.pattern.join(f"([{c.upper()}{c}][^\\W\\d_]+)" for c in letters)
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


_JOINED_BEFORE = re.compile(r"(?<![\w.'’-])[A-Z][^\W\d_]*\s+$")  # a capitalised word just before
_JOINED_AFTER = re.compile(r"\s+[A-Z]")  # ... or just after


def spelled_out(acronym: str, text: str) -> bool:
    """Whether ``text`` writes ``acronym`` out ("research and development" for "R&D", "Information
    Technology" for "IT") and never uses the acronym itself, with or without dots.

    The words must be content words next to each other ("important to" does not spell "IT", nor
    "governments, the scientific" "GS"), and capitalised words a whole name or the end of one:
    "Declaration on Global" inside "Shanghai Declaration on Global AI Governance" is not "DG"."""
    letters = "".join(c.lower() for c in acronym if c.isalpha())
    if len(letters) < 2 or uses_acronym(acronym, text):
        return False
    written = _written_pattern(letters)
    run = written.search(text)
    while run is not None:  # searched again from the next character: runs may overlap
        if _spells(text, run):
            return True
        run = written.search(text, run.start() + 1)
    return False


def _spells(text: str, run: re.Match[str]) -> bool:
    """Whether a run of words with an acronym's initials can stand for it."""
    words = run.groups()  # one for each letter; linking words between them are left out
    if any(word.lower() in _NOT_NAMES for word in words):
        return False  # "in the transfer" is no "IT", nor "important to"
    capitals = [word[0].isupper() for word in words]
    if not all(capitals):
        return not any(capitals[1:])  # lower case, perhaps opening a sentence
    joined = _JOINED_BEFORE.search(text, max(0, run.start() - 40), run.start())
    return not (joined or _JOINED_AFTER.match(text, run.end()))


def names_in(name: str, words: list[tuple[str, str]]) -> bool:
    """Whether ``name`` occurs in a text given as ``_words(text)``, also turned round with "of"
    ("the Shanghai Government" in "the government of Shanghai"). A run of acronyms ("AI R&D")
    is found when each of them is."""
    name_words = _words(name)
    if _contains(words, name_words):
        return True
    if len(name_words) > 1 and _contains(words, [name_words[-1], ("of", "of"), *name_words[:-1]]):
        return True
    parts = name.split()
    if not all(_ACRONYM.match(part) for part in parts):
        return False
    return all(_contains(words, _words(part)) or _acronym_of(part, words) for part in parts)


MAX_NAMES = 8  # a question naming more is not a reader's question; the rest are not checked


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


# The noun a typed question counts or asks the holder of: "how many *countries*", "the
# *population* of", "who is the *director* of". A sentence that answers must speak of it.
_WHO_IS_THE = re.compile(
    r"^\s*(?i:who (?:is|was|are|were) )(?:(?i:the|an?) |[A-Z][\w-]*(?:'s|’s) )([a-z]+)\b"
)
# "Who *chaired* the summit?" asks for the holder of a title by its verb: the chairman.
_TITLE_VERB = re.compile(
    r"^\s*who (?:(?:will|would|shall|should|is going to|does|did|has|had|currently) )?"
    r"(chair(?:s|ed)?|(?:co-?)?found(?:s|ed)?|direct(?:s|ed)?|edit(?:s|ed)?|govern(?:s|ed)?|"
    r"manage[sd]?|head(?:s|ed)?|leads?|led|runs?|ran)\b",
    re.I,
)
_FOCUS = [
    re.compile(r"\bhow many (?!(?:of|are|is|were|was|do|does|did|have|has|will)\b)([a-z]+)", re.I),
    re.compile(
        r"\b(?:what|which) (?:is|was|are|were) the "
        r"(?:number of ([a-z]+)|(population|size|percentage|budget|cost|price))\b",
        re.I,
    ),
    _WHO_IS_THE,
    _TITLE_VERB,
]


# What a number counts sits beside it in its clause: "a *five-point pledge*", "*40 staff*", "a *staff
# of* 40", "more than 100 *countries*". Words beyond a comma, colon or bracket belong to another phrase.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]\u2014\u2013]|\s-\s")
COUNTED_AFTER = 3  # words after a number that may be what it counts ("five-point pledge to")
COUNTED_BEFORE = 2  # words before it ("a staff of 40", "a population of 24 million")


def counted_words(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the words that the numbers of ``sentence`` count: up to
    ``COUNTED_AFTER`` words after each number and ``COUNTED_BEFORE`` before it, within its clause,
    small words left out. The parts of a date count nothing ("July 8, 2024")."""
    undated = _DATE.sub(lambda match: " " * len(match.group()), sentence)
    breaks = [(match.start(), match.end()) for match in _CLAUSE_BREAK.finditer(sentence)]
    spans: set[tuple[int, int]] = set()
    for number in _NUMBER.finditer(undated):
        clause_start = max([end for _, end in breaks if end <= number.start()], default=0)
        clause_end = min([start for start, _ in breaks if start >= number.end()], default=len(sentence))
        after = list(_LETTERS.finditer(sentence, number.end(), clause_end))[:COUNTED_AFTER]
        before = list(_LETTERS.finditer(sentence, clause_start, number.start()))[-COUNTED_BEFORE:]
        for word in (*before, *after):
            if word.group().lower() not in _NOT_NAMES and not _NUMBER.fullmatch(word.group()):
                spans.add(word.span())
    return sorted(spans)


def focus(question: str) -> tuple[int, int] | None:
    """The character span of the noun that a counting or role question is about, if it has one
    (in its main clause: "When the summit opened, who chaired it?")."""
    start = _main_clause_start(question)
    clause = question[start:]  # searched on its own: "^" marks where the clause begins
    for pattern in _FOCUS:
        match = pattern.search(clause)
        if match:
            group = next(i for i in range(1, (pattern.groups or 0) + 1) if match.group(i))
            first, last = match.span(group)
            return start + first, start + last
    return None


# Titles that say who holds an office ("Premier Li Qiang", "Gerd Müller, UNIDO's director general").
# "head" and "leader" are left out: in a text they are as often no title ("a leader in AI").
_TITLE = re.compile(
    r"\b(?:director|president|chair(?:man|woman|person)?|secretary|premier|minister|chancellor|governor|"
    r"mayor|ceo|chief|founder|editor|principal|dean|rector|commissioner|ambassador|"
    r"spokes(?:man|woman|person)|manager|"
    # the office by its verb: "founded by Jack Ma", "chaired by Li Qiang"
    r"(?:co-?)?founded by|chaired by|directed by|edited by|governed by|managed by|headed by|led by|run by)\b",
    re.I,
)
# Whoever leads, by any title: "who is the *head* of UNIDO" or "who *heads* UNIDO" is answered by
# its director general.
_LEADS = frozenset(
    {"head", "leader", "boss", "chief", "heads", "headed", "lead", "leads", "led", "run", "runs", "ran"}
)
RoleAsked = Literal["any title", "this title"]


def role_asked(question: str) -> RoleAsked | None:
    """What office a "who is the … of" question asks the holder of: "any title" for a word for
    whoever leads ("head", "boss", "who runs"), answered by a sentence that holds any title; "this
    title" for a title itself ("mayor", "director") or its verb ("who chaired", "who founded"),
    answered by a sentence with a title that matches it (a sentence about the municipal government
    names no mayor, a party secretary is no minister, an editor founded nothing)."""
    question = _main_clause(question)
    verb = _TITLE_VERB.search(question)
    if verb is not None:
        return "any title" if verb.group(1).lower() in _LEADS else "this title"
    match = _WHO_IS_THE.search(question)
    if match is None:
        return None
    noun = match.group(1).lower()
    if noun in _LEADS:
        return "any title"
    return "this title" if _TITLE.fullmatch(noun) else None


def title_words(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the titles in ``sentence``."""
    return [match.span() for match in _TITLE.finditer(sentence)]
