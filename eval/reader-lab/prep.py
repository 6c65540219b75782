"""Data preparation: SQuAD 2.0 (first 10 train articles) and WikiQA into candidate sets, encoded
with the service's embedder exactly as the service would have them at question time.

    python eval/reader-lab/prep.py [--wikiqa-train]

Writes eval/reader-lab/cache/{squad,wikiqa_test[,wikiqa_train]}.pkl. Each holds
- passages: text, word-piece vectors (float16), word-piece start offsets, passage vector
- sentences: passage index, [start, end) in the passage text, text, stand-alone sentence vector
  (only for the cosine baseline: the service does not store sentence vectors)
- questions: id, text, vector, word-piece vectors (float16), article, is_impossible
- sets: one candidate set per (question, kind): sentence ids, labels, rank of the sentence's passage

SQuAD candidate sets (passages = the paragraphs packed into <=200-piece chunks, as the service does):
- kind "gold": the chunk holding the answer (or the plausible answer) + the 2 other chunks of the same
  article closest to the question (cosine to the passage vector) = the top-3 passages of a search that
  found the paragraph. Positive: the sentence holding an answer span's start; none when unanswerable.
- kind "miss": the 3 chunks of the article closest to the question from OTHER paragraphs: the search
  missed, or the corpus does not hold the answer. No positive. Built for every question.
WikiQA: one set per question, all its sentences; the passage is the summary paragraph (sentences
joined with a space, packed into <=200-piece chunks).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from typing import Any

import numpy as np

from common import CACHE, SQUAD, WIKIQA, embedder, pack_sentences, split_sentences


def encode(model: Any, texts: list[str], what: str, batch: int = 32) -> tuple[np.ndarray, list, list]:
    """Vectors, word-piece vectors (float16) and starts, in the given order (encoded by length)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), model.dimension), dtype=np.float32)
    tokens: list[Any] = [None] * len(texts)
    starts: list[Any] = [None] * len(texts)
    t0 = time.time()
    for b in range(0, len(order), batch):
        idx = order[b : b + batch]
        vec, tok = model.embed_with_tokens([texts[i] for i in idx], batch_size=batch)
        for j, i in enumerate(idx):
            vectors[i] = vec[j]
            tokens[i] = tok[j][0].astype(np.float16)
            starts[i] = tok[j][1]
        if (b // batch) % 20 == 0:
            print(f"  {what}: {b + len(idx)}/{len(texts)} ({time.time() - t0:.0f}s)", flush=True)
    return vectors, tokens, starts


def build_passages(model: Any, paragraphs: list[tuple[str, list[tuple[int, int]]]]) -> dict[str, Any]:
    """Pack each paragraph's sentences into <=200-piece passages; return passage and sentence tables
    plus, per paragraph, its passage ids."""
    p_text: list[str] = []
    p_para: list[int] = []
    s_passage: list[int] = []
    s_start: list[int] = []
    s_end: list[int] = []
    s_para_off: list[int] = []  # sentence start in the paragraph text (to place answer spans)
    for k, (text, spans) in enumerate(paragraphs):
        counts = model.count_tokens([text[a:b] for a, b in spans])
        for first, last in pack_sentences(spans, counts):
            base, stop = spans[first][0], spans[last - 1][1]
            pid = len(p_text)
            p_text.append(text[base:stop])
            p_para.append(k)
            for a, b in spans[first:last]:
                s_passage.append(pid)
                s_start.append(a - base)
                s_end.append(b - base)
                s_para_off.append(a)
    vec, tok, st = encode(model, p_text, "passages")
    s_text = [p_text[p][a:b] for p, a, b in zip(s_passage, s_start, s_end, strict=True)]
    s_vec, _, _ = encode(model, s_text, "sentences")
    return {
        "passages": {"text": p_text, "para": np.array(p_para), "vector": vec, "tokens": tok, "starts": st},
        "sentences": {
            "passage": np.array(s_passage),
            "start": np.array(s_start),
            "end": np.array(s_end),
            "para_start": np.array(s_para_off),
            "text": s_text,
            "vector": s_vec,
        },
    }


def encode_questions(model: Any, texts: list[str]) -> tuple[np.ndarray, list]:
    vec, tok, _ = encode(model, texts, "questions", batch=64)
    return vec, tok


def prep_squad(model: Any) -> dict[str, Any]:
    data = json.load(open(SQUAD))["data"]
    paragraphs: list[tuple[str, list[tuple[int, int]]]] = []
    para_article: list[str] = []
    questions: dict[str, list[Any]] = {k: [] for k in ("id", "text", "article", "impossible", "para", "answer_starts")}
    for article in data:
        for para in article["paragraphs"]:
            k = len(paragraphs)
            paragraphs.append((para["context"], split_sentences(para["context"])))
            para_article.append(article["title"])
            for qa in para["qas"]:
                spans = qa["answers"] if not qa["is_impossible"] else qa.get("plausible_answers", [])
                questions["id"].append(qa["id"])
                questions["text"].append(qa["question"])
                questions["article"].append(article["title"])
                questions["impossible"].append(bool(qa["is_impossible"]))
                questions["para"].append(k)
                questions["answer_starts"].append([a["answer_start"] for a in spans])
    print(f"SQuAD: {len(paragraphs)} paragraphs, {len(questions['id'])} questions", flush=True)
    store = build_passages(model, paragraphs)
    q_vec, q_tok = encode_questions(model, questions["text"])
    store["questions"] = {**questions, "vector": q_vec, "tokens": q_tok}
    passages, sents = store["passages"], store["sentences"]
    p_article = np.array([para_article[k] for k in passages["para"]])
    sent_of_passage: dict[int, list[int]] = {}
    for s, p in enumerate(sents["passage"]):
        sent_of_passage.setdefault(int(p), []).append(s)
    sets: list[dict[str, Any]] = []
    for qi in range(len(questions["id"])):
        para = questions["para"][qi]
        same = np.flatnonzero(p_article == questions["article"][qi])
        cos = passages["vector"][same] @ q_vec[qi]
        ranked = same[np.argsort(-cos, kind="stable")]
        mine = [int(p) for p in ranked if passages["para"][p] == para]
        starts = questions["answer_starts"][qi]
        # the chunk holding the (plausible) answer, else the paragraph's best chunk
        holding = [
            p for p in mine
            if any(a in range(sents["para_start"][s], sents["para_start"][s] + sents["end"][s] - sents["start"][s] + 1)
                   for s in sent_of_passage[p] for a in starts)
        ]
        gold_p = holding[0] if holding else mine[0]
        others = [int(p) for p in ranked if p != gold_p][:2]
        missed = [int(p) for p in ranked if passages["para"][p] != para][:3]
        for kind, chosen in (("gold", [gold_p, *others]), ("miss", missed)):
            chosen = [int(p) for p in ranked if p in chosen]  # in search order
            ids, labels, ranks = [], [], []
            for r, p in enumerate(chosen):
                for s in sent_of_passage[p]:
                    a0 = sents["para_start"][s]
                    a1 = a0 + sents["end"][s] - sents["start"][s]
                    positive = (
                        kind == "gold" and p == gold_p and not questions["impossible"][qi]
                        and any(a0 <= a < a1 + 1 for a in starts)
                    )
                    ids.append(s)
                    labels.append(int(positive))
                    ranks.append(r)
            sets.append({"q": qi, "kind": kind, "sent": np.array(ids), "label": np.array(labels, dtype=np.int8),
                         "rank": np.array(ranks)})
    store["sets"] = sets
    store["para_article"] = para_article
    return store


def prep_wikiqa(model: Any, split: str) -> dict[str, Any]:
    rows = [json.loads(line) for line in open(WIKIQA / f"{split}.jsonl")]
    paragraphs = []
    for row in rows:
        text, spans = "", []
        for s in row["sentences"]:
            if text:
                text += " "
            spans.append((len(text), len(text) + len(s)))
            text += s
        paragraphs.append((text, spans))
    print(f"WikiQA {split}: {len(rows)} questions", flush=True)
    store = build_passages(model, paragraphs)
    q_vec, q_tok = encode_questions(model, [r["question"] for r in rows])
    store["questions"] = {"id": [r["id"] for r in rows], "text": [r["question"] for r in rows],
                          "vector": q_vec, "tokens": q_tok}
    passages, sents = store["passages"], store["sentences"]
    sets = []
    s_para = passages["para"][sents["passage"]]
    for qi, row in enumerate(rows):
        ids = np.flatnonzero(s_para == qi)  # in page order = the row's sentence order
        assert len(ids) == len(row["labels"])
        first_p = sents["passage"][ids].min()
        sets.append({"q": qi, "kind": "wikiqa", "sent": ids, "label": np.array(row["labels"], dtype=np.int8),
                     "rank": sents["passage"][ids] - first_p})
    store["sets"] = sets
    return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wikiqa-train", action="store_true", help="also WikiQA train (research run only)")
    parser.add_argument("--only", default="", help="comma list of squad,wikiqa_test,wikiqa_train")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    model = embedder(threads=1)
    jobs = ["squad", "wikiqa_test"] + (["wikiqa_train"] if args.wikiqa_train else [])
    if args.only:
        jobs = args.only.split(",")
    for job in jobs:
        t0 = time.time()
        store = prep_squad(model) if job == "squad" else prep_wikiqa(model, job.split("_")[1])
        with open(CACHE / f"{job}.pkl", "wb") as f:
            pickle.dump(store, f, protocol=5)
        print(f"{job}: {len(store['sets'])} sets, {len(store['sentences']['text'])} sentences, "
              f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
