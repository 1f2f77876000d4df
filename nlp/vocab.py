"""Matching vocabularies (synonyms, unit table) loaded strictly from `nlp/rules/`."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from matcher.matching.concepts import Synonyms
from matcher.matching.units import UnitTable
from nlp.rules_loader import Regex, StrictModel, load_rules


class SynonymRules(StrictModel):
    groups: list[list[str]] = Field(min_length=1)


class UnitSpelling(StrictModel):
    pattern: Regex
    ucum: str


class UnitRules(StrictModel):
    spellings: list[UnitSpelling] = Field(min_length=1)
    units: dict[str, tuple[str, float]]


@cache
def load_synonyms() -> Synonyms:
    return Synonyms(load_rules("synonyms", SynonymRules).groups)


@cache
def load_unit_rules() -> UnitRules:
    return load_rules("units", UnitRules)


@cache
def load_units() -> UnitTable:
    return UnitTable(load_unit_rules().units)
