"""The web page in a real browser: Playwright drives Debian's Chromium against a real `qa serve`.

One server (over a private copy of the article plus a document full of HTML) and one browser
serve the whole module. Every expected value is read from the JSON API of the same server, so
the page is checked against what the service says, not against numbers written here. The
server-down test stops the server, so it is the last test of the module.

Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from qa.index.build import build_index
from tests.conftest import ROOT, article_copy, real_embedder, running_server

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `make test` installs it, Playwright never downloads one
ARTIFACTS = ROOT / "test-artifacts" / "web"
TIMEOUT_MS = 30_000  # two shared cores: the first query warms the model
UNIDO = "Which UN centre did UNIDO announce at WAIC?"
UNANSWERABLE = "what is the capital of France?"
HOSTILE_DOC = "harbour-notes.txt"
# The ships are outside the BMP: one character to Python (and to citations), two to JavaScript.
HOSTILE_TEXT = (
    "Harbour notes 🚢\n\n🚢🚢 "
    "The harbour bridge reopened on Monday after repairs to its deck. "
    "<script>window.__pwned = 'document script'</script>"
    "<img src=x onerror=\"window.__pwned = 'document img'\"> <b>Traffic</b> is back to normal.\n"
)
HOSTILE_QUESTION = (
    "<script>window.__pwned = 'question script'</script>"
    "<img src=x onerror=\"window.__pwned = 'question img'\"> when did the harbour bridge reopen?"
)
# Runs before the page's own script in every page: records what the status line said (to see the
# loading state) and any Content-Security-Policy violation (something tried to run inline).
WATCH = """
window.__statuses = [];
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  new MutationObserver(() => window.__statuses.push(status.textContent)).observe(
    status, { childList: true, characterData: true, subtree: true });
});
"""


@dataclass
class LiveServer:
    base: str
    stop: Callable[[], None]

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base}{path}", params=params, timeout=60)
        return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = article_copy(tmp_path_factory.mktemp("web"))
    (settings.corpus_dir / HOSTILE_DOC).write_text(HOSTILE_TEXT, encoding="utf-8")
    shutil.copy(ROOT / "tests" / "data" / "documents" / "httpx-timeouts.md", settings.corpus_dir)
    build_index(settings, real_embedder())
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(running_server(settings))
        yield LiveServer(base, stack.close)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (600 px tall, so a cited span must be scrolled to) that fails the test on any
    uncaught script error or dialog."""
    context = browser.new_context(viewport={"width": 1000, "height": 600})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    yield opened
    context.close()
    assert not problems


def shot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def ask(page: Page, question: str) -> None:
    """Type into the labelled question box and press Enter, as a person would."""
    box = page.get_by_label("Question")
    box.fill(question)
    box.press("Enter")


def nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__violations") == []
    assert page.locator("main script, main img, main b").count() == 0


def test_the_unido_question_highlights_the_answer_sentence_in_the_first_card(
    server: LiveServer, page: Page
) -> None:
    expected = server.api("/query", q=UNIDO, k=5, mode="hybrid")
    page.goto(f"{server.base}/")
    expect(page.get_by_label("Question")).to_be_focused()  # autofocus: type straight away
    ask(page, UNIDO)
    first = page.locator("#cards .card").first
    mark = first.locator("mark")
    expect(mark).to_have_count(1)
    highlighted = mark.text_content() or ""
    assert "UNIDO" in highlighted and "center of excellence" in highlighted
    assert highlighted == expected["answer"]["text"]
    top = expected["passages"][0]
    assert first.locator(".passage-text").text_content() == top["text"]
    assert first.locator(".rank").text_content() == "#1"
    assert first.locator(".score").text_content() == f"score {top['score']:.3f}"
    citation = first.locator(".cite")
    assert top["citation"]["title"] in (citation.text_content() or "")
    assert f"line {top['citation']['line_start']}" in (citation.text_content() or "")
    expect(page.locator("#cards .card")).to_have_count(len(expected["passages"]))
    expect(page.locator("#answer-text")).to_have_text(expected["answer"]["text"])
    assert "Searching…" in page.evaluate("window.__statuses")  # the loading state was shown
    assert f"q={quote(UNIDO, safe='').replace('%20', '+')}" in page.url  # the answer has a URL
    index = server.api("/index")
    expect(page.locator("#index-status")).to_have_text(
        f"{index['documents']} documents · {index['passages']} passages · index built {index['built_at']}"
    )
    shot(page, "answer")


def test_an_answer_that_carries_its_code_example_keeps_its_lines_and_is_highlighted(
    server: LiveServer, page: Page
) -> None:
    """A lead-in sentence's answer runs on over the code block it introduces (httpx's timeouts
    page): the answer box shows its lines as lines, and the card highlights it as far as the
    passage holds it."""
    question = "How do I set timeouts for an individual request?"
    expected = server.api("/query", q=question, k=5, mode="hybrid")
    answer = expected["answer"]
    assert answer and answer["text"].startswith("You can set timeouts") and "```" in answer["text"]
    page.goto(f"{server.base}/")
    ask(page, question)
    box = page.locator("#answer-text")
    expect(box).to_be_visible()
    assert answer["readable"] and "```" not in answer["readable"], "the fences are markup, blanked"
    assert box.text_content() == answer["readable"], "the box shows the answer as the cards read it"
    assert box.evaluate("node => getComputedStyle(node).whiteSpace") == "pre-wrap"
    assert box.evaluate("node => node.getBoundingClientRect().height") > 4 * 16  # several lines tall
    top = expected["passages"][0]
    assert top["citation"]["doc_id"] == answer["citation"]["doc_id"]
    start = answer["citation"]["start"] - top["citation"]["start"]
    end = min(answer["citation"]["end"], top["citation"]["end"]) - top["citation"]["start"]
    mark = page.locator("#cards .card").first.locator("mark")
    expect(mark).to_have_count(1)
    shown = top.get("readable") or top["text"]
    assert mark.text_content() == shown[start:end] and "timeout=10.0" in shown[start:end]
    shot(page, "answer-with-example")


def test_the_citation_opens_the_document_with_the_cited_span_highlighted(
    server: LiveServer, page: Page
) -> None:
    top = server.api("/query", q=UNIDO, k=5, mode="hybrid")["passages"][0]
    cited = top["citation"]
    document = server.api(f"/documents/{cited['doc_id']}")
    page.goto(f"{server.base}/?q={quote(UNIDO)}&k=5&mode=hybrid")  # a shared answer URL
    page.locator("#cards .card .cite").first.click()
    page.wait_for_url("**/view/**")
    mark = page.locator("#doc-text mark")
    expect(mark).to_have_text(top["text"])
    assert mark.text_content() == document["text"][cited["start"] : cited["end"]]
    assert page.locator("#doc-text").text_content() == document["text"]
    expect(mark).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0  # it was scrolled to, not merely near the top
    expect(mark).to_be_focused()
    expect(page.locator("#doc-title")).to_have_text(document["title"])
    shot(page, "document", full_page=False)  # the view as scrolled: the span in sight

    shared = page.context.new_page()  # the view's URL alone reproduces it
    shared.goto(page.url)
    expect(shared.locator("#doc-text mark")).to_have_text(top["text"])
    expect(shared.locator("#doc-text mark")).to_be_in_viewport()
    shared.close()

    page.get_by_role("link", name="Back to the question").click()
    expect(page.locator("#cards .card").first.locator("mark")).to_have_count(1)
    expect(page.get_by_label("Question")).to_have_value(UNIDO)


def test_the_page_is_usable_with_the_keyboard_alone(server: LiveServer, page: Page) -> None:
    expected = server.api("/query", q=UNIDO, k=3, mode="dense")
    page.goto(f"{server.base}/")
    expect(page.get_by_label("Question")).to_be_focused()  # the question box has the focus on arrival
    page.keyboard.type(UNIDO)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Passages")).to_be_focused()
    page.keyboard.press("ArrowUp")  # 5 -> 3
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mode")).to_be_focused()
    page.keyboard.press("ArrowDown")  # hybrid -> dense
    page.get_by_label("Question").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#cards .card")).to_have_count(len(expected["passages"]))
    assert "mode=dense" in page.url and "k=3" in page.url
    first_text = expected["passages"][0]["text"]
    expect(page.locator("#cards .card .passage-text").first).to_have_text(first_text)
    for _ in range(30):  # Tab on until the first citation link has the focus, then follow it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#cards .cite')"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#doc-text mark")).to_have_text(first_text)


def test_an_unanswerable_question_says_so(server: LiveServer, page: Page) -> None:
    expected = server.api("/query", q=UNANSWERABLE, k=5, mode="hybrid")
    assert expected["answerable"] is False  # the service flags it; the page must show that
    page.goto(f"{server.base}/")
    ask(page, UNANSWERABLE)
    expect(page.locator("#not-answered")).to_be_visible()
    expect(page.locator("#not-answered")).to_contain_text("Not answered by these documents")
    expect(page.locator("#answer")).to_be_hidden()
    expect(page.locator("#cards .card")).to_have_count(len(expected["passages"]))
    assert page.locator("#cards mark").count() == 0
    shot(page, "not-answered")

    ask(page, "UNIDO")  # a single term asks nothing: its passages and the server's note say so
    expect(page.locator("#query-message")).to_contain_text("a single term asks no question")
    expect(page.locator("#not-answered")).to_be_hidden()
    expect(page.locator("#answer")).to_be_hidden()
    expect(page.locator("#cards .card").first).to_be_visible()

    ask(page, UNIDO)  # and the state clears for the next, answerable, question
    expect(page.locator("#answer")).to_be_visible()
    expect(page.locator("#not-answered")).to_be_hidden()
    expect(page.locator("#query-message")).to_be_hidden()


def test_html_in_a_question_or_a_document_is_shown_as_text_and_never_runs(
    server: LiveServer, page: Page
) -> None:
    expected = server.api("/query", q=HOSTILE_QUESTION, k=5, mode="hybrid")
    hostile = next(p for p in expected["passages"] if "<script>" in p["text"])
    assert hostile["citation"]["doc_id"] == HOSTILE_DOC
    page.goto(f"{server.base}/")
    ask(page, HOSTILE_QUESTION)
    expect(page.locator("#status")).to_contain_text(f"“{HOSTILE_QUESTION}”")  # the question, as text
    card = page.locator("#cards .card").nth(hostile["rank"] - 1)
    expect(card.locator(".passage-text")).to_have_text(hostile["text"])
    answer = expected["answer"]
    if answer and answer["citation"]["doc_id"] == HOSTILE_DOC:
        expect(card.locator("mark")).to_have_text(answer["text"])
    nothing_ran(page)
    shot(page, "html-as-text")

    card.locator(".cite").click()
    expect(page.locator("#doc-text mark")).to_have_text(hostile["text"])
    assert page.locator("#doc-text").text_content() == HOSTILE_TEXT
    nothing_ran(page)


def test_a_refusal_is_shown_verbatim(server: LiveServer, page: Page) -> None:
    response = httpx.get(f"{server.base}/query", params={"q": "   ", "k": 5}, timeout=60)
    assert response.status_code == 422
    page.goto(f"{server.base}/")
    ask(page, "   ")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("422")
    expect(page.locator("#error .detail")).to_have_text(response.json()["detail"])
    expect(page.locator("#results")).to_be_hidden()
    shot(page, "refusal")

    page.goto(f"{server.base}/view/no-such-document.txt?start=0&end=5")
    missing = server.api("/documents/no-such-document.txt")
    expect(page.locator("#error .detail")).to_have_text(missing["detail"])

    page.goto(f"{server.base}/?q={quote(UNIDO)}&k=99")  # a shared URL with a k the server refuses
    refused = server.api("/query", q=UNIDO, k=99)
    expect(page.locator("#error .detail")).to_have_text(refused["detail"])

    page.goto(f"{server.base}/view/{HOSTILE_DOC}?start=5&end=100000")  # a span past the end
    expect(page.locator("#error")).to_contain_text("not inside")
    assert page.locator("#doc-text").text_content() == HOSTILE_TEXT  # the document is still shown


def test_a_server_that_is_down_is_reported(server: LiveServer, page: Page) -> None:
    """Last in the module: it stops the server."""
    page.goto(f"{server.base}/")
    expect(page.locator("#index-status")).to_contain_text("documents")
    server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base}/healthz", timeout=5)
    ask(page, UNIDO)
    expect(page.locator("#error")).to_contain_text("could not be reached")
    expect(page.locator("#submit")).to_be_enabled()  # the loading state ended
    expect(page.locator("#index-status")).to_contain_text("unavailable")
    shot(page, "server-down")
