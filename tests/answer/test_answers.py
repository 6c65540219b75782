"""Expected answer types, names and focus nouns: what a question asks for decides which sentences
and which documents can answer it."""

from __future__ import annotations

import pytest

from qa.answer.analysis import (
    MAX_NAMES,
    absent_names,
    counted_words,
    expected_type,
    focus,
    has_type,
    mentions_any,
    question_names,
    role_asked,
    title_words,
)
from qa.lang.en.answers import acronyms, spelled_out

ARTICLE_LINE = (
    "Chinese Premier Li Qiang backed AI research and development with the United Nations Industrial "
    "Development Organization (UNIDO), said Gerd Müller."
)


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("When will the centre open?", "date"),
        ("In what year did he join?", "date"),
        ("What is the deadline for the pledge?", "date"),
        ("How many countries signed?", "number"),
        ("What is the budget of the centre?", "money"),
        ("How much did the new building cost?", "money"),
        ("How old is the director?", "age"),
        ("How long has she worked there?", "duration"),
        ("What are the opening hours of the museum?", "time"),
        ("What is the centre's website address?", "contact"),
        ("What is the address of the research institute?", "contact"),
        ("What did Li say in his address?", None),  # a speech
        ("What did the president's address say about AI?", None),
        ("What is Ben Wodecki's address?", "contact"),
        ("What's the deadline?", "date"),
        ("When the summit opened, who chaired it?", "person"),
        ("What does the pledge address?", None),
        ("Who heads UNIDO?", "person"),
        ("Where will the centre be housed?", "place"),
        ("Which city hosts the summit?", "place"),
        ("When the declaration came out, what did the premier promise?", None),
        ("What did UNIDO announce?", None),
        ("Which ministry backs the centre?", None),
        ("Which Chinese tech companies showed products at the conference?", "company"),
        ("When the summit ended, which foreign firms signed?", "company"),
        ("What chipmakers took part?", "company"),
        ("Which universities are partners?", "university"),
        ("Which banks fund the centre?", "bank"),
        ("What kind of companies took part?", None),  # a description, not names
        ("What did the companies say?", None),  # the companies are the subject, not the answer
        ("Which of the partners are companies?", None),
    ],
)
def test_expected_type(question: str, wanted: str | None) -> None:
    assert expected_type(question) == wanted


def test_sentences_with_and_without_the_type() -> None:
    assert has_type("It was published on July 8, 2024.", "date")
    assert not has_type("The centre will promote best practices.", "date")
    assert has_type("It is a five-point pledge.", "number") and has_type("About 300 people came.", "number")
    assert not has_type("The pledge covers safety.", "number")
    assert not has_type("It was published on July 8, 2024.", "number")  # a date counts nothing
    assert has_type("The centre cost $4 million.", "money") and not has_type("It has 4 floors.", "money")
    assert has_type("She is 52 years old.", "age") and not has_type("She joined in March 2021.", "age")
    assert has_type("It opens at 9 am.", "time") and not has_type("It opens on Monday.", "time")
    assert has_type("See www.unido.org for more.", "contact") and not has_type("See the site.", "contact")
    assert has_type("It is at 701 Yunjin Road, Shanghai.", "contact")
    assert not has_type("It took 3 years to find a way forward.", "contact")  # no street, whatever the case
    assert not has_type("In 2024 the new square opened.", "contact")
    assert not has_type(
        "It will be located in the Shanghai Artificial Intelligence Research Institute.", "contact"
    )
    assert has_type("He has worked there for three years.", "duration")
    assert has_type("It was announced at the conference in Shanghai.", "place")
    assert has_type("Technology will go to the Global South.", "place")
    assert not has_type("During the ceremony, Premier Li Qiang spoke.", "place")
    assert not has_type("Developing countries get fair access to AI technologies.", "place")
    assert has_type("In Shanghai, the summit opened.", "place")
    assert has_type("It was held in Zürich.", "place")
    assert has_type("It moved to the UK.", "place")
    assert has_type("China, France and Brazil signed the declaration.", "place")  # names open it
    assert has_type("The centre is run by Gerd Müller.", "person")
    assert not has_type("It will be run by the staff.", "person")
    assert has_type("Anything at all.", None)


def test_a_kind_of_organisation_needs_a_new_name_where_the_passage_speaks_of_that_kind() -> None:
    question = "Which Chinese companies showed products?"
    passage = "Chinese tech firms were out in force. Huawei and Baidu showed AI chips."
    assert has_type("Huawei and Baidu showed AI chips.", "company", passage, question)
    assert not has_type(
        "Chinese tech firms were out in force.", "company", passage, question
    )  # the asked name
    assert not has_type("Several companies showed products.", "company", "companies", question)  # a capital
    assert has_type("Škoda, Baidu and Tencent showed cars.", "company", "carmakers", question)
    assert not has_type("Apple came.", "company", "Decision-makers and policy-makers came.", question)
    industries = "The declaration promotes AI across various industries, including health care."
    assert not has_type(industries, "company", industries, question)  # a sector is no company
    assert not has_type("The company said so.", "company", "The company said so.", question)  # no name
    assert has_type("He studied at Middlesex University.", "university")
    academia = "UNIDO offers a bridge between the private sector, academia and developing countries."
    assert not has_type(academia, "university", academia, "Which universities are partners?")


def test_question_names() -> None:
    assert question_names("What did the World Health Organization say?") == ["World Health Organization"]
    assert question_names("What did OpenAI say about China's AI plans?") == ["OpenAI", "China", "AI"]
    assert question_names("Bletchley declaration") == []  # a question's first word is capitalised anyway
    assert question_names("UNIDO plans?") == ["UNIDO"]
    three = "Did Li Qiang, Xi Jinping and Wang Yi meet?"
    assert question_names(three) == ["Li Qiang", "Xi Jinping", "Wang Yi"]  # a comma ends a name


def test_names_the_text_never_mentions() -> None:
    assert absent_names("What did UNESCO announce?", [ARTICLE_LINE]) == ["UNESCO"]
    assert absent_names("Will the centre open a branch in Beijing?", [ARTICLE_LINE]) == ["Beijing"]
    assert absent_names("What did the European Union say?", [ARTICLE_LINE]) == ["European Union"]
    # found: the same words, an adjective of the name, an acronym of the text's words
    assert absent_names("What did Gerd Müller say about UNIDO?", [ARTICLE_LINE]) == []
    assert absent_names("Who is China's premier?", [ARTICLE_LINE]) == []
    assert absent_names("Does the premier back AI R&D?", [ARTICLE_LINE]) == []
    # found turned round with "of": the reader's "Shanghai Government" is the text's "government of Shanghai"
    issued = ["The local government of Shanghai has issued"]
    assert absent_names("Did the Shanghai Government issue it?", issued) == []
    assert absent_names("Did the Beijing Government issue it?", issued) == ["Beijing Government"]
    assert mentions_any(ARTICLE_LINE, ["Li Qiang"]) and not mentions_any(ARTICLE_LINE, ["Ben Wodecki"])


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("How many countries signed the declaration?", "countries"),
        ("What is the population of Shanghai?", "population"),
        ("Who is the director of the institute?", "director"),
        ("Who is China's premier?", "premier"),
        ("Who is Li Qiang?", None),
        ("Who is sponsoring the centre?", None),
        ("What did UNIDO announce?", None),
    ],
)
def test_focus_noun(question: str, noun: str | None) -> None:
    span = focus(question)
    assert (question[span[0] : span[1]] if span else None) == noun


def _counted(sentence: str) -> list[str]:
    return [sentence[start:end] for start, end in counted_words(sentence)]


def test_counted_words_sit_beside_the_number() -> None:
    pledge = "The city issued a declaration, a five-point pledge to foster open AI development."
    assert _counted(pledge) == ["point", "pledge"]  # "to" is a small word
    assert _counted("The centre has a staff of 40.") == ["staff"]
    assert _counted("More than 100 countries, large and small, signed it.") == ["More", "than", "countries"]
    assert _counted("It was published on July 8, 2024, in Shanghai.") == []  # a date counts nothing
    assert _counted("The pledge covers safety.") == []


def test_acronyms_of_a_question() -> None:
    question = "Does the U.S. back AI R&D at UNIDO?"
    assert [question[start:end] for start, end in acronyms(question)] == ["U.S.", "AI", "R&D", "UNIDO"]
    assert acronyms("What did the premier say?") == []
    assert len(acronyms(" ".join(["Is AIM the same as R&D?"] * 100))) == MAX_NAMES  # each costs a look


@pytest.mark.parametrize(
    ("acronym", "text", "written"),
    [
        ("R&D", "It backs AI research and development in health care.", True),
        ("IT", "the Ministry of Industry and Information Technology.", True),
        ("DG", "said Gerd Müller, UNIDO's director general.", True),
        ("WHO", "the World Health Organization (WHO) said", False),  # the text uses the acronym
        ("US", "the U.S.-led resolution", False),  # dotted
        ("IT", "It is important to note.", False),  # small words spell nothing
        ("GS", "governments, the scientific community", False),  # not one phrase
        ("DG", "the Shanghai Declaration on Global AI Governance", False),  # inside a longer name
    ],
)
def test_acronym_spelled_out(acronym: str, text: str, written: bool) -> None:
    assert spelled_out(acronym, text) is written


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("Who is the head of UNIDO?", "any title"),  # whoever leads, by any title
        ("Who is the boss of the centre?", "any title"),
        ("Who heads UNIDO?", "any title"),
        ("Who is the mayor of Shanghai?", "this title"),
        ("Who is China's premier?", "this title"),
        ("Who chaired the AI Safety Summit?", "this title"),  # the chairman, by the verb
        ("Who founded AI Business?", "this title"),
        ("Who will lead the new centre?", "any title"),
        ("Who will found the company?", "this title"),
        ("When the summit opened, who chaired it?", "this title"),  # the main clause
        ("Who is the author of the article?", None),  # no office: an author has no title to match
        ("Who visited the institute?", None),
    ],
)
def test_role_asked(question: str, role: str | None) -> None:
    assert role_asked(question) == role


def test_title_words() -> None:
    sentence = "“We agree,” said Gerd Müller, UNIDO’s director general, beside Premier Li Qiang."
    assert [sentence[a:b] for a, b in title_words(sentence)] == ["director", "Premier"]
    assert title_words("China is a superpower and a leader in AI.") == []  # "leader" is no title here
    founded = "Alibaba was founded by Jack Ma in 1999."
    assert [founded[a:b] for a, b in title_words(founded)] == ["founded by"]  # the office by its verb
    assert title_words("The executive branch met; the king prawn was served.") == []
    assert title_words("It is supported by the Shanghai Municipal People's Government.") == []
