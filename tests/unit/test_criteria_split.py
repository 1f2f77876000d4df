"""Splitter tests on real-shaped ClinicalTrials.gov textblocks (NCT ids noted per case)."""

from __future__ import annotations

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
