"""Expected answer types: a question's wh-word decides which sentences can answer it."""

from __future__ import annotations

import pytest

from qa.answers import expected_type, has_type


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("When will the centre open?", "date"),
        ("In what year did he join?", "date"),
        ("How many countries signed?", "number"),
        ("What is the budget of the centre?", "number"),
        ("Who heads UNIDO?", "person"),
        ("Where will the centre be housed?", "place"),
        ("What did UNIDO announce?", None),
        ("Which ministry backs the centre?", None),
    ],
)
def test_expected_type(question: str, wanted: str | None) -> None:
    assert expected_type(question) == wanted


def test_sentences_with_and_without_the_type() -> None:
    assert has_type("It was published on July 8, 2024.", "date")
    assert not has_type("The centre will promote best practices.", "date")
    assert has_type("It is a five-point pledge.", "number") and has_type("About 300 people came.", "number")
    assert not has_type("The pledge covers safety.", "number")
    assert has_type("The centre is run by Gerd Müller.", "person")
    assert not has_type("It will be run by the staff.", "person")
    assert has_type("Anything at all.", None)
