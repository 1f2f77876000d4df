"""Matching vocabularies (synonyms, unit table) loaded strictly from `nlp/rules/`."""

from __future__ import annotations

from functools import cache

from pydantic import Field, model_validator

from matcher.matching.concepts import Synonyms
from matcher.matching.units import Analyte, NormalLimits, Scale, UnitTable
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


class NormalRule(StrictModel):
    unit: str
    upper: tuple[float, float] | None = None
    lower: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NormalRule:
        for bounds in (self.upper, self.lower):
            if bounds is not None and not 0 < bounds[0] <= bounds[1]:
                raise ValueError(f"limits {bounds} must be positive and ascending")
        return self


class AnalyteRule(StrictModel):
    names: list[str] = Field(min_length=1)
    molar_mass: float | None = Field(default=None, gt=0)
    scales: list[ScaleRule] = Field(default_factory=list)
    normal: NormalRule | None = None

    def build(self) -> Analyte:
        scales = tuple(Scale(s.from_unit, s.to_unit, s.scale, s.offset) for s in self.scales)
        n = self.normal
        normal = NormalLimits(n.unit, n.upper, n.lower) if n is not None else None
        return Analyte(tuple(self.names), self.molar_mass, scales, normal)


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
