"""English: the ``Language`` chunking, keyword search and the page-layout rules read.

Every English word list and English-word pattern of the pipeline lives in this package: here
what chunking, keyword search and layout need; in ``answers`` the cue words the learned reader's
features read (question words, stop words, years, months, numbers, units) and the acronym rules
search uses.
"""

from __future__ import annotations

import re

from qa.lang.language import Language

# Counts word pieces for each text, without special tokens.


ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "al",
        "fig",
        "figs",
        "no",
        "nos",
        "vol",
        "approx",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "gen",
        "gov",
        "sen",
        "rep",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "ph.d",
        "m.d",
        "b.a",
        "m.a",
        "cf",
        "ca",
    ]
)


# A sentence ends at terminal punctuation, optional closing quotes or brackets, then whitespace.
SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)")


MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)


DATE_LINE = re.compile(
    rf"^(?:(?:Published|Updated|Posted)(?: on)?:?\s*)?(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,?\s+)?"
    rf"(?:{MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{MONTH},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
    rf"(?:[\s,|]+\d{{1,2}}:\d{{2}}.*)?$",
    re.IGNORECASE,
)


READ_TIME = re.compile(r"^\d+\s*(?:min(?:ute)?s?|m)\.?\s*read$", re.IGNORECASE)


BYLINE = re.compile(
    r"^(?:By\s+)?(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3})(?:\s*[,|–—-]\s*(?P<role>.+))?$"
)


LINK_LINE = re.compile(
    r"^(?:Related|Read more|Read also|Also read|See also|More on this|Recommended)\s*:", re.I
)


FOOTER_START = re.compile(
    r"^(?:About the authors?(?:\(s\))?|About the writer|You may also like|Recommended for you|"
    r"More from|Keep up with|Sign up for|Subscribe to)\b",
    re.IGNORECASE,
)


PROMO = re.compile(r"\b(?:newsletter|subscrib\w*|sign up|unlock exclusive)\b", re.IGNORECASE)


AUTHOR_HEADING = re.compile(r"^About the (?:authors?(?:\(s\))?|writer)\s*$", re.IGNORECASE)


ANAPHOR = re.compile(
    r"^(?:It|Its|This|These|Those|They|Their|Them|He|His|She|Her|Such|The latter|The former)\b"
)


# words that end a sentence's subject: auxiliaries, common reporting verbs and sentence adverbs
SUBJECT_END = re.compile(
    r"\b(?:is|are|was|were|will|would|has|have|had|can|could|should|may|might|must|does|did|do|"
    r"said|says|also|then|now|still|which|that|who)\b|[,;:(\u2014]"
)


# ", said Jane Smith, the agency’s director general." after a closing quotation mark
ATTRIBUTION = re.compile(
    r"[\"\u201d],?\s+(?:said|says|added|adds)\s+(?P<speaker>[A-Z][^.;\"\u201c\u201d]{1,80}?)\s*[.;]"
)


QUOTE_OPEN = re.compile(r"^[\"\u201c]")


ENGLISH = Language(
    code="en",
    stemmer="english",
    stopwords="en",
    abbreviations=ABBREVIATIONS,
    sentence_end=SENTENCE_END,
    date_line=DATE_LINE,
    read_time=READ_TIME,
    byline=BYLINE,
    link_line=LINK_LINE,
    footer_start=FOOTER_START,
    promo=PROMO,
    author_heading=AUTHOR_HEADING,
    anaphor=ANAPHOR,
    subject_end=SUBJECT_END,
    attribution=ATTRIBUTION,
    quote_open=QUOTE_OPEN,
)
