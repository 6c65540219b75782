"""Languages: the word lists, patterns, stemmer and stop words of the language documents are in."""

from __future__ import annotations

from qa.lang.language import Language


def language(code: str) -> Language:
    """The ``Language`` of ``code``; ValueError naming the supported ones otherwise."""
    from qa.lang.en import ENGLISH

    known = {ENGLISH.code: ENGLISH}
    if code not in known:
        raise ValueError(f"no language {code!r}; supported: {', '.join(sorted(known))}")
    return known[code]
