"""Line-aware sentence splitting: numbered notes keep their numbers, lists split per item."""

from __future__ import annotations

import pytest

from nlp.notes.sentences import split_sentences


def texts(note: str) -> list[tuple[int, str]]:
    return [(s.index, s.text(note)) for s in split_sentences(note)]


def test_numbered_note_keeps_its_numbering() -> None:
    # criterion-annotation format (sigir-20142): one sentence per numbered line
    note = (
        "0. An 8-year-old male presents in March to the ER with fever up to 39 C.\n"
        "1. He has just returned from a 5 day vacation in Colorado.\n"
        "2. He denies upper respiratory tract symptoms. He is alert."
    )
    assert texts(note) == [
        (0, "An 8-year-old male presents in March to the ER with fever up to 39 C."),
        (1, "He has just returned from a 5 day vacation in Colorado."),
        (2, "He denies upper respiratory tract symptoms. He is alert."),
    ]


def test_numbers_need_not_start_at_zero_or_be_dense() -> None:
    note = "3. Fever.\n7. Cough."
    assert [i for i, _ in texts(note)] == [3, 7]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "A 58-year-old woman presents with chest pain. She denies smoking.",
            ["A 58-year-old woman presents with chest pain.", "She denies smoking."],
        ),
        # abbreviations and decimals do not end a sentence
        (
            "Seen by Dr. Smith at 5 p.m. today. Creatinine 2.1 mg/dL. Pt. is stable.",
            ["Seen by Dr. Smith at 5 p.m. today.", "Creatinine 2.1 mg/dL.", "Pt. is stable."],
        ),
        # a header and its list items are separate sentences (MIMIC-style, trec-202114)
        (
            "Past Medical History:\n- CAD; s/p 4 vessel CABG\n- DM2\n- COPD",
            ["Past Medical History:", "- CAD; s/p 4 vessel CABG", "- DM2", "- COPD"],
        ),
        # a wrapped line continues its sentence
        (
            "She has had decreased appetite, PO intake,\nenergy level at home. No fever.",
            ["She has had decreased appetite, PO intake,\nenergy level at home.", "No fever."],
        ),
        # "name: value" lines of a lab list are items even in lower case
        (
            "Creatinine: 3.6 mg/dL\nblood urea nitrogen (BUN): 73 mg/dL",
            ["Creatinine: 3.6 mg/dL", "blood urea nitrogen (BUN): 73 mg/dL"],
        ),
        ("", []),
    ],
)
def test_prose_and_lists(note: str, expected: list[str]) -> None:
    assert [t for _, t in texts(note)] == expected
    assert [i for i, _ in texts(note)] == list(range(len(expected)))
