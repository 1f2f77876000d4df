"""Hard criteria, worded as in real protocols, and the structure they must parse into.

Wording comes from ClinicalTrials.gov textblocks of the TREC 2021 and SIGIR collections and
from Chia (the NCT id is noted per case). Each row is parsed on rules alone (the NER is
tested separately) as one bullet of the given section; every criterion the text yields is
listed, with the fields that matter for that case. Groups are compared as patterns: the same
letter means the same OR group, "" means no group.
"""

from __future__ import annotations

from typing import Any

import pytest

from matcher.model import Category, Criterion
from nlp.criteria import build_parser
from nlp.criteria.pipeline import CriteriaPipeline

D, C, M, L, P = (
    Category.DEMOGRAPHIC,
    Category.CONDITION,
    Category.MEDICATION,
    Category.LAB,
    Category.PROCEDURE,
)
B, PS, PR, CO, OT = (
    Category.BIOMARKER,
    Category.PERFORMANCE_STATUS,
    Category.PREGNANCY,
    Category.CONSENT,
    Category.OTHER,
)
INC, EXC = "Inclusion Criteria:\n- ", "Exclusion Criteria:\n- "


def c(category: Category, concept: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"category": category, "concept": concept, **fields}


CASES: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    # --- negation scope ------------------------------------------------------------------
    (
        "De Morgan",
        INC,
        "No history of diabetes or heart failure",
        [c(C, "diabetes", negated=True, group=""), c(C, "heart failure", negated=True, group="")],
    ),
    (
        "NCT00006890",
        INC,
        "No other malignancy within the past 5 years except adequately treated squamous cell or "
        "basal cell skin cancer or carcinoma in situ of the cervix",
        [c(C, "malignancy", negated=True, window_days=1826.25)],
    ),
    ("NCT00004017", INC, "HIV negative", [c(C, "HIV", negated=True)]),
    (
        "NCT00452699",
        INC,
        "Immunotherapy for the treatment of allergies is not allowed during the study",
        [c(M, "Immunotherapy", negated=True, window_days=None)],
    ),
    (
        "NCT00050349",
        EXC,
        "Patients with known brain metastases are excluded",
        [c(C, "brain metastases", negated=True)],
    ),
    (
        "pseudo-negation",
        INC,
        "Patients with or without prior chemotherapy",
        [c(M, "chemotherapy", negated=False)],
    ),
    (
        "NCT00004868",
        INC,
        "No pulmonary embolism within the past 3 months",
        [c(C, "pulmonary embolism", negated=True, window_days=91.32)],
    ),
    # --- lists and OR groups -------------------------------------------------------------
    (
        "NCT03085368",
        EXC,
        "congestive heart failure, unstable angina, or myocardial infarction",
        [
            c(C, "congestive heart failure", group="a"),
            c(C, "unstable angina", group="a"),
            c(C, "myocardial infarction", group="a"),
        ],
    ),
    # in an exclusion, a value in parentheses or after "i.e." defines the one condition named
    (
        "sample",
        EXC,
        "Uncontrolled hypertension (systolic blood pressure > 180 mm Hg)",
        [
            c(L, "systolic blood pressure", comparator=">", value=180, unit="mm[Hg]", group="a"),
            c(C, "hypertension", group="a"),
        ],
    ),
    (
        "sample",
        EXC,
        "Obesity, i.e. BMI > 30 kg/m2",
        [
            c(L, "body mass index", comparator=">", value=30, unit="kg/m2", group="a"),
            c(C, "Obesity", group="a"),
        ],
    ),
    (  # in a requirement the value narrows the condition: both must hold
        "sample",
        INC,
        "Uncontrolled hypertension (systolic blood pressure > 180 mm Hg)",
        [
            c(L, "systolic blood pressure", comparator=">", value=180, unit="mm[Hg]"),
            c(C, "hypertension"),
        ],
    ),
    (
        "sample",
        EXC,
        "SBP >= 140 mmHg or DBP >= 90 mmHg",
        [
            c(L, "systolic blood pressure", comparator=">=", value=140, unit="mm[Hg]", group="a"),
            c(L, "diastolic blood pressure", comparator=">=", value=90, unit="mm[Hg]", group="a"),
        ],
    ),
    (
        "NCT00004493",
        INC,
        "AST, ALT, or GGT no greater than 10 times ULN",
        [
            c(L, "aspartate aminotransferase", comparator="<=", value=10, unit="x ULN", group=""),
            c(L, "alanine aminotransferase", comparator="<=", value=10, unit="x ULN", group=""),
            c(L, "gamma-glutamyl transferase", comparator="<=", value=10, unit="x ULN", group=""),
        ],
    ),
    (
        "NCT02630823",
        INC,
        "Total bilirubin ≤ 1.5 x IULN OR direct bilirubin ≤ IULN for patients with total "
        "bilirubin > 1.5 x IULN",
        [
            c(L, "total bilirubin", comparator="<=", value=1.5, unit="x ULN", group="a"),
            c(L, "direct bilirubin", comparator="<=", value=1, unit="x ULN", group="a"),
        ],
    ),
    (
        "sample",
        EXC,
        "Myocardial infarction or unstable angina within ≤ 6 months of randomization,",
        [
            c(C, "Myocardial infarction", window_days=182.64, group="a"),
            c(C, "unstable angina", window_days=182.64, group="a"),
        ],
    ),
    (
        "NCT02114684",
        INC,
        "Treatment with other antiviral agents or immunoglobulins.",
        [c(M, "antiviral agents", group="a"), c(M, "immunoglobulins", group="a")],
    ),
    # Facets that different extractors find, joined only by "or", are alternatives too.
    (
        "SIGIR criterion annotations",
        INC,
        "A respiratory rate of at least 20/min or a PaCO2 of 32mmHg or lower or the use of "
        "mechanical ventilation",
        [
            c(L, "respiratory rate", comparator=">=", value=20, group="a"),
            c(L, "paco2", comparator="<=", value=32, group="a"),
            c(P, "use of mechanical ventilation", group="a"),
        ],
    ),
    (
        "sample",
        INC,
        "ECOG 0-1 or Karnofsky >= 70",
        [c(PS, "ecog", group="a"), c(PS, "karnofsky", group="a")],
    ),
    (
        "sample",
        INC,
        "Heart rate > 100/min and respiratory rate > 20/min",
        [c(L, "heart rate", group=""), c(L, "respiratory rate", group="")],
    ),
    # --- values, ranges, units -----------------------------------------------------------
    (
        "NCT01717911",
        INC,
        "Fasting plasma glucose between 200-300 mg/dl (A1C level between 7% and 10%).",
        [
            c(
                L,
                "fasting plasma glucose",
                comparator="between",
                value=200,
                value_high=300,
                unit="mg/dL",
            ),
            c(L, "hemoglobin a1c", comparator="between", value=7, value_high=10, unit="%"),
        ],
    ),
    (
        "NCT00461968",
        INC,
        "Having a body mass index (BMI) between 20 and 35 kg/m2",
        [c(L, "body mass index", comparator="between", value=20, value_high=35, unit="kg/m2")],
    ),
    (
        "NCT00004748",
        INC,
        "Platelets at least 100,000 (unless due to hypersplenism);",
        [c(L, "platelets", comparator=">=", value=100000, unit="")],
    ),
    (
        "NCT00004868",
        INC,
        "WBC at least 2,300/mm^3",
        [c(L, "white blood cell count", comparator=">=", value=2300, unit="/mm3")],
    ),
    (
        "NCT02114684",
        INC,
        "Creatinine clearance (CrCl) level greater than 60 mls/min",
        [c(L, "creatinine clearance", comparator=">", value=60, unit="mL/min")],
    ),
    (
        "NCT02114684",
        INC,
        "Platelet count of at least 50 x109cells/L",
        [c(L, "platelets", comparator=">=", value=50, unit="10*9/L")],
    ),
    (
        "NCT03863080",
        INC,
        "QMG score ≥12 at Screening and Baseline.",
        [c(L, "qmg score", comparator=">=", value=12, unit="")],
    ),
    (
        "NCT01156311",
        INC,
        "Must have an Expanded Disability Status Scale (EDSS) between 0.0 and 5.0, inclusive.",
        [c(L, "edss", comparator="between", value=0, value_high=5)],
    ),
    (
        "sample",
        EXC,
        "Serum creatinine ≥ 2.5 mg/dL within 14 days before enrollment.",
        [c(L, "creatinine", comparator=">=", value=2.5, unit="mg/dL", window_days=14)],
    ),
    (
        "sample",
        INC,
        "ANC: ≥ 1.5 x 10^9/L;Platelet count: ≥ 100 x 10^9/L;Hemoglobin: ≥ 9.0 g/dL",
        [
            c(L, "absolute neutrophil count", comparator=">=", value=1.5, unit="10*9/L"),
            c(L, "platelets", comparator=">=", value=100, unit="10*9/L"),
            c(L, "hemoglobin", comparator=">=", value=9, unit="g/dL"),
        ],
    ),
    ("QTc", EXC, "QTc > 450 msec", [c(L, "qtc", comparator=">", value=450, unit="ms")]),
    (
        "range with 'to'",
        INC,
        "Hemoglobin A1c (HbA1c) of 7.0% to 10.5%",
        [c(L, "hemoglobin a1c", comparator="between", value=7, value_high=10.5, unit="%")],
    ),
    (
        "sample",
        EXC,
        "Severe kidney failure (eGFR<15 ml/min)",
        [c(L, "egfr", comparator="<", value=15, unit="mL/min"), c(C, "kidney failure")],
    ),
    (
        "sample",
        EXC,
        "bilirubin greater than 4 mg%, albumin less than 3.0 gm%",
        [
            c(L, "total bilirubin", comparator=">", value=4, unit="mg/dL"),
            c(L, "albumin", comparator="<", value=3, unit="g/dL"),
        ],
    ),
    (
        "bare range",
        INC,
        "Platelets 100-200",
        [c(L, "platelets", comparator="between", value=100, value_high=200)],
    ),
    # --- temporal windows ----------------------------------------------------------------
    (
        "NCT00002759",
        INC,
        "At least 4 weeks since prior chemotherapy (at least 6 weeks since nitrosoureas or "
        "mitomycin)",
        [c(M, "chemotherapy", negated=True, window_days=28)],
    ),
    (
        "NCT00004408",
        INC,
        "At least 6 months since prior cerebrovascular accident or seizure",
        [
            c(C, "cerebrovascular accident", negated=True, window_days=182.64, group=""),
            c(C, "seizure", negated=True, window_days=182.64, group=""),
        ],
    ),
    (
        "NCT00004842",
        INC,
        "Received ursodeoxycholic acid for at least 6 months",
        [c(M, "ursodeoxycholic acid", duration_days=182.64, window_days=None)],
    ),
    (
        "NCT02911948",
        INC,
        "T2DM (type 2 diabetes mellitus) subjects (diagnosed clinically) for at least 6 months "
        "prior to screening",
        [c(C, "T2DM", duration_days=182.64, window_days=None)],
    ),
    (
        "NCT02106897",
        INC,
        "Definite SLE for at least 6 months duration prior to screening",
        [c(C, "SLE", duration_days=182.64, negated=False)],
    ),
    (
        "diagnosed ago",
        INC,
        "Diagnosed with asthma at least 12 months prior to screening",
        [c(C, "asthma", duration_days=365.28, negated=False, window_days=None)],
    ),
    (
        "future",
        INC,
        "Women must not become pregnant during the study and for 3 months after the last dose",
        [c(PR, "pregnancy", negated=True, window_days=None)],
    ),
    (
        "sample",
        INC,
        "At least 4 weeks from completion of major surgery and a healed surgical incision.",
        [c(P, "major surgery", negated=True, window_days=28)],
    ),
    # --- age and sex ---------------------------------------------------------------------
    (
        "TREC 2021 trials",
        INC,
        "Women >/= 18 years of age.",
        [c(D, "age", comparator=">=", value=18.0), c(D, "sex")],
    ),
    (
        "TREC 2021 trials",
        INC,
        "Hemoglobin </= 10 g/dL",
        [c(L, "hemoglobin", comparator="<=", value=10.0)],
    ),
    (
        "NCT02411825",
        INC,
        "Males, between 18 and 55 years of age, inclusive.",
        [
            c(D, "age", comparator="between", value=18, value_high=55, unit="years"),
            c(D, "sex", value_text="male"),
        ],
    ),
    (
        "NCT02118766",
        INC,
        "Males or females 2 years and older",
        [c(D, "age", comparator=">=", value=2, unit="years"), c(D, "sex", value_text="all")],
    ),
    (
        "sample",
        INC,
        "Greater than or equal to 18 years of age and less than or equal to age 73.",
        [c(D, "age", comparator="between", value=18, value_high=73, unit="years")],
    ),
    (
        "two bounds",
        INC,
        "Age ≥ 18 years and < 80 years",
        [c(D, "age", comparator="between", value=18, value_high=80, unit="years")],
    ),
    (
        "two bounds",
        INC,
        "Aged 18 years or older and younger than 65 years",
        [c(D, "age", comparator="between", value=18, value_high=65, unit="years")],
    ),
    ("NCT03530124", INC, "Born at ≥ 37 weeks gestational age.", [c(OT)]),
    # --- pregnancy, childbearing potential, contraception --------------------------------
    (
        "NCT01196715",
        INC,
        "Females of childbearing potential must have a negative pregnancy test prior to "
        "starting the study.",
        [c(PR, "pregnancy", negated=True)],
    ),
    (
        "NCT00001442",
        INC,
        "Eligible patients of childbearing potential should use contraception.",
        [c(PR, "contraception")],
    ),
    ("exclusion", EXC, "Women of childbearing potential", [c(PR, "childbearing potential")]),
    (
        "NCT00006184",
        INC,
        "Not pregnant or lactating. Patients of childbearing potential must use an effective "
        "method of contraception.",
        [
            c(PR, "pregnancy", negated=True, group=""),
            c(PR, "breastfeeding", negated=True, group=""),
        ],
    ),
    # --- performance status --------------------------------------------------------------
    (
        "NCT00110214",
        INC,
        "ECOG performance status: 0-2",
        [c(PS, "ecog", comparator="between", value=0, value_high=2)],
    ),
    (
        "NCT02392611",
        INC,
        "Eastern Cooperative Oncology Group (ECOG) Performance Status of ≤ 1",
        [c(PS, "ecog", comparator="<=", value=1)],
    ),
    (
        "NCT00006474",
        INC,
        "Karnofsky 60-100%",
        [c(PS, "karnofsky", comparator="between", value=60, value_high=100, unit="%")],
    ),
    # --- biomarkers ----------------------------------------------------------------------
    (
        "NCT04567420",
        INC,
        "Stage II or III, HER2 negative, ER positive invasive breast cancer",
        [
            c(B, "her2", value_text="negative", negated=False),
            c(B, "estrogen receptor", value_text="positive"),
            c(C, "invasive breast cancer"),
        ],
    ),
    (
        "NCT02973737",
        INC,
        "Histologically or cytologic confirmed HER2 positive advanced breast cancer which failed "
        "prior therapies.",
        [c(B, "her2", value_text="positive"), c(C, "advanced breast cancer")],
    ),
    (
        "EGFR/ALK",
        INC,
        "EGFR mutation-positive or ALK rearrangement",
        [
            c(B, "egfr", value_text="mutated", group="a"),
            c(B, "alk", value_text="rearranged", group="a"),
        ],
    ),
    ("PD-L1", INC, "PD-L1 TPS ≥ 50%", [c(B, "pd-l1", comparator=">=", value=50, unit="%")]),
    (
        "negated biomarker",
        INC,
        "No known EGFR mutation or ALK rearrangement",
        [
            c(B, "egfr", value_text="mutated", negated=True, group=""),
            c(B, "alk", value_text="rearranged", negated=True, group=""),
        ],
    ),
    (
        "TNBC",
        INC,
        "Triple negative breast cancer",
        [
            c(B, "estrogen receptor", value_text="negative", negated=False),
            c(B, "progesterone receptor", value_text="negative"),
            c(B, "her2", value_text="negative"),
            c(C, "breast cancer"),
        ],
    ),
    (
        "BRCA",
        INC,
        "Known BRCA1 or BRCA2 germline mutation",
        [
            c(B, "brca1", value_text="mutated", group="a"),
            c(B, "brca2", value_text="mutated", group="a"),
        ],
    ),
    (
        "eGFR is a lab",
        INC,
        "eGFR ≥ 60 mL/min/1.73 m2",
        [c(L, "egfr", comparator=">=", value=60, unit="mL/min/{1.73_m2}")],
    ),
    (
        "NCT04551495-like",
        INC,
        "Documented somatic mutation (deleterious or suspected deleterious) in BRCA1 or BRCA2",
        [
            c(B, "brca1", value_text="mutated", group="a"),
            c(B, "brca2", value_text="mutated", group="a"),
        ],
    ),
    # --- unless / except -----------------------------------------------------------------
    (
        "NCT00005951",
        INC,
        "At least 3 weeks since prior surgery, unless evidence of disease progression",
        [c(P, "surgery", negated=True, window_days=21)],
    ),
    (
        "NCT00462397",
        EXC,
        "No prior diagnosis of cancer, except basal cell skin cancer",
        [c(C, "cancer", negated=True)],
    ),
    (
        "NCT00672490",
        EXC,
        "History of seizure disorder, except febrile convulsions.",
        [c(C, "seizure disorder", negated=False)],
    ),
    (
        "constructed: a cue far before a second alternative",
        EXC,
        "Patients requiring home oxygen therapy for more than three months, or scheduled for "
        "mastectomy",
        [c(P, "mastectomy")],
    ),
    # --- consent -------------------------------------------------------------------------
    # Wording from the TrialGPT criterion annotations (SIGIR trials).
    (
        "criterion annotations",
        EXC,
        "missing informed consent",
        [c(CO, "informed consent", negated=True)],
    ),
    ("criterion annotations", EXC, "No consent", [c(CO, "informed consent", negated=True)]),
    (
        "criterion annotations",
        EXC,
        "Patients who do not accept their participation in the study through informed consent.",
        [c(CO, "informed consent", negated=True)],
    ),
    (
        "criterion annotations",
        EXC,
        "Foreseeable non-compliance with protocol as judged by the Investigator",
        [c(CO, "compliance", negated=True)],
    ),
    (
        "criterion annotations",
        EXC,
        "Patients considered unreliable to return for visits or to comply with study procedures.",
        [c(CO, "compliance", negated=True)],
    ),
    (
        "NCT02630823",
        INC,
        "Ability to understand and willingness to sign an IRB approved written informed consent "
        "document",
        [c(CO, "informed consent", negated=False)],
    ),
    (
        "sample",
        EXC,
        "Unable to comply with the study visit schedule",
        [c(CO, "compliance", negated=True)],
    ),
    # --- in an exclusion, a deontic "must not" restates the exclusion (rules alone) -------
    (
        "sample",
        EXC,
        "Patients must not have received chemotherapy within 4 weeks",
        [c(M, "chemotherapy", negated=False, window_days=28)],
    ),
    (
        "sample",
        INC,
        "Patients must not have received chemotherapy within 4 weeks",
        [c(M, "chemotherapy", negated=True, window_days=28)],
    ),
    # --- a modifier split off a shared noun (rules alone) -----------------------------------
    (
        "sample",
        EXC,
        "History of hepatic or renal failure",
        [c(C, "hepatic failure", negated=False), c(C, "renal failure", negated=False)],
    ),
    # --- stays OTHER ---------------------------------------------------------------------
    (
        "TREC2021",
        EXC,
        "Any other significant surgical or medical condition which would considerably affect "
        "results in view of the identifying clinician",
        [c(OT)],
    ),
    (
        "TREC2021",
        INC,
        "Initial emphasis will be on patients who are taking few or no other medications than "
        "levodopa for their Parkinson's disease.",
        [c(OT)],
    ),
    ("NCT01063907", INC, "Life expectancy of at least 3 months", [c(OT)]),
    (
        "sample",
        EXC,
        "Is participating in any other clinical study or plans to participate in another "
        "clinical study during the duration of this study",
        [c(OT)],
    ),
    ("sample", INC, "Fluent in English", [c(OT)]),
    ("NCT00004868", INC, "See Disease Characteristics", [c(OT)]),
]


@pytest.fixture(scope="module")
def parser() -> CriteriaPipeline:
    return build_parser({"ner": "off"})


def _group_pattern(criteria: list[Criterion]) -> list[str]:
    letters: dict[str, str] = {}
    return [
        letters.setdefault(crit.group, "abcdefgh"[len(letters)]) if crit.group else ""
        for crit in criteria
    ]


def _actual(crit: Criterion, group: str, keys: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "category": crit.category,
        "concept": crit.concept.text if crit.concept else None,
        "group": group,
    }
    for key in keys:
        if key not in row:
            row[key] = getattr(crit, key)
    return {k: row[k] for k in ["category", "concept", *keys] if k in row}


def _expected(exp: dict[str, Any]) -> dict[str, Any]:
    return {
        k: pytest.approx(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in exp.items()
    }


@pytest.mark.parametrize(
    ("source", "section", "text", "expected"),
    CASES,
    ids=[f"{src}:{text[:40]}" for src, _, text, _ in CASES],
)
def test_hard_case(
    parser: CriteriaPipeline, source: str, section: str, text: str, expected: list[dict]
) -> None:
    got = parser.parse(section + text)
    groups = _group_pattern(got)
    actual = [
        _actual(crit, group, [k for k in exp if k not in ("category", "concept")])
        for crit, group, exp in zip(got, groups, expected, strict=False)
    ]
    assert len(got) == len(expected), [(g.category.value, g.concept) for g in got]
    assert actual == [_expected(e) for e in expected]
    kind = "exclusion" if section == EXC else "inclusion"
    assert all(crit.kind.value == kind and crit.text == text for crit in got)


def test_the_table_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 40
    covered = {exp["category"] for *_, expected in CASES for exp in expected}
    assert covered == set(Category)
