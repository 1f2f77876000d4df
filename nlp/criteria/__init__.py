"""Eligibility-criteria segmentation and structuring: the API the services layer calls.

`split_criteria` cuts a textblock into criteria with exact source offsets; `build_parser`
returns the spaCy pipeline (nlp/criteria/pipeline.yaml) that turns them into `Criterion`
objects. The pipeline (and the NER, when configured) is built when `build_parser` is called;
importing the extractors reads their small YAML rule files (about 0.25 s in all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matcher.trials import CriteriaParser
from nlp.criteria.errors import UnknownExtractor
from nlp.criteria.split import Segment, split_criteria

if TYPE_CHECKING:
    from nlp.criteria.pipeline import CriteriaPipeline


def build_parser(config: dict[str, Any] | None = None) -> CriteriaPipeline:
    """The criteria pipeline with optional overrides, e.g. `{"extractors": ["age", "sex"]}`,
    `{"ner": "off"}`. Unknown keys or names raise `UnknownExtractor`."""
    from nlp.criteria.pipeline import build_pipeline

    return build_pipeline(config)


__all__ = [
    "CriteriaParser",
    "Segment",
    "UnknownExtractor",
    "build_parser",
    "split_criteria",
]
