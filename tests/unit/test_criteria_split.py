"""Splitter tests on real-shaped ClinicalTrials.gov textblocks (NCT ids noted per case)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from matcher.model import CriterionKind
from nlp.criteria import split_criteria

INC, EXC = CriterionKind.INCLUSION, CriterionKind.EXCLUSION

# NCT01633593 (raw textblock: \r\n, deep indentation, blank-line separated bullets)
RAW_CRLF = (
    "\n        Inclusion Criteria:\r\n\r\n          -  Over 60 year old\r\n\r\n"
    "          -  Delirium according to the CAM-ICU (Confusion Assessment Method for Intensive Care"
    "\r\n             Unit)\r\n\r\n          -  informed consent (legal representatives)\r\n\r\n"
    "        Exclusion Criteria:\r\n\r\n          -  unable to swallow pills\r\n\r\n"
    "          -  previous allergy to donepezil\r\n\r\n"
    "          -  Atrioventricular block of 2nd and 3nd degree\r\n      "
)
# NCT03863080 (re-flowed: numbered, no blank lines, trailing prose line)
NUMBERED = (
    "Inclusion Criteria:\n  1. Male or female ≥ 18 years of age.\n"
    "  2. QMG score ≥12 at Screening and Baseline.\n"
    "Other, more specific inclusion criteria are defined in the protocol.\n"
    "Exclusion Criteria:\n  1. Thymectomy performed < 12 months prior to screening.\n"
    "  2. Total IgG level <6 g/L (at screening)."
)
# NCT00000137 (no headings at all; wrapped paragraph lines)
NO_HEADINGS = (
    "\n        Males and females age 10 years or older with two to four quadrants of corneal"
    " stroma\r\n        vascularization or a history of allograft rejection in the eye considered"
    " for surgery were\r\n        eligible for both studies in the CCTS.\r\n\r\n"
    "        Patients must have been willing to participate in 3 years of followup.\r\n      "
)
# NCT02174094 (nested sub-bullets under a parent ending with ":")
NESTED = (
    "\n        Inclusion Criteria:\n\n          -  Onset of seizures in the first year of life\n\n"
    "          -  Multiple seizure types which may include:\n\n"
    "               -  generalised tonic-clonic (required for inclusion)\n\n"
    "               -  myoclonic jerks/seizures\n\n"
    "          -  Drug-resistant epilepsy\n"
)
# Flattened one-line variant.
FLAT = "inclusion criteria: - age > 18 - type 2 diabetes exclusion criteria: - pregnancy"
# NCT01094964-style PDQ layout: sub-headings are context, not criteria.
PDQ = (
    "DISEASE CHARACTERISTICS:\n\n  -  Diagnosis of non-muscle invasive bladder cancer\n\n"
    "PATIENT CHARACTERISTICS:\n\n  -  WHO performance status 0-4\n\n  -  Not pregnant or nursing\n"
)
# NCT00497653 (inline "(1) ... (2) ..." numbering inside a wrapped paragraph)
INLINE_NUMBERS = (
    "Inclusion Criteria:-\r\n\r\n(1) Non-obese women with PCOS between 18-40 years of age. (2)"
    " oligomenorrhea,\r\n(3) Signed informed consent.\r\n\r\n"
    "Exclusion Criteria: - (1) Diabetes mellitus"
)
# NCT02618655 (sigir re-flowed form: lower-case headings, blank-line paragraphs)
SIGIR = (
    "inclusion criteria: \n\n patients have fever more than one week \n\n"
    " temperature is higher than 38℃ Celsius degree\n\nexclusion criteria: \n\n"
    " patients leave with automatic discharge"
)

CASES = [
    (
        RAW_CRLF,
        [
            (INC, "Over 60 year old"),
            (
                INC,
                "Delirium according to the CAM-ICU (Confusion Assessment Method for Intensive "
                "Care Unit)",
            ),
            (INC, "informed consent (legal representatives)"),
            (EXC, "unable to swallow pills"),
            (EXC, "previous allergy to donepezil"),
            (EXC, "Atrioventricular block of 2nd and 3nd degree"),
        ],
    ),
    (
        NUMBERED,
        [
            (INC, "Male or female ≥ 18 years of age."),
            (INC, "QMG score ≥12 at Screening and Baseline."),
            (INC, "Other, more specific inclusion criteria are defined in the protocol."),
            (EXC, "Thymectomy performed < 12 months prior to screening."),
            (EXC, "Total IgG level <6 g/L (at screening)."),
        ],
    ),
    (
        NO_HEADINGS,
        [
            (
                INC,
                "Males and females age 10 years or older with two to four quadrants of corneal "
                "stroma vascularization or a history of allograft rejection in the eye considered "
                "for surgery were eligible for both studies in the CCTS.",
            ),
            (INC, "Patients must have been willing to participate in 3 years of followup."),
        ],
    ),
    (
        NESTED,
        [
            (INC, "Onset of seizures in the first year of life"),
            (INC, "Multiple seizure types which may include:"),
            (INC, "generalised tonic-clonic (required for inclusion)"),
            (INC, "myoclonic jerks/seizures"),
            (INC, "Drug-resistant epilepsy"),
        ],
    ),
    (FLAT, [(INC, "age > 18"), (INC, "type 2 diabetes"), (EXC, "pregnancy")]),
    (
        PDQ,
        [
            (INC, "Diagnosis of non-muscle invasive bladder cancer"),
            (INC, "WHO performance status 0-4"),
            (INC, "Not pregnant or nursing"),
        ],
    ),
    (
        INLINE_NUMBERS,
        [
            (INC, "Non-obese women with PCOS between 18-40 years of age."),
            (INC, "oligomenorrhea,"),
            (INC, "Signed informed consent."),
            (EXC, "Diabetes mellitus"),
        ],
    ),
    (
        SIGIR,
        [
            (INC, "patients have fever more than one week"),
            (INC, "temperature is higher than 38℃ Celsius degree"),
            (EXC, "patients leave with automatic discharge"),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_segments(text: str, expected: list[tuple[CriterionKind, str]]) -> None:
    assert [(s.kind, s.text) for s in split_criteria(text)] == expected


@pytest.mark.parametrize(("text", "_"), CASES)
def test_offsets_point_at_the_criterion(text: str, _: object) -> None:
    for seg in split_criteria(text):
        original = " ".join(text[seg.start : seg.end].split())
        for word in seg.text.split():
            assert word in original
        assert original.startswith(seg.text.split()[0])
        assert original.endswith(seg.text.split()[-1])


def test_nested_bullets_keep_their_parent() -> None:
    segs = split_criteria(NESTED)
    assert [(s.depth, s.parent) for s in segs] == [(0, None), (0, None), (1, 1), (1, 1), (0, None)]


def test_subheadings_become_context() -> None:
    segs = split_criteria(PDQ)
    assert [s.context for s in segs] == [
        "DISEASE CHARACTERISTICS",
        "PATIENT CHARACTERISTICS",
        "PATIENT CHARACTERISTICS",
    ]


def test_nothing_is_dropped() -> None:
    text = RAW_CRLF + "\n   Some trailing remark without bullet"
    covered = set()
    for seg in split_criteria(text):
        covered.update(range(seg.start, seg.end))
    headings = {"Inclusion", "Criteria:", "Exclusion", "-"}
    leftovers = [
        w
        for w in "".join(c if i not in covered else " " for i, c in enumerate(text)).split()
        if w not in headings
    ]
    assert leftovers == []


def test_empty_text() -> None:
    assert split_criteria("\n   \r\n") == []


# --- real textblocks (tests/fixtures/criteria/textblocks.json, see its README) -------------

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures/criteria/textblocks.json").read_text())


def _block(nct: str) -> str:
    return FIXTURES[nct]["eligibility_criteria"]


@pytest.mark.parametrize("nct", sorted(FIXTURES))
def test_real_textblock_offsets_are_exact(nct: str) -> None:
    """Every word of every segment maps back to the same characters of the source."""
    text = _block(nct)
    segments = split_criteria(text)
    assert segments
    for seg in segments:
        for m in re.finditer(r"\S+", seg.text):
            a, b = seg.source_span(m.start(), m.end())
            assert text[a:b] == m.group()
        assert seg.start < seg.end and not text[seg.start].isspace()


@pytest.mark.parametrize(
    ("nct", "index", "kind", "context", "text"),
    [
        # flattened PDQ paragraph: labels become context, statements are cut apart
        ("NCT00003209", 7, INC, "Age", "18 and over"),
        ("NCT00003209", 11, INC, "Hematopoietic", "Platelet count at least 100,000/mm3"),
        ("NCT00003209", 12, INC, "Hepatic", "Bilirubin no greater than 14.6 mg/dL"),
        ("NCT00003209", 16, INC, "Pulmonary", "FEV1 at least 1.0 L"),
        ("NCT00003209", 23, INC, "Radiotherapy", "No preoperative external radiotherapy"),
        # qualified headings switch the kind and give the context
        ("NCT00001408", 4, EXC, "BLOOD DRAW/ASTHMA", None),
        ("NCT00001408", 8, INC, "BLOOD DRAW/NORMAL CONTROL", "Age 18-65."),
        # one criterion per \r\n line, no bullets, no wrapping
        (
            "NCT03530124",
            4,
            INC,
            "",
            "English- or Spanish-speaking parent(s)/legally authorized representative(s) (LAR(s))",
        ),
        ("NCT03530124", 5, INC, "", "Not planned for discharge within 60 hours of study entry"),
        # "(2) ... (3)" inside a bullet is not a list
        (
            "NCT02118766",
            3,
            INC,
            "",
            "Has an ISGA score of Mild (2) or Moderate (3) at Baseline/Day 1",
        ),
        # lower-case re-flowed layout
        (
            "NCT00256529",
            3,
            EXC,
            "",
            "Contradiction to EGD and/or biopsies such as Boerhaave's syndrome, or history or "
            "bleeding disorder or elevated INR",
        ),
        # banner sub-headings are context
        ("NCT00004493", 3, INC, "Hematopoietic", "Hemoglobin at least 7 mg/dL"),
    ],
)
def test_real_textblock_segments(
    nct: str, index: int, kind: CriterionKind, context: str, text: str | None
) -> None:
    seg = split_criteria(_block(nct))[index]
    assert (seg.kind, seg.context) == (kind, context)
    if text is not None:
        assert seg.text == text


def test_or_line_and_trailing_or_make_alternatives() -> None:
    segs = split_criteria(_block("NCT00004493"))
    assert segs[0].text.startswith("Diagnosis of stable, persistent lactic acidemia")
    assert segs[1].text.startswith("Diagnosis of cerebral lactic acidemia")
    assert segs[0].group and segs[0].group == segs[1].group
    assert not segs[2].group
    pdq = split_criteria(_block("NCT00004868"))
    creat = [s for s in pdq if s.text.startswith("Creatinine")]
    assert [s.text for s in creat] == [
        "Creatinine less than 1.5 mg/dL",
        "Creatinine clearance at least 60 mL/min",
    ]
    assert creat[0].group and creat[0].group == creat[1].group


def test_inline_or_in_a_pdq_run_is_an_alternative() -> None:
    segs = split_criteria(_block("NCT00002806"))
    steroid = [s for s in segs if s.context == "Endocrine therapy"]
    assert [s.text for s in steroid] == [
        "At least 1 week since prior steroids",
        "Stable steroid dose for at least 1 week prior to study",
    ]
    assert steroid[0].group and steroid[0].group == steroid[1].group


def test_children_of_one_of_the_following_are_alternatives() -> None:
    segs = split_criteria(_block("NCT02291237"))
    parent = next(
        n for n, s in enumerate(segs) if s.text.endswith("at least one of the following:")
    )
    kids = [s for s in segs if s.parent == parent]
    assert [s.text[:28] for s in kids] == [
        "New York Heart Association (",
        "Canadian Cardiovascular Soci",
    ]
    assert kids[0].group and {s.group for s in kids} == {kids[0].group}
    assert not segs[parent].group


def test_exception_children_stay_with_their_parent() -> None:
    text = _block("NCT00002882")
    segs = split_criteria(text)
    merged = [s for s in segs if s.text.startswith("No second malignancy except:")]
    assert [s.text for s in merged] == [
        "No second malignancy except: In situ cervical cancer Basal or squamous skin cancer"
    ]
    assert not [s for s in segs if s.text.startswith(("In situ cervical", "Basal or squamous"))]
    assert text[merged[0].start : merged[0].end].endswith("Basal or squamous skin cancer")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # headings with qualifiers, and "Patients must ..." forms
        (
            "INCLUSION CRITERIA - Recipients:\n- Age 18 or older\n"
            "EXCLUSION CRITERIA - Donor - any of the following:\n- HIV infection",
            [
                (INC, "Recipients", "Age 18 or older"),
                (EXC, "Donor - any of the following", "HIV infection"),
            ],
        ),
        (
            "Key exclusion criteria\n- Prior stroke\nPatients must have:\n- Diabetes",
            [(EXC, "", "Prior stroke"), (INC, "Patients must have", "Diabetes")],
        ),
        # re-flowed single line with semicolons
        (
            "Inclusion criteria: age 18-65; type 2 diabetes. Exclusion criteria: pregnancy; "
            "dialysis",
            [
                (INC, "", "age 18-65;"),
                (INC, "", "type 2 diabetes."),
                (EXC, "", "pregnancy;"),
                (EXC, "", "dialysis"),
            ],
        ),
        # leading study-part tags and item codes are not criterion text
        (
            "- PRE-REGISTRATION: Willing to undergo biopsy\n- E-13. Use of ketoconazole",
            [
                (INC, "PRE-REGISTRATION", "Willing to undergo biopsy"),
                (INC, "", "Use of ketoconazole"),
            ],
        ),
    ],
)
def test_layout_forms(text: str, expected: list[tuple[CriterionKind, str, str]]) -> None:
    assert [(s.kind, s.context, s.text) for s in split_criteria(text)] == expected


def test_long_prose_paragraph_is_cut_into_sentences() -> None:
    text = (
        "Patients with known brain metastases, unless these metastases have been treated and "
        "have been stable for at least six months prior to study start. Subjects with a history "
        "of brain metastases must have a head CT with contrast to document either response or "
        "progression. Patients with bone metastases as the only site of measurable disease are "
        "not eligible for this study at all."
    )
    segs = split_criteria(text)
    assert [s.text.split()[0] for s in segs] == ["Patients", "Subjects", "Patients"]
    assert all(text[s.start : s.end] == s.text for s in segs)
