"""The README written beside the reader's weights by ``make train``: what they are, their
SHA-256, their training data and attribution, and their held-out figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.search.searcher import ANSWER_PASSAGES


def write_readme(out: Path, model: dict[str, Any], digest: str) -> None:
    cross = model["held_out"]["crossfit_by_question_halves"]
    only = model["held_out"]["search_sets_only_crossfit"]
    trig = cross["triggering"]
    rows = "\n".join(
        f"| {r['bin']} | {r['n']} | {r.get('confidence', 0):.3f} | {r.get('accuracy', 0):.3f} |"
        if r["n"] else f"| {r['bin']} | 0 | – | – |"
        for r in cross["reliability"]
    )  # fmt: skip
    training = model["training"]
    (out.parent / "README.md").write_text(
        f"""# The learned reader's weights

Written by `make train` (`python -m qa.answer.training`); do not edit by hand.

| file | SHA-256 |
| --- | --- |
| `{out.name}` | `{digest}` |

- **What**: a logistic regression over the {len(model["features"])} features of
  `qa/answer/features.py`, with a Platt calibration of the answer's confidence and the
  answer threshold ({model["threshold"]}: the best answer-triggering F1 on the
  held-out articles; `QA_ANSWER_THRESHOLD` overrides it).
- **Training data**: {training["data"]}: SQuAD 2.0 train, first 10 articles; trained on
  {len(training["articles"])} articles ({training["questions"]} questions,
  {training["sentences"]} candidate sentences, {training["positives"]} positive), calibrated on
  the held-out articles {", ".join(model["held_out_articles"])} ({model["held_out"]["questions"]}
  questions, {model["held_out"]["unanswerable"]} unanswerable).
- **Attribution**: {model["attribution"]}

## Held-out figures (cross-fitted by question halves)

Each held-out question is read twice: in the top {ANSWER_PASSAGES} passages of a search over all 10
articles ("search"), and in the best {ANSWER_PASSAGES} passages outside its paragraph ("miss": documents
that do not answer it). The calibration and the threshold are fit on both.

| measure | search + miss sets | search sets only |
| --- | --- | --- |
| answer sentence holds the gold span (answerable questions) | {cross["top1_holds_span"]:.3f} | \
{only["top1_holds_span"]:.3f} |
| answer triggering precision / recall / F1 | {trig["precision"]:.3f} / {trig["recall"]:.3f} / \
{trig["F1"]:.3f} | {only["triggering"]["precision"]:.3f} / {only["triggering"]["recall"]:.3f} / \
{only["triggering"]["F1"]:.3f} |
| ECE (10 bins, answer confidence vs. answer right) | {cross["ECE"]:.3f} | {only["ECE"]:.3f} |

Reliability, search + miss sets:

| bin | n | mean confidence | accuracy |
| --- | --- | --- | --- |
{rows}
""",
        encoding="utf-8",
    )
