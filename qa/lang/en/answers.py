"""English for the rule-based reader: answer types, names, acronyms, titles and focus nouns.

The reader (``qa.answer``) is English through and through, so it reads these directly; what the
rest of the pipeline needs of a language is ``qa.lang.en.ENGLISH``.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Literal

from qa.lang.en import ENGLISH

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


MONEY_WORDS = (
    r"(?:cost|costs|costing|price|prices|priced|budget|budgets|funding|money|spend|spent|pay|paid|"
    r"salary|fee|fees|invest\w*|worth)"
)


QUESTION_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
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
            rf"\bhow (?:much|expensive)\b.*\b{MONEY_WORDS}\b|\bhow (?:much|expensive)\b.*\b(?:cost|pay)\w*|"
            rf"\bwhat (?:is |was |are |were )?(?:the )?(?:\w+ )?{MONEY_WORDS}\b",
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


MONTHS = (
    r"Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)


DATE = re.compile(
    rf"\b(?:{MONTHS})\b(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,?)?|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})\b|"
    r"\b(?:1[5-9]|20)\d\d\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
    r"\b(?:yesterday|today|tomorrow|(?:last|next|this) (?:year|month|week)|decade|century)\b|"
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
)


NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|half|single|double|several|few|many"
)


NUMBER = re.compile(rf"\d|\b(?:{NUMBER_WORDS})\b", re.I)


TIME = re.compile(
    r"\b\d{1,2}(?:[:.]\d\d)?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\b\d{1,2}:\d\d\b|\bo['’]clock\b|\bnoon\b|"
    r"\bmidnight\b|\b24/7\b|\baround the clock\b",
    re.I,
)


AGE = re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|\bborn (?:in|on)\b|\bbirthday\b", re.I)


MONEY = re.compile(
    r"[$€£¥₹]|\b(?:dollars?|euros?|pounds sterling|yuan|renminbi|RMB|USD|EUR|GBP|CNY|JPY|yen|francs?|"
    r"rupees?|won)\b",
    re.I,
)


DURATION = re.compile(
    rf"\b(?:\d+|{NUMBER_WORDS}|a|an)[- ](?:years?|months?|weeks?|days?|hours?|minutes?|decades?)\b|"
    r"\bsince\b",
    re.I,
)


CONTACT = re.compile(
    r"https?://|\bwww\.|\b[\w-]+\.(?:com|org|net|int|gov|edu|io|cn|uk)\b|\b[\w.+-]+@[\w-]+\.\w+|"
    r"\+?\d[\d ()-]{6,}\d|"
    r"(?-i:\b\d+[a-z]?,? (?:[A-Z][\w'’.-]* ){1,4}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Way|Drive|Square|Lu)\b)",
    re.I,
)


NAME_WORD = re.compile(r"(?<=[\s(\"'“‘])[A-Z][\w'’.-]+")


PLACE_WORD = re.compile(
    r"\b(?:in|at|near|from|to|into|across|outside|inside|within|throughout|around|between|based in)\s+"
    r"(the\s+)?([^\W\d_][\w.’'-]*)",
    re.I,
)


SATISFIED_BY: dict[AnswerType, re.Pattern[str]] = {
    "contact": CONTACT,
    "time": TIME,
    "age": AGE,
    "money": MONEY,
    "date": DATE,
}


# The organisations a "which …" question may ask for by kind: the nouns a reader asks with, and the
# words a passage names such organisations with (in the name, "Middlesex University", or beside it,
# "chipmakers such as"). Sectors and fields ("industry", "academia") are not organisations. Most
# kinds carry their noun in their names ("Bank of China", "Ruijin Hospital"); companies seldom do.
def self_named(nouns: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(nouns, re.I), re.compile(rf"(?<![\w-])(?:{nouns})\b", re.I)


COMPANIES = (
    r"compan(?:y|ies)|firms?|corporations?|start-?ups?|enterprises?|conglomerates?|(?:chip|car|auto)?makers?|"
    r"manufacturers?|vendors?|suppliers?|brands?|giants?"
)


# (the nouns a question asks with, the words a passage names such organisations with)
KINDS: dict[AnswerType, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "company": (
        re.compile(COMPANIES, re.I),
        # not "decision-makers" or "policy-makers": a hyphen joins the word to what it qualifies
        re.compile(rf"(?<![\w-])(?:{COMPANIES}|corp|inc|ltd|llc|plc|gmbh|business(?:es)?)\b", re.I),
    ),
    "university": self_named(r"universit(?:y|ies)|colleges?|schools?|academ(?:y|ies)"),
    "bank": self_named(r"banks?"),
    "hospital": self_named(r"hospitals?|clinics?"),
    "museum": self_named(r"museums?|galler(?:y|ies)"),
}


# "what kind of firms" asks for a description, not for names
KIND_STOP = frozenset({"kind", "kinds", "type", "types", "sort", "sorts"})


# "When the declaration came out, what did …?" asks "what": the main clause after the comma decides.
MAIN_CLAUSE = re.compile(r",\s*((?:what|which|who|whom|whose|where|when|why|how)\b.*)$", re.I | re.S)


CAPITALISED = re.compile(r"(?<![\w’'-])[^\W\d_][\w'’.&-]*")


# A sentence's first word is a name when a list or another name follows it ("Huawei, Baidu and
# Tencent", "Fudan University sent", "Huawei's chips"); alone it is usually just a capital.
OPENS_WITH_NAME = re.compile(r"[\s\"“‘'(]*[^\W\d_][\w'’.&-]*(?:[’']s\b|\s*,|\s+and\b|\s+[A-Z])")


# Capitalised words that open questions or stand for the reader, not for an entity of the text.
NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "i a an the this that these those what which who whom whose when where why how is are was were "
        "do does did has have had can could will would should may might must in on at of for to and or",
    )
)


WORD = re.compile(r"[\w’'&.-]+")


LETTERS = re.compile(r"[^\W\d_]+")  # a word without its digits or punctuation


ACRONYM = re.compile(r"^[A-Z][A-Z&.]*[A-Z]\.?$")


LINKS = frozenset({"and", "of", "the", "for", "on", "in"})


@functools.cache
def stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(ENGLISH.stemmer)


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


# The noun a typed question counts or asks the holder of: "how many *countries*", "the
# *population* of", "who is the *director* of". A sentence that answers must speak of it.
WHO_IS_THE = re.compile(r"^\s*(?i:who (?:is|was|are|were) )(?:(?i:the|an?) |[A-Z][\w-]*(?:'s|’s) )([a-z]+)\b")


# "Who *chaired* the summit?" asks for the holder of a title by its verb: the chairman.
TITLE_VERB = re.compile(
    r"^\s*who (?:(?:will|would|shall|should|is going to|does|did|has|had|currently) )?"
    r"(chair(?:s|ed)?|(?:co-?)?found(?:s|ed)?|direct(?:s|ed)?|edit(?:s|ed)?|govern(?:s|ed)?|"
    r"manage[sd]?|head(?:s|ed)?|leads?|led|runs?|ran)\b",
    re.I,
)


FOCUS = [
    re.compile(r"\bhow many (?!(?:of|are|is|were|was|do|does|did|have|has|will)\b)([a-z]+)", re.I),
    re.compile(
        r"\b(?:what|which) (?:is|was|are|were) the "
        r"(?:number of ([a-z]+)|(population|size|percentage|budget|cost|price))\b",
        re.I,
    ),
    WHO_IS_THE,
    TITLE_VERB,
]


# What a number counts sits beside it in its clause: "a *five-point pledge*", "*40 staff*", "a *staff
# of* 40", "more than 100 *countries*". Words beyond a comma, colon or bracket belong to another phrase.
CLAUSE_BREAK = re.compile(r"[,;:()\[\]\u2014\u2013]|\s-\s")


# Titles that say who holds an office ("Premier Jane Smith", "Ann Lee, the agency's director general").
# "head" and "leader" are left out: in a text they are as often no title ("a leader in AI").
TITLE = re.compile(
    r"\b(?:director|president|chair(?:man|woman|person)?|secretary|premier|minister|chancellor|governor|"
    r"mayor|ceo|chief|founder|editor|principal|dean|rector|commissioner|ambassador|"
    r"spokes(?:man|woman|person)|manager|"
    # the office by its verb: "founded by Jack Ma", "chaired by the premier"
    r"(?:co-?)?founded by|chaired by|directed by|edited by|governed by|managed by|headed by|led by|run by)\b",
    re.I,
)


# Whoever leads, by any title: "who is the *head* of the agency" or "who *heads* it" is answered by
# its director general.
LEADS = frozenset(
    {"head", "leader", "boss", "chief", "heads", "headed", "lead", "leads", "led", "run", "runs", "ran"}
)


RoleAsked = Literal["any title", "this title"]
