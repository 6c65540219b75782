// The qa web page: a client of the JSON API, drawn from the URL so that every view can be shared.
//   /?q=…&k=…&mode=…             the answer to a question
//   /view/<doc_id>?start=…&end=…  a document with the cited span highlighted and scrolled into view
// Text from documents and questions only ever reaches the DOM through textContent / text nodes,
// never as HTML; the page's Content-Security-Policy (script-src 'self') backs that up.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const LAST_QUERY = "qa:last-query"; // where the document view's "back" link returns to
  let latestRequest = 0; // answers to superseded requests are dropped, not drawn

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  // Build an element from a tag, properties and children (strings become text nodes, never HTML).
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  // Citations count characters as Python does (code points); JavaScript strings count UTF-16
  // units, which differ after any character outside the BMP (emoji, some CJK). Convert.
  function codePointLength(text) {
    let count = 0;
    for (const _ of text) count += 1;
    return count;
  }

  function unitOffset(text, codePoints) {
    let units = 0;
    let seen = 0;
    for (const ch of text) {
      if (seen === codePoints) break;
      units += ch.length;
      seen += 1;
    }
    return units;
  }

  // text with the code-point span [start, end) wrapped in <mark>: [before, mark, after].
  function highlighted(text, start, end) {
    const from = unitOffset(text, start);
    const to = unitOffset(text, end);
    const mark = el("mark", { text: text.slice(from, to) });
    return [text.slice(0, from), mark, text.slice(to)];
  }

  function encodeDocId(docId) {
    return docId.split("/").map(encodeURIComponent).join("/");
  }

  function viewUrl(citation) {
    return `/view/${encodeDocId(citation.doc_id)}?start=${citation.start}&end=${citation.end}`;
  }

  function counted(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  function linesLabel(first, last) {
    return first === last ? `line ${first}` : `lines ${first}–${last}`;
  }

  function citationLink(citation) {
    let label = `${citation.title} — ${citation.doc_id}, ${linesLabel(citation.line_start, citation.line_end)}`;
    if (citation.page !== null && citation.page !== undefined) label += `, page ${citation.page}`;
    return el("a", { href: viewUrl(citation), className: "cite", text: label });
  }

  // GET a JSON resource; a 4xx/5xx becomes an ApiError carrying the server's detail verbatim.
  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new ApiError(0, "The server could not be reached. Is it running?");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.detail !== undefined ? body.detail : `HTTP ${response.status}`;
      throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return body;
  }

  function errorHeading(error) {
    if (!(error instanceof ApiError)) return "This view cannot be shown";
    return error.status ? `The server answered ${error.status}` : "No answer from the server";
  }

  function showError(error) {
    const box = byId("error");
    const heading = errorHeading(error);
    box.replaceChildren(el("strong", { text: heading }), el("p", { className: "detail", text: error.message }));
    box.hidden = false;
  }

  function setBusy(busy, message) {
    byId("status").textContent = message;
    byId("submit").disabled = busy;
    document.querySelector("main").setAttribute("aria-busy", String(busy));
  }

  function resetViews() {
    byId("error").hidden = true;
    byId("results").hidden = true;
    byId("document").hidden = true;
  }

  // The answer, highlighted where it lies inside the passage (offsets are document offsets, so
  // the span inside the passage is answer.start - passage.start); an answer that runs on over the
  // code block it introduces may end past the passage, and is highlighted as far as the passage goes.
  function passageText(passage, answer) {
    const cited = passage.citation;
    const from = answer ? Math.max(answer.citation.start, cited.start) : 0;
    const to = answer ? Math.min(answer.citation.end, cited.end) : 0;
    const inside = answer && answer.citation.doc_id === cited.doc_id && answer.citation.start >= cited.start && from < to;
    // the text with its markup blanked out (same length, so offsets still hold), whatever the kind:
    // a code passage is often prose around a block, and its code reads as written; code keeps its lines
    const code = passage.kind === "code";
    const shown = passage.readable || passage.text;
    const text = el(code ? "pre" : "p", { className: code ? "passage-code" : "passage-text" });
    if (inside) {
      text.append(...highlighted(shown, from - cited.start, to - cited.start));
    } else {
      text.textContent = shown;
    }
    return text;
  }

  function card(passage, answer) {
    const header = el(
      "p",
      { className: "card-head" },
      el("span", { className: "rank", text: `#${passage.rank}` }),
      el("span", { className: "score", text: `score ${passage.score.toFixed(3)}` }),
    );
    if (passage.kind !== "body") header.append(el("span", { className: "kind", text: passage.kind }));
    return el(
      "li",
      { className: "card" },
      header,
      passageText(passage, answer),
      el("p", { className: "citation" }, citationLink(passage.citation)),
    );
  }

  function drawAnswer(body) {
    // the server's note says why no answer is given (a single term asks no question)
    byId("query-message").hidden = !body.message;
    byId("query-message").textContent = body.message || "";
    byId("not-answered").hidden = body.answerable || Boolean(body.message);
    const answer = body.answerable ? body.answer : null;
    byId("answer").hidden = !answer;
    if (answer) {
      byId("answer-text").textContent = answer.readable || answer.text; // markup blanked, as in the cards
      byId("answer-citation").replaceChildren(citationLink(answer.citation));
    }
    byId("cards").replaceChildren(...body.passages.map((passage) => card(passage, answer)));
    byId("results").hidden = false;
  }

  async function ask(question, k, mode) {
    const request = ++latestRequest;
    resetViews();
    setBusy(true, "Searching…");
    const params = new URLSearchParams({ q: question, k, mode });
    try {
      const body = await getJson(`/query?${params}`);
      if (request !== latestRequest) return;
      drawAnswer(body);
      const found = counted(body.passages.length, "passage");
      setBusy(false, `${found} for “${body.query}” (${body.mode}, ${body.took_ms} ms)`);
    } catch (error) {
      if (request !== latestRequest) return;
      setBusy(false, "");
      showError(error);
    }
    loadIndexStatus();
  }

  function parseOffset(value) {
    return value !== null && /^\d+$/.test(value) ? Number(value) : null;
  }

  function drawDocument(doc, start, end) {
    byId("doc-title").textContent = doc.title;
    const text = byId("doc-text");
    const length = codePointLength(doc.text);
    if (start === null || end === null) {
      byId("doc-meta").textContent = `${doc.doc_id}, ${length} characters`;
      text.textContent = doc.text;
      return null;
    }
    if (start > end || end > length) {
      text.textContent = doc.text;
      throw new Error(`characters ${start}–${end} are not inside ${doc.doc_id} (${length} characters)`);
    }
    const [before, mark, after] = highlighted(doc.text, start, end);
    const first = before.split("\n").length;
    const last = first + mark.textContent.split("\n").length - 1;
    byId("doc-meta").textContent = `${doc.doc_id}, characters ${start}–${end}, ${linesLabel(first, last)}`;
    mark.id = "cited";
    mark.tabIndex = -1;
    text.replaceChildren(before, mark, after);
    return mark;
  }

  async function showDocument(docId, start, end) {
    const request = ++latestRequest;
    resetViews();
    setBusy(true, "Loading the document…");
    byId("back").href = sessionStorage.getItem(LAST_QUERY) || "/";
    try {
      const doc = await getJson(`/documents/${encodeDocId(docId)}`);
      if (request !== latestRequest) return;
      byId("document").hidden = false;
      document.title = `${doc.title} · qa`;
      const mark = drawDocument(doc, start, end);
      setBusy(false, "");
      if (mark) {
        mark.scrollIntoView({ block: "center" });
        mark.focus({ preventScroll: true });
      }
    } catch (error) {
      if (request !== latestRequest) return;
      setBusy(false, "");
      showError(error);
    }
    loadIndexStatus();
  }

  async function loadIndexStatus() {
    const footer = byId("index-status");
    try {
      const index = await getJson("/index");
      const size = `${counted(index.documents, "document")} · ${counted(index.passages, "passage")}`;
      footer.textContent = `${size} · index built ${index.built_at}`;
      footer.title = `generation ${index.generation}, model ${index.model}`;
    } catch (error) {
      footer.textContent = `index status unavailable: ${error.message}`;
    }
  }

  // Select a value a shared URL names, adding it when the list lacks it: the server, not the
  // page, decides whether it is valid (and says why not).
  function choose(select, value) {
    if (value === null) return;
    if (![...select.options].some((option) => option.value === value)) select.append(new Option(value, value));
    select.value = value;
  }

  // Draw whatever the URL names; called on load and on back/forward.
  function route() {
    const params = new URLSearchParams(location.search);
    if (location.pathname.startsWith("/view/")) {
      let docId;
      try {
        docId = decodeURIComponent(location.pathname.slice("/view/".length));
      } catch (error) {
        resetViews();
        showError(new Error(`the address does not name a document: ${error.message}`));
        return;
      }
      showDocument(docId, parseOffset(params.get("start")), parseOffset(params.get("end")));
      return;
    }
    const question = params.get("q");
    choose(byId("k"), params.get("k"));
    choose(byId("mode"), params.get("mode"));
    if (question === null) {
      resetViews();
      setBusy(false, "");
      loadIndexStatus();
      return;
    }
    byId("question").value = question;
    sessionStorage.setItem(LAST_QUERY, location.pathname + location.search);
    ask(question, byId("k").value, byId("mode").value);
  }

  function submitted(event) {
    event.preventDefault();
    const params = new URLSearchParams({
      q: byId("question").value,
      k: byId("k").value,
      mode: byId("mode").value,
    });
    history.pushState(null, "", `/?${params}`);
    route();
  }

  byId("ask").addEventListener("submit", submitted);
  window.addEventListener("popstate", route);
  route();
})();
