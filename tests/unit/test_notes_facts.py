"""Note sentences -> facts with ConText assertions, kinds, values and sentence sources.

Wording is taken from TREC 2021 / SIGIR topics and the criterion-annotation notes (topic ids
in comments); each case lists every fact the sentence must yield, so an extra or missing
mention fails as surely as a wrong assertion.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from matcher.model import Assertion, FactKind, Note
from nlp.notes import NoteFactExtractor, extract_note_facts
from nlp.notes.schema import ContextRules, Lexicon, load_notes_rules
from nlp.rules_loader import RulesError

A = Assertion
C, M, P, OBS = FactKind.CONDITION, FactKind.MEDICATION, FactKind.PROCEDURE, FactKind.OBSERVATION


@pytest.fixture(scope="module")
def extractor() -> NoteFactExtractor:
    return NoteFactExtractor()


def facts_of(extractor: NoteFactExtractor, text: str, **note: object):
    return extractor.extract(Note("DocumentReference/n1", text, **note))  # type: ignore[arg-type]


CASES = [
    ("He denies chest pain.", {(C, "chest pain", A.ABSENT)}),
    (
        "No history of diabetes or heart failure.",
        {(C, "diabetes mellitus", A.ABSENT), (C, "congestive heart failure", A.ABSENT)},
    ),
    ("Her mother had breast cancer.", {(C, "breast cancer", A.FAMILY)}),
    ("History of MI in 2010.", {(C, "myocardial infarction", A.HISTORICAL)}),
    (  # trec-202143: a recent history is the current episode
        "Admitted with a recent history of aspiration pneumonia.",
        {(C, "aspiration pneumonia", A.PRESENT)},
    ),
    ("Return if fever develops.", {(C, "fever", A.HYPOTHETICAL)}),
    ("Concern for pneumonia.", {(C, "pneumonia", A.POSSIBLE)}),
    (  # sigir-20141
        "She denies smoking, diabetes, hypercholesterolemia, or a family history of heart disease.",
        {
            (C, "smoking", A.ABSENT),
            (C, "diabetes mellitus", A.ABSENT),
            (C, "hyperlipidemia", A.ABSENT),
            (C, "heart disease", A.FAMILY),
        },
    ),
    (  # trec-202162
        "He has a family history of CAD, but no other cardiovascular risk factors such as "
        "smoking, high blood pressure, and diabetes mellitus.",
        {
            (C, "coronary artery disease", A.FAMILY),
            (C, "smoking", A.ABSENT),
            (C, "hypertension", A.ABSENT),
            (C, "diabetes mellitus", A.ABSENT),
        },
    ),
    (  # sigir-20142: a relative who reports is not family history
        "Parents report that prior to the onset of fever and cough, he had loose stools.",
        {(C, "fever", A.PRESENT), (C, "cough", A.PRESENT), (C, "diarrhea", A.PRESENT)},
    ),
    (  # sigir-20143
        "A 58-year-old nonsmoker white female with mild exertional dyspnea and occasional cough.",
        {(C, "smoking", A.ABSENT), (C, "exertional dyspnea", A.PRESENT), (C, "cough", A.PRESENT)},
    ),
    (  # sigir-201515: a synonym naming a kind of the term keeps its words; others do not
        "She was hospitalized for cryptogenic stroke after a heart attack.",
        {(C, "cryptogenic stroke", A.PRESENT), (C, "myocardial infarction", A.PRESENT)},
    ),
    (  # afebrile: no fever, and the temperature bound the word states
        "The patient is afebrile.",
        {(C, "fever", A.ABSENT), (OBS, "body temperature", A.PRESENT)},
    ),
    ("She is tachycardic.", {(C, "tachycardia", A.PRESENT), (OBS, "heart rate", A.PRESENT)}),
    (
        "He is not hypotensive.",
        {(C, "hypotension", A.ABSENT), (OBS, "systolic blood pressure", A.ABSENT)},
    ),
    (  # trec-20212
        "48 M with a h/o HTN hyperlipidemia, bicuspid aortic valve, and tobacco abuse.",
        {
            (C, "hypertension", A.HISTORICAL),
            (C, "hyperlipidemia", A.HISTORICAL),
            (C, "bicuspid aortic valve", A.HISTORICAL),
            (C, "smoking", A.HISTORICAL),
        },
    ),
    (  # trec-20215
        "74M hx of CAD s/p CABG.",
        {
            (C, "coronary artery disease", A.HISTORICAL),
            (P, "coronary artery bypass graft", A.HISTORICAL),
        },
    ),
    (  # a test that was done: its contrast is absent, its finding is not
        "CT abdomen without contrast showed a large abdominal mass.",
        {(P, "computed tomography", A.PRESENT), (C, "abdominal mass", A.PRESENT)},
    ),
    ("She is a candidate for laparoscopic appendectomy.", {(P, "appendectomy", A.HYPOTHETICAL)}),
    (  # trec-20212: "did not tolerate" negates nothing after it
        "He was sent home with Lasix and BB (which he did not tolerate), continued to have "
        "worsening SOB and LE edema.",
        {
            (M, "diuretic", A.PRESENT),
            (M, "beta blocker", A.PRESENT),
            (C, "dyspnea", A.PRESENT),
            (C, "edema", A.PRESENT),
        },
    ),
    (
        "A chest x-ray shows bilateral lung infiltrates.",  # sigir-20142
        # the note's words name a kind of the term, so the fact keeps them
        {(P, "chest x-ray", A.PRESENT), (C, "bilateral lung infiltrates", A.PRESENT)},
    ),
    ("His CXR was unremarkable.", {(P, "chest x-ray", A.PRESENT)}),
    (
        "Beta hcg: negative for pregnancy",
        {(P, "pregnancy test", A.PRESENT), (C, "pregnancy", A.ABSENT)},
    ),
    (
        "She takes metformin and lisinopril daily.",
        {(M, "metformin", A.PRESENT), (M, "ace inhibitor", A.PRESENT)},
    ),
    (
        "HbA1c 8.2%, creatinine of 2.1 mg/dL.",
        {(OBS, "hemoglobin a1c", A.PRESENT), (OBS, "creatinine", A.PRESENT)},
    ),
    (
        "The recent biopsy was negative for hepatocellular carcinoma.",  # trec-202127
        {(P, "biopsy", A.PRESENT), (C, "liver cancer", A.ABSENT)},
    ),
    (
        "She has no history of recurrent UTI prior to her pregnancy.",  # trec-202151
        {(C, "recurrent urinary tract infection", A.ABSENT), (C, "pregnancy", A.PRESENT)},
    ),
    (
        "Imaging was negative for obstructive pancreatitis.",  # trec-202121: only that kind
        {(C, "obstructive pancreatitis", A.ABSENT)},
    ),
    (
        "No pancreatitis; she has recurrent UTI.",
        {(C, "pancreatitis", A.ABSENT), (C, "urinary tract infection", A.PRESENT)},
    ),
    ("The weather was fine and she walked to town.", set()),
    (  # a negation word inside a mention ("no longer enjoys") does not reach past it
        "She no longer enjoys seeing friends and feels guilty for not calling.",
        {(C, "anhedonia", A.PRESENT), (C, "excessive guilt", A.PRESENT)},
    ),
    (  # a birth ends the pregnancy
        "She had given birth to a healthy child 3 weeks before.",
        {(C, "pregnancy", A.ABSENT)},
    ),
    (  # lay and imaging forms of findings that criteria sets count
        "Urine is positive for protein and RBC casts; a 4/4 positive ANA.",
        {
            (C, "proteinuria", A.PRESENT),
            (C, "urinary red blood cell casts", A.PRESENT),
            (C, "antinuclear antibody positive", A.PRESENT),
        },
    ),
    (
        "Ultrasound shows a markedly edematous appendix.",
        {(C, "appendicitis", A.PRESENT), (P, "ultrasound", A.PRESENT)},
    ),
    (
        "He complains of calf pain when walking uphill.",
        {(C, "intermittent claudication", A.PRESENT)},
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_facts_and_assertions(extractor: NoteFactExtractor, text: str, expected) -> None:
    got = {(f.kind, f.text, f.assertion) for f in facts_of(extractor, text)}
    assert got == expected


def test_values_units_and_blood_pressure_components(extractor: NoteFactExtractor) -> None:
    facts = facts_of(extractor, "BP 150/95, WBC 14,000 and urine output of less than 0.2 mL/kg/hr.")
    got = {f.text: (f.value, f.unit, f.comparator, f.value_text) for f in facts}
    assert got == {
        "blood pressure": (150, "mm[Hg]", "", "150/95 mm[Hg]"),
        "systolic blood pressure": (150, "mm[Hg]", "", "150 mm[Hg]"),
        "diastolic blood pressure": (95, "mm[Hg]", "", "95 mm[Hg]"),
        "white blood cell count": (14000, "/uL", "", "14000 /uL"),
        "urine output": (0.2, "mL/kg/h", "<", "< 0.2 mL/kg/h"),
    }
    assert all(f.kind == FactKind.OBSERVATION for f in facts)


def test_a_value_after_history_of_is_current(extractor: NoteFactExtractor) -> None:
    facts = facts_of(extractor, "History of diabetes with HbA1c 9.1% today.")
    lab = next(f for f in facts if f.text == "hemoglobin a1c")
    assert (lab.value, lab.assertion) == (9.1, A.PRESENT)
    assert next(f for f in facts if f.text == "diabetes mellitus").assertion == A.HISTORICAL


def test_source_points_at_the_numbered_sentence(extractor: NoteFactExtractor) -> None:
    when = datetime(2021, 3, 1, 9, 30)
    note = (
        "0. An 8-year-old male presents in March to the ER with fever up to 39 C.\n"
        "1. He has just returned from a 5 day vacation in Colorado.\n"
        "2. He denies upper respiratory tract symptoms.\n"
        "3. History of asthma."
    )
    facts = facts_of(extractor, note, date=when)
    by_text = {(f.text, f.kind): f for f in facts}
    fever = by_text[("fever", C)]
    assert fever.source == "DocumentReference/n1#s0"
    assert fever.sentence.startswith("An 8-year-old male presents")
    assert fever.start == when  # stated in the note of that date
    temperature = by_text[("body temperature", OBS)]
    assert (temperature.source, temperature.value, temperature.unit) == (
        "DocumentReference/n1#s0",
        39,
        "Cel",
    )
    uri = by_text[("upper respiratory infection", C)]
    assert (uri.source, uri.assertion) == ("DocumentReference/n1#s2", A.ABSENT)
    assert uri.sentence == "He denies upper respiratory tract symptoms."
    asthma = by_text[("asthma", C)]
    assert (asthma.source, asthma.assertion, asthma.start) == (
        "DocumentReference/n1#s3",
        A.HISTORICAL,
        None,  # when it began is not the note's date
    )


def test_sections_set_assertion_and_kind(extractor: NoteFactExtractor) -> None:
    note = (
        "Chief Complaint:\nshortness of breath\n"
        "Past Medical History:\n- CAD\n- DM2\n"
        "Family History:\nMother with breast cancer.\n"
        "Allergies:\npenicillin\n"
        "Medications:\nmetformin 500 mg twice daily\n"
    )
    got = {(f.kind, f.text, f.assertion) for f in facts_of(extractor, note)}
    assert got == {
        (C, "dyspnea", A.PRESENT),
        (C, "coronary artery disease", A.HISTORICAL),
        (C, "type 2 diabetes", A.HISTORICAL),
        (C, "breast cancer", A.FAMILY),
        (FactKind.ALLERGY, "antibiotic", A.PRESENT),
        (M, "metformin", A.PRESENT),
    }


def test_prose_heading_words_do_not_open_a_section(extractor: NoteFactExtractor) -> None:
    note = "Family history of colon cancer in her aunt.\nShe has hypertension."
    got = {(f.text, f.assertion) for f in facts_of(extractor, note)}
    assert got == {("colorectal cancer", A.FAMILY), ("hypertension", A.PRESENT)}


def test_empty_note_and_default_extractor() -> None:
    assert extract_note_facts(Note("DocumentReference/x", "")) == []
    facts = extract_note_facts(Note("DocumentReference/x", "He denies fever."))
    assert [(f.text, f.assertion, f.source) for f in facts] == [
        ("fever", A.ABSENT, "DocumentReference/x#s0")
    ]


def test_many_notes_keep_their_own_sources(extractor: NoteFactExtractor) -> None:
    notes = [Note("DocumentReference/a", "Asthma."), Note("DiagnosticReport/b", "No asthma.")]
    (first,), (second,) = extractor.extract_many(notes)
    assert (first.source, first.assertion) == ("DocumentReference/a#s0", A.PRESENT)
    assert (second.source, second.assertion) == ("DiagnosticReport/b#s0", A.ABSENT)


# --- rule files are strict ---------------------------------------------------------------


def test_lexicon_unknown_key_is_named(tmp_path) -> None:
    (tmp_path / "lex.yaml").write_text(
        "terms:\n  - {name: asthma, category: condition, synonym: [wheeze]}\n"
    )
    with pytest.raises(RulesError, match=r"lex\.yaml: unknown key 'synonym' at terms\.0"):
        load_notes_rules("lex", Lexicon, tmp_path)


def test_context_pattern_words_must_be_text(tmp_path) -> None:
    (tmp_path / "ctx.yaml").write_text(
        "use_default_rules: false\nrules:\n"
        "  - {literal: no x, category: NEGATED_EXISTENCE, direction: FORWARD,"
        " pattern: [{LOWER: {IN: [no, none]}}]}\n"
    )
    with pytest.raises(RulesError, match=r"ctx\.yaml: rules\.0\.pattern.*quote words"):
        load_notes_rules("ctx", ContextRules, tmp_path)
