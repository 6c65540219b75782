"""`qa eval --wikiqa` / `--squad`: the reader's measures, on data written for these tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from qa.cli import app
from qa.evaluation.reading import _holds_text, ranking

ROWS = [
    {
        "id": "t-0",
        "question": "How deep is Lake Orsa?",
        "title": "Lake Orsa",
        "sentences": [
            "Lake Orsa is a lake in the northern valley.",
            "It reaches a depth of 212 metres at its centre.",
            "Fishing boats have worked the lake since 1874.",
        ],
        "labels": [0, 1, 0],
    },
    {
        "id": "t-1",
        "question": "WHEN DID THE BAKERY OPEN",
        "title": "The corner bakery",
        "sentences": [
            "The corner bakery sells rye bread and cinnamon buns.",
            "It opened in March 1998 on the market square.",
            "Its owner bakes everything herself.",
        ],
        "labels": [0, 1, 0],
    },
    {
        "id": "t-2",
        "question": "what is the exchange rate of the yen",
        "title": "Tarn harbour",
        "sentences": ["Tarn harbour was dug in 1874.", "Ferries leave it twice a day in summer."],
        "labels": [0, 0],
    },
]


def test_ranking_measures_by_hand() -> None:
    labels = [np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([0, 0]), np.array([1, 1])]
    scores = [
        np.array([0.9, 0.8, 0.1]),
        np.array([0.9, 0.5, 0.7]),
        np.array([0.1, 0.2]),
        np.array([0.1, 0.2]),
    ]
    measured = ranking(labels, scores)  # the last two hold no wrong or no right sentence: left out
    assert measured["questions"] == 2
    assert measured["MAP"] == (0.5 + 1.0) / 2 and measured["MRR"] == (0.5 + 1.0) / 2
    assert measured["P@1"] == 0.5


def test_an_answer_text_is_held_as_whole_words_case_and_punctuation_aside() -> None:
    assert _holds_text("It opened on 6 November 2015, in London.", ("6 november 2015",))
    assert _holds_text("Sam Mendes directed it.", ("Paul Greengrass", "sam  mendes"))
    assert not _holds_text("The 20155 copies sold.", ("2015",))  # a part of a word is not the answer
    assert not _holds_text("Nothing here.", ())  # an unanswerable question has no answer text
    assert not _holds_text("Nothing here.", ("",))


def test_eval_wikiqa_through_the_service(tmp_path: Path) -> None:
    data = tmp_path / "tiny-wikiqa.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    output = tmp_path / "wikiqa.json"
    arguments = [
        "eval",
        "--wikiqa",
        str(data),
        "--index-dir",
        str(tmp_path / "index"),
        "--output",
        str(output),
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["questions"] == 3 and report["with_right_sentence"] == 2
    assert report["ranking"]["questions"] == 2 and report["ranking"]["P@1"] == 1.0  # both easy ones
    assert len(report["reliability"]) == 10 and 0 <= report["ECE"] <= 1
    assert report["triggering"]["questions"] == 3 and report["weights_sha256"]


def test_eval_reader_refuses_bad_input_clearly(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["eval", "--wikiqa", str(tmp_path / "nothing.jsonl")])
    assert missing.exit_code != 0 and "is not a file" in missing.output
    both = CliRunner().invoke(app, ["eval", "--wikiqa", "a", "--squad", "b"])
    assert both.exit_code != 0 and "exactly one of" in both.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"title": "x"}]}', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--squad", str(broken), "--index-dir", str(tmp_path / "i")])
    assert result.exit_code != 0 and "not a SQuAD 2.0 file" in result.output
    assert "Traceback" not in result.output
