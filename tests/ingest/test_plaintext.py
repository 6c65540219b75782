"""Plain text as people keep it: pages split by form feeds with running headers and footers
(RFCs, line-printer manuals), contents lines, numbered section headings, and text saved from a
terminal with escape sequences and overstrikes (``man ls > ls.txt``, groff's output)."""

from __future__ import annotations

from pathlib import Path

from qa.core.config import Settings
from qa.core.types import Document, Passage, page_of
from qa.index.build import build_index
from qa.index.generations import load_generation
from qa.ingest import plaintext, terminal
from qa.ingest.formats import parse
from qa.ingest.passages import build_passages
from qa.service.engine import open_searcher
from tests.conftest import real_embedder

ESC = "\x1b"
PARAGRAPHS = {
    "intro": "The relay accepts mail from any client that authenticates first.",
    "scope": "Servers that do not authenticate clients are out of scope here.",
    "queue": "Each message waits in the queue until the next hop answers.",
    "retry": "A message that fails is retried every fifteen minutes for five days.",
    "bounce": "After five days the sender gets a report naming the failed recipients.",
    "limits": "A line of a message holds at most one thousand octets.",
}


def _passages(name: str, text: str) -> tuple[list[Passage], Document]:
    document = parse(name, text.encode("utf-8"), Path(name).suffix)
    encoder, settings = real_embedder(), Settings()
    found = build_passages(
        document, encoder.count_tokens, encoder.truncate, encoder.max_tokens, 200, settings.chunk_min_chars
    )
    for passage in found:
        assert document.text[passage.start : passage.end] == passage.text
    return found, document


def _rfc() -> str:
    """Four pages split by form feeds, each with the memo's running header and a footer that
    numbers the page, a contents page with dot leaders, and numbered sections."""
    header = "RFC 9999                 Mail Relay Notes                  May 2031"
    pages = [
        "Mail Relay Notes\n\nAbstract\n\n"
        "   This memo describes how a mail relay queues and retries messages.\n\n"
        "Table of Contents\n\n   1.  Introduction ..........................................   2\n"
        "   2.  Queueing ..............................................   3\n"
        "   2.1.  Retries .............................................   3\n",
        f"1.  Introduction\n\n   {PARAGRAPHS['intro']}\n\n   {PARAGRAPHS['scope']}\n",
        f"2.  Queueing\n\n   {PARAGRAPHS['queue']}\n\n2.1.  Retries\n\n   {PARAGRAPHS['retry']}\n",
        f"3.  Reports\n\n   {PARAGRAPHS['bounce']}\n\n   {PARAGRAPHS['limits']}\n",
    ]
    footer = "Doe                          Informational                     [Page {}]"
    return "\f\n".join(
        f"{header}\n\n\n{page}\n\n\n{footer.format(number)}\n" for number, page in enumerate(pages, start=1)
    )


def test_paged_text_keeps_its_page_and_never_reads_running_lines_or_contents() -> None:
    found, document = _passages("rfc9999.txt", _rfc())
    read = " ".join(p.embedding_text for p in found)
    assert "Mail Relay Notes                  May" not in read and "[Page" not in read
    assert "......" not in read and "Queueing ....." not in " ".join(p.text for p in found)
    retry = next(p for p in found if "fifteen minutes" in p.text)
    assert page_of(document, retry.start) == 3
    # the text's title and the section's heading: which text and which section
    assert retry.context == "Mail Relay Notes > 2.1. Retries", retry.context
    assert retry.text.startswith("2.1.  Retries"), "a section's first passage reads its heading too"
    assert next(p for p in found if "thousand octets" in p.text).context == "Mail Relay Notes > 3. Reports"


def test_terminal_text_reads_as_the_terminal_shows_it(tmp_path: Path) -> None:
    """groff's terminal output: bold and underline as escape sequences and overstrikes, a running
    header in bold after every page's gap, and bold numbered headings."""
    running = f"{ESC}[1mrelay              v1.2              2031-05-01{ESC}[0m"
    sections = [
        ("1.  Introduction", f"The {ESC}[1mrelayd{ESC}[22m daemon {PARAGRAPHS['intro'][10:]}"),
        ("2.  Queueing", f"Run r\bre\bel\bla\bay\byd\bd -q to {PARAGRAPHS['queue'][5:].lower()}"),
        ("3.  Reports", f"The _\bs_\bp_\bo_\bo_\bl folder. {PARAGRAPHS['bounce']}"),
    ]
    text = f"{ESC}[1mRelay manual{ESC}[0m\n\n"
    # a page of 24 lines each: groff sets the running header at the top of every page
    filler = "".join(f"Note {n}: the relay logs each delivery attempt with its outcome.\n" for n in range(22))
    for heading, body in sections:
        text += f"\n\n\n{running}\n\n\n{ESC}[1m{heading}{ESC}[0m\n\n{body}\n{filler}"
    found, document = _passages("relay.txt", text)
    assert document.title == "Relay manual"
    read = " ".join(p.embedding_text for p in found)
    assert ESC not in read and "\b" not in read and "2031" not in read
    queue = next(p for p in found if "queue" in p.embedding_text)
    assert queue.context == "Relay manual > 2. Queueing"
    assert "Run relayd -q to" in " ".join(queue.embedding_text.split())
    assert "spool folder" in " ".join(next(p for p in found if "spool" in p.embedding_text).view.split())
    assert all(p.embedding_text.strip() for p in found), "no passage is an escape sequence alone"

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "relay.txt").write_text(text)
    settings = Settings(corpus_dir=corpus, index_dir=index)
    build_index(settings, real_embedder())
    searcher = open_searcher(load_generation(index), real_embedder(), settings)
    # bold and underlined words are found by keyword search as the words they show
    [hit] = searcher.search("which folder is the spool?", 1, "keyword").hits
    assert "_\bs_\bp_\bo_\bo_\bl" in hit.passage.text


MANUAL_PAGE = """RELAYD(8)                  System Manager's Manual                 RELAYD(8)

NAME
       relayd - queue and forward mail

SYNOPSIS
       relayd [-q] [-f file]

DESCRIPTION
       relayd accepts mail from clients that authenticate and forwards it to
       the next hop, keeping every message in its queue until then. A message
       that fails is retried every fifteen minutes for five days; after that
       the sender gets a report naming the recipients that failed.

       Each client connection is served by its own process, which drops its
       privileges once the message is in the queue.

OPTIONS
   Queue control
       -q     Process the queue once and exit.

       -r minutes
              Retry failed messages every minutes instead of every fifteen
              minutes.

   Configuration
       -f file
              Read the configuration from file instead of the default.

       -n     Check the configuration and exit without starting.

EXIT STATUS
       0 on success, 1 when the queue cannot be opened, 2 when the
       configuration holds an error.

relayd 2.1                        May 2031                         RELAYD(8)
"""


def test_a_manual_page_saved_as_text_has_its_sections_and_its_name_as_title() -> None:
    """``man relayd > relayd.txt``: sections at the margin over a body indented seven columns,
    subsections at three; the header line sets its fields apart and is no title."""
    found, document = _passages("relayd.txt", MANUAL_PAGE)
    assert document.title == "relayd - queue and forward mail"
    contexts = {p.context for p in found if "configuration from file" in p.text}
    assert contexts == {"relayd - queue and forward mail > Configuration"}, contexts
    assert next(p for p in found if "cannot be opened" in p.text).context.endswith("> EXIT STATUS")
    assert (
        "pdf_headings" not in parse("prose.txt", MANUAL_PAGE.replace("       ", "").encode(), ".txt").metadata
    )


def test_underlined_headings_give_the_path_and_their_rules_are_never_read() -> None:
    """A plain text set as reStructuredText and many READMEs are: a title over "=====", sections
    over "-----"; a lone rule under a table's header is no heading."""
    text = (
        "Relay notes\n===========\n\nThis file describes the relay.\n\n"
        f"Queueing\n--------\n\n{PARAGRAPHS['queue']}\n\n"
        f"Retries\n-------\n\n{PARAGRAPHS['retry']}\n"
    )
    found, document = _passages("notes.txt", text)
    assert document.title == "Relay notes"
    retry = next(p for p in found if "fifteen minutes" in p.text)
    assert retry.context == "Relay notes > Retries" and "---" not in retry.embedding_text
    assert "===" not in " ".join(p.embedding_text for p in found)
    table = "Name    Value\n----\nrelay   on\n\nThe relay is on.\n"
    assert "pdf_headings" not in parse("table.txt", table.encode(), ".txt").metadata


def test_numbered_lines_that_are_a_list_or_a_sentence_are_no_headings() -> None:
    steps = "\n\n".join(f"{n}. {step}" for n, step in enumerate(["Unpack it", "Build it", "Run it"], 1))
    text = f"Setup\n\n{steps}\n\n{PARAGRAPHS['intro']}\n\n1. the lower-case item\n\n{PARAGRAPHS['queue']}\n"
    document = parse("setup.txt", text.encode(), ".txt")
    assert "pdf_headings" not in document.metadata
    two = "1.  Introduction\n\nSome words here.\n\n2.  Queueing\n\nMore words.\n"
    assert "pdf_headings" not in plaintext.analyse(two), "two numbered lines are chance, not sections"


def test_control_sequences_read_as_their_visible_characters_in_place() -> None:
    for source, shown in [
        (f"{ESC}[1mman{ESC}[22m(1), next", "man(1), next"),
        ("N\bNA\bAM\bME\bE here", "NAME here"),
        ("_\bb_\bo_\bx and b\b_o\b_x", "box and box"),
        (f"{ESC}]8;;http://x.y/a b\x07link{ESC}]8;;\x07 end", "link end"),
    ]:
        read = terminal.read(source)
        assert len(read) == len(source) and " ".join(read.split()) == shown
        assert terminal.visible(source) == shown
    assert terminal.read("plain words") == "plain words"


def test_ordinary_text_keeps_what_looks_like_furniture_or_headings() -> None:
    """What a reviewer found taken for furniture or headings: templated entries beside double
    blank lines, a log, a numbered list whose even items wrap, status lines, an escape sequence
    left open, and a NEWS file whose form feeds part its releases."""
    minutes = "Minutes\n\n\n" + "".join(
        f"Meeting of March {day}, 2023\n\nPresent: Ann, Bob. The board approved item {day}.\n\n\n"
        for day in range(1, 5)
    )
    assert "furniture" not in parse("minutes.txt", minutes.encode(), ".txt").metadata
    log = "".join(
        f"2031-05-01 10:00:{second:02d} INFO relay queued message {second}\n" + "\n\n" * (second % 7 == 0)
        for second in range(60)
    )
    assert "furniture" not in parse("relay.log.txt", log.encode(), ".txt").metadata
    wrapped = "\n\n".join(
        [
            "Install it as follows.",
            "1. Unpack the archive",
            "2. Build it with make, which takes a while\n   on a slow machine",
            "3. Install the binary",
            "4. Edit the configuration, which lives in\n   the etc folder",
            "5. Start the relay",
        ]
    )
    statuses = (
        "Replies\n\n200 OK\n\nThe request worked.\n\n404 Not Found\n\nNo such page.\n\n"
        "500 Server Error\n\nIt broke.\n"
    )
    for text in (wrapped, statuses):
        assert "pdf_headings" not in parse("list.txt", text.encode(), ".txt").metadata, text
    found, _ = _passages("open.txt", f"Title\n\nSome text {ESC}]0;a window title\nThe daemon relays mail.\n")
    assert "relays mail" in " ".join(p.embedding_text for p in found)
    assert " ".join(terminal.read(f"{ESC}[1mfoo{ESC}(B{ESC}[m bar").split()) == "foo bar"
    found, _ = _passages("end.txt", f"Title\n\n{PARAGRAPHS['intro']}\n\n{ESC}[0m\n")
    assert all(p.embedding_text.split("\n", 1)[-1].strip() for p in found)
    news = "\f\n".join(
        f"* Noteworthy changes in release 1.{minor} (2031-0{minor}-01) [stable]\n\n"
        f"** Bug fixes\n\n  The relay no longer drops message {minor} on restart.\n"
        for minor in range(1, 6)
    )
    document = parse("NEWS.txt", news.encode(), ".txt")
    furniture = {document.text[start:end] for start, end in document.metadata.get("furniture", [])}
    assert not any("Noteworthy" in line for line in furniture), furniture


def _bold(text: str) -> str:
    """``text`` overstruck in bold, as groff writes it for a terminal."""
    return "".join(f"{char}\b{char}" if char.strip() else char for char in text)


def test_manual_pages_with_formatting_kept_or_tabs_read_as_plain_ones() -> None:
    """`MAN_KEEP_FORMATTING=1 man x > x.txt` overstrikes headings in bold, three bytes a
    character; `man x | col -b` sets indentation and gaps with tabs. Both read as the plain page."""
    plain = parse("relayd.txt", MANUAL_PAGE.encode(), ".txt")
    heads = [" ".join(plain.text[s:e].split()) for s, e, _ in plain.metadata["pdf_headings"]]
    bold = "\n".join(
        _bold(line) if line.strip() and not line.startswith("       ") else line
        for line in MANUAL_PAGE.split("\n")
    )
    tabbed = "\n".join(line.replace("        ", "\t") for line in MANUAL_PAGE.split("\n"))
    for variant in (bold, tabbed):
        document = parse("relayd.txt", variant.encode(), ".txt")
        shown = [
            " ".join(terminal.visible(document.text[s:e]).split())
            for s, e, _ in document.metadata["pdf_headings"]
        ]
        assert shown == heads and document.title == plain.title


def test_ordinary_text_keeps_its_first_line_as_title_and_its_sections_in_sequence() -> None:
    """A letter with its sender set at the right and a command's output are titled by their first
    line; a section numbered irregularly ("3. Terms and definitions." ends a sentence) costs no
    more than itself; chapters of uneven length are no running lines; a contents list under its
    heading is not read into the section's first passage."""
    letter = " " * 44 + "Jane Doe\n" + " " * 44 + "12 Elm Street\n\nDear Sir,\n\nThe relay is fixed.\n"
    assert parse("letter.txt", letter.encode(), ".txt").title == "Jane Doe"
    df = "Filesystem           Size  Used Avail Use% Mounted on\n/dev/sda1  20G  5G  15G  25% /\n\nChecked.\n"
    assert parse("df.txt", df.encode(), ".txt").title.startswith("Filesystem")
    names = ["Scope", "Queueing", "Terms and definitions.", "Retries", "Reports", "Limits"]
    sections = "".join(
        f"{n}. {name}\n\n{list(PARAGRAPHS.values())[n - 1]}\n\n" for n, name in enumerate(names, 1)
    )
    document = parse("spec.txt", f"Relay spec\n\n{sections}".encode(), ".txt")
    found = [" ".join(document.text[s:e].split()) for s, e, _ in document.metadata["pdf_headings"]]
    assert found == ["1. Scope", "2. Queueing", "4. Retries", "5. Reports", "6. Limits"], found
    novel = "The Relay\n" + "".join(
        f"\n\n\nChapter {n}\n\n\n" + "".join(f"Paragraph {i} of the story.\n\n" for i in range(6 + 9 * n))
        for n in range(1, 6)
    )
    assert "furniture" not in parse("novel.txt", novel.encode(), ".txt").metadata
    leaders = "".join(f"   {n}. Part {n} {'.' * 30} {n}\n" for n in range(1, 8))
    usage = f"Usage\n-----\n\n{PARAGRAPHS['queue']}\n"
    manual = f"Relay manual\n============\n\nContents\n--------\n\n{leaders}\n{usage}"
    passages, _ = _passages("manual.txt", manual)
    assert all("Part 3" not in p.text for p in passages), [p.text for p in passages]
