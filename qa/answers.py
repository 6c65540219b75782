"""Expected answer types: what kind of span a question asks for, and whether a sentence has one.

"When will the centre open?" is not answered by a sentence that names no time, however close it
is in meaning. Classic extractive QA checks the expected answer type; this is a small rule-based
version of that check, on the question's wh-word and a few nouns:

- date: when, what/which date, year, month, day; satisfied by a month name, a four-digit year,
  a weekday or a relative time ("last year").
- number: how many, how much, what number/percentage/budget/cost/population; satisfied by
  digits or a number word.
- person: who, whom, whose; satisfied by a capitalised word that does not open the sentence.
- place: where; satisfied by a capitalised word that does not open the sentence.

Questions of any other shape (what, which, how, why) have no expected type and pass.
The rules are deliberately loose: they only ever reject sentences that cannot hold the answer.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["date", "number", "person", "place"]

_QUESTION_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|long|old|large|big|far)\b|\bwhat (?:is |was |are )?(?:the )?"
            r"(?:number|percentage|share|amount|budget|cost|price|population|size)\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"^\s*when\b|\b(?:what|which) (?:date|day|month|year|time)\b|\bin what year\b|\bsince when\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"^\s*(?:who|whom|whose)\b", re.I)),
    ("place", re.compile(r"^\s*where\b", re.I)),
]

_MONTHS = (
    r"Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
_DATE = re.compile(
    rf"\b(?:{_MONTHS})\b|\b(?:1[5-9]|20)\d\d\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
    r"\b(?:yesterday|today|tomorrow|(?:last|next|this) (?:year|month|week)|decade|century)\b|"
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|half|single|double|several)\b",
    re.I,
)
_NAME_WORD = re.compile(r"(?<=[\s(\"'“‘])[A-Z][\w'’.-]+")


def expected_type(question: str) -> AnswerType | None:
    for answer_type, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            return answer_type
    return None


def has_type(sentence: str, answer_type: AnswerType | None) -> bool:
    """Whether ``sentence`` holds a span of ``answer_type`` (always true without a type)."""
    if answer_type is None:
        return True
    if answer_type == "date":
        return bool(_DATE.search(sentence))
    if answer_type == "number":
        return bool(_NUMBER.search(sentence))
    return bool(_NAME_WORD.search(sentence.strip()))  # not the sentence's first word
