"""Concepts that only qualify another, fragments that are no concept, deontic "must not".

Real wording from TREC 2021 trials where an eligible patient was ruled out by a facet that
should not exist. Concept spans come from a fixed entity source (the spans the NER gave, or
would give), so the rows pin the parser's logic, not one training run; each row lists every
criterion the text yields as (category, concept, negated), and `qualifiers` the entity texts
the head criterion keeps for the spans that became no criterion of their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from matcher.model import Category, Criterion
from nlp.criteria import build_parser
from nlp.criteria.pipeline import CriteriaPipeline

C, M, P, OT = Category.CONDITION, Category.MEDICATION, Category.PROCEDURE, Category.OTHER
INC, EXC = "Inclusion Criteria:\n- ", "Exclusion Criteria:\n- "


class SpansNer:
    """Stands in for the model: labels each occurrence of the given phrases, in the given
    order, that overlaps no span labelled before it."""

    def __init__(self) -> None:
        self.phrases: list[tuple[str, str]] = []

    def __call__(self, texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
        out = []
        for text in texts:
            found: list[tuple[str, int, int]] = []
            for phrase, label in self.phrases:
                for m in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE):
                    if not any(a < m.end() and m.start() < b for _, a, b in found):
                        found.append((label, m.start(), m.end()))
            out.append(sorted(found, key=lambda t: t[1]))
        return out


@pytest.fixture(scope="module")
def parser() -> tuple[CriteriaPipeline, SpansNer]:
    pipeline = build_parser({"ner": "off"})
    fixed = SpansNer()
    pipeline.nlp.get_pipe("ner").source = fixed
    return pipeline, fixed


Row = tuple[Category, str | None, bool]
CON, DRUG, PROC = "Condition", "Drug", "Procedure"

# (section, text, NER spans, expected criteria, the first criterion's clinical entities after
# its own: the qualifiers it keeps)
CASES: list[tuple[str, str, list[tuple[str, str]], list[Row], list[str]]] = [
    # --- a qualifier of a ruling-out concept is no facet of its own ----------------------
    (
        INC,
        "No peripheral neuropathy with weakness",
        [("peripheral neuropathy", CON), ("weakness", CON)],
        [(C, "peripheral neuropathy", True)],
        ["weakness"],
    ),
    (
        INC,
        "No evidence of metastatic disease beyond the homolateral axillary nodes on "
        "pre-chemotherapy chest x-ray, bone scan, and CT scan of the abdomen",
        [
            ("metastatic disease", CON),
            ("chest x-ray", PROC),
            ("bone scan", PROC),
            ("CT scan of the abdomen", PROC),
        ],
        [(C, "metastatic disease", True)],
        ["chest x-ray", "bone scan", "CT scan of the abdomen"],
    ),
    (
        INC,
        "No diffuse tumors by mammography that would not be surgically amenable to lumpectomy",
        [("diffuse tumors", CON), ("mammography", PROC), ("lumpectomy", PROC)],
        [(C, "diffuse tumors", True)],
        ["mammography", "lumpectomy"],
    ),
    (  # the requirement and its (non-negated) imaging stay; the negated qualifier goes
        INC,
        "Patients with diffuse tumors (as demonstrated on mammography) that would not be "
        "considered surgically amenable to lumpectomy.",
        [
            ("diffuse tumors", CON),
            ("mammography", PROC),
            ("surgically", PROC),
            ("lumpectomy", PROC),
        ],
        [(C, "diffuse tumors", False), (P, "mammography", False)],
        ["lumpectomy"],
    ),
    (  # "other ... than X" names an exception
        INC,
        "Initial emphasis will be on patients who are taking few or no other medications than "
        "levodopa for their Parkinson's disease.",
        [("medications", DRUG), ("levodopa", DRUG), ("Parkinson's disease", CON)],
        [(OT, None, False)],
        ["levodopa", "Parkinson's disease"],  # an OTHER criterion keeps what was recognised
    ),
    (  # "for" after a treatment names its purpose
        EXC,
        "Concomitant antimicrobial treatment for CDAD.",
        [("antimicrobial treatment", PROC), ("CDAD", CON)],
        [(P, "antimicrobial treatment", False)],
        ["CDAD"],
    ),
    (
        EXC,
        "Any asthma exacerbation requiring oral corticosteroids within 1 month of the "
        "Screening Visit",
        [("asthma exacerbation", CON), ("oral corticosteroids", DRUG)],
        [(C, "asthma exacerbation", False)],
        ["oral corticosteroids"],
    ),
    (  # listed with the head's type: may be an item of its own, so it stays one
        INC,
        "No peripheral neuropathy with weakness or stroke",
        [("peripheral neuropathy", CON), ("weakness", CON), ("stroke", CON)],
        [(C, "peripheral neuropathy", True), (C, "stroke", True)],
        ["weakness"],
    ),
    (
        EXC,
        "Myocardial infarction that required hospitalization, or stroke",
        [("Myocardial infarction", CON), ("hospitalization", PROC), ("stroke", CON)],
        [(C, "Myocardial infarction", False), (C, "stroke", False)],
        ["hospitalization"],
    ),
    # --- ... and what still splits --------------------------------------------------------
    (  # a requirement: both
        INC,
        "Peripheral neuropathy with weakness",
        [("Peripheral neuropathy", CON), ("weakness", CON)],
        [(C, "Peripheral neuropathy", False), (C, "weakness", False)],
        [],
    ),
    (  # a generic head qualifies nothing
        EXC,
        "Prior treatment with bevacizumab",
        [("treatment", PROC), ("bevacizumab", DRUG)],
        [(M, "bevacizumab", False)],
        [],
    ),
    (
        INC,
        "No prior treatment with bevacizumab",
        [("treatment", PROC), ("bevacizumab", DRUG)],
        [(M, "bevacizumab", True)],
        [],
    ),
    (  # a list break before the connector: a new item
        EXC,
        "Diabetes, prior treatment with bevacizumab",
        [("Diabetes", CON), ("treatment", PROC), ("bevacizumab", DRUG)],
        [(C, "Diabetes", False), (M, "bevacizumab", False)],
        [],
    ),
    (  # a sentence break: a new clause
        EXC,
        "Cirrhosis; treatment with warfarin",
        [("Cirrhosis", CON), ("treatment", PROC), ("warfarin", DRUG)],
        [(C, "Cirrhosis", False), (M, "warfarin", False)],
        [],
    ),
    (  # "for" after a condition is no purpose
        EXC,
        "Hospitalization for heart failure within 6 months",
        [("heart failure", CON)],
        [(C, "heart failure", False)],
        [],
    ),
    (  # examples of the head are alternatives to it, not qualifiers
        EXC,
        "B-cell depletion therapy (such as treatment with Rituximab) within 12 months",
        [("B-cell depletion therapy", PROC), ("treatment", PROC), ("Rituximab", DRUG)],
        [(P, "B-cell depletion therapy", False), (M, "Rituximab", False)],
        [],
    ),
    (  # a colon opens a new clause
        EXC,
        "Pulmonary conditions that may preclude interpretation of study results: cystic fibrosis",
        [("Pulmonary conditions", CON), ("cystic fibrosis", CON)],
        [(C, "Pulmonary conditions", False), (C, "cystic fibrosis", False)],
        [],
    ),
    (
        EXC,
        "History of diabetes or heart failure",
        [("diabetes", CON), ("heart failure", CON)],
        [(C, "diabetes", False), (C, "heart failure", False)],
        [],
    ),
    # --- fragments are no concepts -------------------------------------------------------
    (
        EXC,
        "Any unstable, serious co-existing medical condition(s) including, but not limited to, "
        "myocardial infarction, symptoms of unstable angina",
        [
            ("co", CON),
            ("myocardial infarction", CON),
            ("symptoms of", CON),
            ("unstable angina", CON),
        ],
        [(C, "myocardial infarction", False), (C, "unstable angina", False)],
        [],
    ),
    (
        EXC,
        "Any other significant surgical or medical condition which would considerably affect "
        "results in view of the identifying clinician",
        [("surgical", PROC)],
        [(OT, None, False)],
        [],
    ),
    (
        INC,
        "Patients with severe heart and lung dysfunction",
        [("heart and", CON), ("lung dysfunction", CON)],
        [(C, "heart dysfunction", False), (C, "lung dysfunction", False)],
        [],
    ),
    (
        EXC,
        "Hepatic or renal failure",
        [("Hepatic", CON), ("renal failure", CON)],
        [(C, "Hepatic failure", False), (C, "renal failure", False)],
        [],
    ),
    # --- ... and what stays one ------------------------------------------------------------
    (  # a list of nouns, not modifiers of a shared one
        EXC,
        "Use of cyclosporine, hexobarbital and phenytoin",
        [("cyclosporine", DRUG), ("hexobarbital", DRUG), ("phenytoin", DRUG)],
        [(M, "cyclosporine", False), (M, "hexobarbital", False), (M, "phenytoin", False)],
        [],
    ),
    (
        EXC,
        "Diabetes or heart failure",
        [("Diabetes", CON), ("heart failure", CON)],
        [(C, "Diabetes", False), (C, "heart failure", False)],
        [],
    ),
    (
        EXC,
        "Active hepatitis A",
        [("hepatitis A", CON)],
        [(C, "hepatitis A", False)],
        [],
    ),
    (
        INC,
        "Diabetic or hypertensive patients",
        [("Diabetic", CON)],
        [(C, "Diabetic", False)],
        [],
    ),
    # --- in an exclusion, a deontic "must not" restates the exclusion ---------------------
    (
        EXC,
        "Any asthma exacerbation requiring oral corticosteroids within 1 month of the "
        "Screening Visit. A subject must not have had any hospitalization for asthma within "
        "2 month prior to the Screening Visit.",
        [("asthma exacerbation", CON), ("oral corticosteroids", DRUG), ("asthma", CON)],
        [(C, "asthma exacerbation", False), (C, "asthma", False)],
        ["oral corticosteroids"],
    ),
    (
        EXC,
        "Patients should not be receiving warfarin",
        [("warfarin", DRUG)],
        [(M, "warfarin", False)],
        [],
    ),
    (EXC, "Subjects may not use insulin", [("insulin", DRUG)], [(M, "insulin", False)], []),
    # ... but a real negation stays one, and so does "must not" in an inclusion
    (EXC, "Patients who do not have diabetes", [("diabetes", CON)], [(C, "diabetes", True)], []),
    (EXC, "Patients who cannot undergo MRI", [("MRI", PROC)], [(P, "MRI", True)], []),
    (EXC, "Patients who cannot have an MRI", [("MRI", PROC)], [(P, "MRI", True)], []),
    (
        EXC,
        "Subjects cannot have had prior radiotherapy",
        [("radiotherapy", PROC)],
        [(P, "radiotherapy", False)],
        [],
    ),
    (
        INC,
        "Patients must not have had prior chemotherapy",
        [("chemotherapy", DRUG)],
        [(M, "chemotherapy", True)],
        [],
    ),
]


def _row(crit: Criterion) -> Row:
    return (crit.category, crit.concept.text if crit.concept else None, crit.negated)


@pytest.mark.parametrize(
    ("section", "text", "spans", "expected", "qualifiers"),
    CASES,
    ids=[f"{'inc' if s == INC else 'exc'}:{t[:50]}" for s, t, *_ in CASES],
)
def test_qualifiers_fragments_and_deontic_negation(
    parser: tuple[CriteriaPipeline, SpansNer],
    section: str,
    text: str,
    spans: list[tuple[str, str]],
    expected: list[Row],
    qualifiers: list[str],
) -> None:
    pipeline, fixed = parser
    fixed.phrases = spans
    got = pipeline.parse(section + text)
    assert [_row(c) for c in got] == expected
    kept = [e.text for e in got[0].entities if e.type in (CON, DRUG, PROC)][1:]
    assert kept == qualifiers
