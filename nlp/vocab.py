"""Matching vocabularies (synonyms, unit table) loaded strictly from `nlp/rules/`."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from matcher.matching.concepts import Synonyms
from matcher.matching.units import Analyte, Scale, UnitTable
from nlp.rules_loader import Regex, StrictModel, load_rules


class SynonymRules(StrictModel):
    groups: list[list[str]] = Field(min_length=1)


class UnitSpelling(StrictModel):
    pattern: Regex
    ucum: str


class ScaleRule(StrictModel):
    from_unit: str
    to_unit: str
    scale: float
    offset: float = 0.0


class AnalyteRule(StrictModel):
    names: list[str] = Field(min_length=1)
    molar_mass: float | None = Field(default=None, gt=0)
    scales: list[ScaleRule] = Field(default_factory=list)

    def build(self) -> Analyte:
        scales = tuple(Scale(s.from_unit, s.to_unit, s.scale, s.offset) for s in self.scales)
        return Analyte(tuple(self.names), self.molar_mass, scales)


class UnitRules(StrictModel):
    spellings: list[UnitSpelling] = Field(min_length=1)
    units: dict[str, tuple[str, float]]
    analytes: list[AnalyteRule] = Field(default_factory=list)


@cache
def load_synonyms() -> Synonyms:
    return Synonyms(load_rules("synonyms", SynonymRules).groups)


@cache
def load_unit_rules() -> UnitRules:
    return load_rules("units", UnitRules)


@cache
def load_units() -> UnitTable:
    rules = load_unit_rules()
    return UnitTable(rules.units, [a.build() for a in rules.analytes])
