"""Age bounds ("18 years or older", "aged 18-75", "under 12 years") -> DEMOGRAPHIC/age in years."""

from __future__ import annotations

import re
from typing import ClassVar

from matcher.model import Category, Criterion, Entity
from nlp.criteria.extractors.base import NUM, POSTFIX, EntityRef, Extractor, Prepared, compile_ci
from nlp.rules_loader import AgeRules, load_rules

_R = load_rules("age", AgeRules)
_UNIT = "|".join(f"(?P<{k}_{{g}}>{v})" for k, v in _R.units.items())
# Years per unit; months are twelfths so that "18 months" is exactly 1.5 years.
_YEARS = {"years": 1.0, "months": 1 / 12, "weeks": 7 / 365.25, "days": 1 / 365.25}


def _expr(tag: str) -> str:
    u1, u2 = _UNIT.replace("{g}", f"a{tag}"), _UNIT.replace("{g}", f"b{tag}")
    return (
        rf"(?:between\s*)?(?P<cmp{tag}>[<>]=?|=)?\s*(?P<v{tag}>{NUM})\s*(?:(?:{u1})\b\s*)?"
        rf"(?:(?P<conn{tag}>-|to|and)\s*(?P<cmp2{tag}>[<>]=?\s*)?(?P<h{tag}>{NUM})\s*)?"
        rf"(?:(?:{u2})\b)?[ -]?(?P<tail{tag}>of age|old|of life)?\s*(?P<post{tag}>[⊒⊑])?"
    )


class AgeExtractor(Extractor):
    """Ages need an age word, an "of age"/"old" tail, a postfix bound or a population word.

    Without one of these anchors "for > 5 years" (a duration) would read as an age.
    """

    name: ClassVar[str] = "age"
    category: ClassVar[Category] = Category.DEMOGRAPHIC
    explicit: ClassVar[re.Pattern[str]] = re.compile(
        r"\bage[ds]?\b(?: range)?(?: of| is| at \w+)?\s*:?\s*" + _expr("")
    )
    bare: ClassVar[re.Pattern[str]] = re.compile(r"(?<![\w.])" + _expr(""))
    # The upper bound of a range written as two bounds: "... and <= age 73", "and < 65 years".
    upper: ClassVar[re.Pattern[str]] = re.compile(
        r"(?:and|but|to)\s+(?:age[ds]?\s*)?(?P<cmp><=?)\s*(?:age[ds]?\s*)?(?P<v>"
        + NUM
        + r")\s*(?:"
        + _UNIT.replace("{g}", "a")
        + r")?"
    )
    context: ClassVar[re.Pattern[str]] = compile_ci(_R.context)
    blockers: ClassVar[re.Pattern[str]] = compile_ci(_R.blockers)
    definitions: ClassVar[re.Pattern[str]] = compile_ci(_R.definitions)

    def extract(self, p: Prepared) -> list[Criterion]:
        text = p.norm
        m = self.explicit.search(text)
        if m is not None and self.blockers.search(text[max(0, m.start() - 30) : m.start()]):
            m = None
        bare = next(
            (b for b in self.bare.finditer(text) if self._anchored(text, b) and _not_time(p, b)),
            None,
        )
        if bare is not None and (m is None or bare.start() < m.start()):
            m = bare  # ">= 18 years of age and <= age 73": the first statement leads
        shift = 0
        if m is None and p.segment.context.lower().startswith("age"):
            m, shift = self.explicit.search("age " + text), 4
        if m is None or self.definitions.search(text[: m.start()]):
            return []
        a, b = p.orig(max(m.start() - shift, 0), max(m.end() - shift, 0))
        while b > a and p.text[b - 1] in " ,;.":
            b -= 1
        before = text[max(0, m.start() - shift - 25) : max(m.start() - shift, 0)]
        crit = self._criterion(p, m, [("Person", a, b)], before)
        crit = self._with_other_bound(p, crit, max(m.end() - shift, 0))
        # Trials state limits, not exact ages: an "=" left here is a bound we did not read.
        return [] if crit.comparator == "=" else [crit]

    def _with_other_bound(self, p: Prepared, crit: Criterion, after: int) -> Criterion:
        """ ">= 18 years of age and <= age 73": two one-sided bounds make one range."""
        if crit.comparator not in (">=", ">") or crit.value is None:
            return crit
        text = p.norm
        m = self.upper.search(text, after)
        if m is None or m.start() - after > _BOUND_GAP:
            return crit
        high = float(m.group("v")) * _YEARS[_unit(m, ("a",)) or "years"]
        if high <= crit.value:
            return crit
        crit.comparator, crit.value_high = "between", round(high, 4)
        a, b = p.orig(m.start(), m.end())
        crit.entities.append(Entity("Person", p.text[a:b], a, b))
        return crit

    def _anchored(self, text: str, m: re.Match[str]) -> bool:
        unit = _unit(m)
        if unit is None:
            return False
        before = text[max(0, m.start() - 30) : m.start()]
        if self.blockers.search(before):
            return False
        if m.group("tail") or m.group("post"):
            return True
        if unit != "years":
            # "fever > 1 week", "up to 4 weeks of tamoxifen": months, weeks and days are ages
            # only when an age word says so ("aged 6 months") or a population word stands
            # right before the bound ("infants younger than 28 days").
            if re.search(r"\bage[ds]?\b", before):
                return True
            found = list(self.context.finditer(before))
            return bool(found) and not before[found[-1].end() :].strip()
        if self.context.search(before):
            return True
        # A bare leading number reads as an age only in years: "< 84 days from mastectomy" and
        # "within 12 weeks of surgery" are windows, not the ages of infants.
        return m.start() <= 8 and unit == "years"

    def _criterion(
        self, p: Prepared, m: re.Match[str], refs: list[EntityRef], before: str = ""
    ) -> Criterion:
        scale = _YEARS[_unit(m) or "years"]
        low = round(float(m.group("v")) * _YEARS[_unit(m, ("a", "b")) or "years"], 4)
        lead = _LEAD.search(before)  # "<= age 50", "from birth to 80 years", "between the ages"
        if m.group("h"):
            high = round(float(m.group("h")) * scale, 4)
            # "aged 8 and 12 years", "18 years and < 80", "between the ages of 8 and 65" are
            # ranges; "< 18 and > 65" lies outside one, so it stays a one-sided bound.
            outside = (m.group("cmp") or "").startswith("<")
            if high > low and not outside:
                return self.make(
                    p,
                    "age",
                    comparator="between",
                    value=low,
                    value_high=high,
                    unit="years",
                    refs=refs,
                )
        if lead is not None and lead.group("birth"):
            return self.make(p, "age", comparator="<=", value=low, unit="years", refs=refs)
        cmp = (
            m.group("cmp")
            or POSTFIX.get(m.group("post") or "", "")
            or (lead.group("cmp") if lead is not None else None)
            or "="
        )
        return self.make(p, "age", comparator=cmp, value=low, unit="years", refs=refs)


_BOUND_GAP = 25  # characters between a lower age bound and its upper bound
# What stands before an age phrase and bounds it: "<= age 50", "from birth to 80 years".
_LEAD = re.compile(r"(?:(?P<cmp>[<>]=?)\s*|(?P<birth>from birth (?:to|through|-)\s*))$")
# Words right after "N years" that make it a time since something ("1 year post-menopausal").
_SINCE_AFTER = re.compile(r"\s*(?:post|since|after|ago|prior|following|from|duration)\b")


def _not_time(p: Prepared, m: re.Match[str]) -> bool:
    """ "At least 4 weeks since chemotherapy" is a window, not an age, unless it says "old";
    "born at >= 37 weeks gestational age" is a gestational age, not the patient's."""
    if _GESTATION.match(p.norm, m.end()):
        return False
    if _SINCE_AFTER.match(p.norm, m.end()) and not m.group("tail"):
        return False
    if m.group("tail"):
        return True
    return not any(w.item.start < m.end() and m.start() < w.item.end for w in p.windows)


_GESTATION = re.compile(r"\s*(?:of\s+)?(?:gestation|post-?menstrual|corrected|post-?conceptional)")


def _unit(m: re.Match[str], sides: tuple[str, ...] = ("b", "a")) -> str | None:
    """The time unit of the last number (of the first with sides a, b): "6 months to 13 years"."""
    for side in sides:
        for unit in _YEARS:
            if m.groupdict().get(f"{unit}_{side}"):
                return unit
    return None
