"""HTML documentation pages, passage by passage: what reaches the passages, of what kind, under
which heading path, and how much page furniture comes along.

usage: PYTHONPATH=. HF_HUB_OFFLINE=1 python bench/html_pages.py [tuned|held-out]

Pages from /usr/share/doc (Debian's packages: texinfo, DocBook, Sphinx, asciidoc and Node.js
output); "tuned" are the pages the HTML renderer was looked at on (issue #15), "held-out" pages it
was not. Per page: the share of the main element's words (and of its whitespace-separated tokens,
Markdown punctuation aside) found in the passages' context and text as the model reads them; the
passages per kind; passages holding furniture (a permalink glyph, a skip link, a copy button);
passages whose context holds a heading path. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import collections
import re
import statistics
import sys
from pathlib import Path

from lxml import html as lh

from qa.core.config import Settings
from qa.encoders.sbert import SentenceTransformerEncoder
from qa.ingest.formats import parse
from qa.ingest.passages import build_passages

DOC = Path("/usr/share/doc")
PAGES = {
    "tuned": [
        "base-passwd/users-and-groups.html",
        "libffi8/html/Closure-Example.html",
        "libffi8/html/Introduction.html",
        "libffi8/html/Structures.html",
        "libffi8/html/The-Basics.html",
        "libffi8/html/index.html",
        "libjs-underscore/index.html",
        "libxslt1-dev/html/html/libxslt-templates.html",
        "ninja-build/manual.html",
        "nodejs/api/documentation.html",
        "nodejs/api/path.html",
        "python3/python-policy.html",
        "time/time.html",
        "valgrind/html/FAQ.html",
        "valgrind/html/QuickStart.html",
        "zlib1g-dev/examples/zlib_how.html",
    ],
    "held-out": [
        "bc/bc.html",
        "bzip2/manual.html",
        "fontconfig/fontconfig-user.html",
        "gcc-12-base/NEWS.html",
        "libexpat1-dev/expat.html/reference.html",
        "libxslt1-dev/html/html/libxslt-transform.html",
        "nettle-dev/nettle.html",
        "nodejs/api/buffer.html",
        "nodejs/api/fs.html",
        "nodejs/api/http.html",
        "shared-mime-info/shared-mime-info-spec.html/x34.html",
        "valgrind/html/manual-core.html",
        "valgrind/html/mc-manual.html",
        "xtrans-dev/xtrans.html",
    ],
}
INLINE = {"a", "span", "code", "b", "i", "em", "strong", "tt", "kbd", "samp", "var", "sup", "sub", "small"}
UNREAD = re.compile(r"[`*\[\]|\\<>]")  # Markdown punctuation the model's view blanks
FURNITURE_CONTEXT = re.compile(r"[¶§#🔗]\s*(?:>|$)")
FURNITURE_TEXT = re.compile(r"^\s*(?:[¶§🔗]|[Cc]opy)\s*$|\S[¶§]|Skip to (?:content|main)", re.M)


def main_text(raw: bytes) -> str:
    """The main element's text, a space around every block, with scripts, navigation and buttons removed."""
    tree = lh.document_fromstring(raw)
    for bad in tree.xpath("//script|//style|//nav|//footer|//header|//head|//button|//*[@role='navigation']"):
        bad.drop_tree()
    found = tree.xpath("//*[@role='main']") or tree.xpath("//main") or tree.xpath("//article")
    main = (found or tree.xpath("//body") or [tree])[0]
    for element in main.iter():
        if isinstance(element.tag, str) and element.tag not in INLINE:
            element.text, element.tail = " " + (element.text or ""), " " + (element.tail or "")
    return str(main.text_content())


def share(reference: str, got: str, pattern: str) -> float:
    wanted = collections.Counter(re.findall(pattern, reference))
    kept = wanted & collections.Counter(re.findall(pattern, got))
    return sum(kept.values()) / max(sum(wanted.values()), 1)


def run(names: list[str]) -> None:
    settings = Settings()
    encoder = SentenceTransformerEncoder.from_settings(settings)
    words, tokens, kinds, furniture, paths, total = [], [], collections.Counter(), 0, 0, 0
    for name in names:
        raw = (DOC / name).read_bytes()
        document = parse(Path(name).name, raw, ".html")
        found = build_passages(
            document, encoder.count_tokens, encoder.truncate, encoder.max_tokens,
            settings.chunk_tokens, settings.chunk_min_chars, layout=settings.layout,
        )  # fmt: skip
        read = "\n".join(p.context + "\n" + (p.view or p.text) for p in found)
        reference = main_text(raw)
        words.append(share(reference.lower(), read.lower(), r"\w+"))
        tokens.append(share(UNREAD.sub(" ", reference), UNREAD.sub(" ", read), r"\S+"))
        kinds.update(p.kind for p in found)
        bad = sum(
            bool(FURNITURE_CONTEXT.search(p.context) or FURNITURE_TEXT.search(p.view or p.text))
            for p in found
        )
        furniture, total = furniture + bad, total + len(found)
        headed = sum(" > " in p.context for p in found)
        paths += headed
        print(
            f"{name[:44]:44s} words {words[-1]:.3f} tokens {tokens[-1]:.3f} passages {len(found):4d} "
            f"furniture {bad:3d} heading paths {headed:4d} {dict(collections.Counter(p.kind for p in found))}"
        )
    print(
        f"all {len(names)} pages: word share mean {statistics.mean(words):.3f} (min {min(words):.3f}), "
        f"token share mean {statistics.mean(tokens):.3f}; passages {total} {dict(kinds)}; "
        f"with furniture {furniture}; with a heading path {paths}"
    )


if __name__ == "__main__":
    run(PAGES[sys.argv[1] if len(sys.argv) > 1 else "tuned"])
