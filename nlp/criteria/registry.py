"""Which extractors run, in which order: the one place a deployment (or a test) configures.

Order is priority: facet extractors (age, sex, performance status, biomarker, lab) add
criteria freely and claim the spans they read (a lab value is not also a scale, "EGFR
mutation" is not the kidney's eGFR); the NER concept extractor then turns recognised clinical
spans into criteria and claims the segment; otherwise the first `exclusive` rule extractor
that fires claims the segment's clinical concept, so the more specific ones (pregnancy,
consent, procedure, medication) must come before condition.
"""

from __future__ import annotations

from collections.abc import Sequence

from nlp.criteria.errors import UnknownExtractor
from nlp.criteria.extractors.age import AgeExtractor
from nlp.criteria.extractors.base import Extractor
from nlp.criteria.extractors.biomarker import BiomarkerExtractor
from nlp.criteria.extractors.concepts import ConceptExtractor
from nlp.criteria.extractors.condition import ConditionExtractor
from nlp.criteria.extractors.consent import ConsentExtractor
from nlp.criteria.extractors.lab_threshold import LabThresholdExtractor
from nlp.criteria.extractors.medication import MedicationExtractor
from nlp.criteria.extractors.performance_status import PerformanceStatusExtractor
from nlp.criteria.extractors.pregnancy import PregnancyExtractor
from nlp.criteria.extractors.procedure import ProcedureExtractor
from nlp.criteria.extractors.sex import SexExtractor

EXTRACTORS: dict[str, type[Extractor]] = {
    cls.name: cls
    for cls in (
        AgeExtractor,
        SexExtractor,
        PerformanceStatusExtractor,
        BiomarkerExtractor,
        LabThresholdExtractor,
        PregnancyExtractor,
        ConsentExtractor,
        ConceptExtractor,
        ProcedureExtractor,
        MedicationExtractor,
        ConditionExtractor,
    )
}
DEFAULT_ORDER: tuple[str, ...] = tuple(EXTRACTORS)

__all__ = ["DEFAULT_ORDER", "EXTRACTORS", "UnknownExtractor", "build_extractors"]


def build_extractors(names: Sequence[str] | None = None) -> list[Extractor]:
    """Instantiate `names` in the given order (default: all, in DEFAULT_ORDER)."""
    chosen = list(DEFAULT_ORDER if names is None else names)
    unknown = [n for n in chosen if n not in EXTRACTORS]
    if unknown:
        raise UnknownExtractor(
            f"unknown extractor(s) {', '.join(map(repr, unknown))}; known: {', '.join(EXTRACTORS)}"
        )
    return [EXTRACTORS[n]() for n in chosen]
