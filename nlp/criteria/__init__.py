"""Eligibility-criteria segmentation and parsing: the API the services layer calls.

`split_criteria` and the parser are separate on purpose: the rule-based parser is a first
version, to be replaced by a spaCy NER pipeline behind the same `CriteriaParser` protocol.
"""

from __future__ import annotations

from typing import Any

from matcher.trials import CriteriaParser
from nlp.criteria.parser import RuleBasedParser
from nlp.criteria.registry import UnknownExtractor, build_extractors
from nlp.criteria.split import Segment, split_criteria


def build_parser(config: dict[str, Any] | None = None) -> CriteriaParser:
    """Build the parser from config, e.g. `{"extractors": ["age", "sex"]}`.

    Cheap: the rule files are loaded once per process and nothing is downloaded.
    """
    config = dict(config or {})
    names = config.pop("extractors", None)
    if config:
        raise UnknownExtractor(f"unknown parser config key(s): {', '.join(sorted(config))}")
    return RuleBasedParser(build_extractors(names))


__all__ = [
    "CriteriaParser",
    "Segment",
    "UnknownExtractor",
    "build_parser",
    "split_criteria",
]
