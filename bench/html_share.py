"""Share of a page's visible main text that survives into the parsed document text.

usage: PYTHONPATH=. python bench/html_share.py

Over the first 80 HTML pages under /usr/share/doc (Debian's own manuals: DocBook, texinfo and
Sphinx output), the visible text is the page's text with scripts, styles, head, nav, header and
footer removed; the share is the fraction of its words (counted with multiplicity) found in the
parsed text. Compares trafilatura's plain extraction (the parser before) with qa's HtmlParser;
figures in docs/benchmarks.md.
"""

import glob
import re
import statistics
from collections import Counter
from pathlib import Path

import trafilatura
from lxml import html as lh


def visible(raw):
    tree = lh.fromstring(raw.encode())
    for bad in tree.xpath("//script|//style|//nav|//footer|//header|//head"):
        bad.drop_tree()
    return tree.text_content()


def share(reference, got):
    a, b = Counter(re.findall(r"\w+", reference.lower())), Counter(re.findall(r"\w+", got.lower()))
    return sum((a & b).values()) / max(sum(a.values()), 1)


def run(extract):
    files = [p for p in sorted(glob.glob("/usr/share/doc/**/*.html", recursive=True)) if Path(p).is_file()][
        :80
    ]
    shares = []
    for f in files:
        raw = Path(f).read_bytes().decode("utf-8", "replace")
        v = visible(raw)
        if len(v.split()) < 40:
            continue
        shares.append(share(v, extract(f, raw)))
    return shares


if __name__ == "__main__":
    from qa.core.errors import DocumentError
    from qa.ingest.formats import parse

    def ours(f, raw):
        try:
            return parse(Path(f).name, raw.encode(), ".html").text
        except DocumentError:
            return ""

    variants = {
        "trafilatura text (before)": lambda f, raw: trafilatura.extract(raw) or "",
        "qa HtmlParser (now)": ours,
    }
    for name, fn in variants.items():
        s = run(fn)
        mean, median, under = statistics.mean(s), statistics.median(s), sum(x < 0.8 for x in s)
        print(f"{name}: pages {len(s)}, mean {mean:.3f}, median {median:.3f}, under 0.8: {under}")
