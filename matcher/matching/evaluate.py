"""Evaluation of one criterion for one patient: MET / NOT_MET / UNKNOWN / NOT_APPLICABLE.

MET means the patient satisfies the criterion's statement as written (for an exclusion, MET
rules the patient out). Missing data is UNKNOWN, never MET; a negated or refuted fact is
evidence of absence; family-history and hypothetical mentions are not the patient's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from matcher.matching.applicability import (
    ApplicabilityRule,
    Qualifiers,
    not_applicable,
    populations,
)
from matcher.matching.concepts import (
    HEADS,
    ConceptHit,
    PatientConcepts,
    Synonyms,
    content_tokens,
    names_concept,
)
from matcher.matching.timing import (
    age_satisfies,
    aware,
    in_window,
    known_at,
    lasted,
    onset_known,
    undated,
)
from matcher.matching.units import UnitTable, compare, compare_stated
from matcher.model import (
    Assertion,
    Category,
    Criterion,
    CriterionKind,
    CriterionResult,
    Evidence,
    Fact,
    FactKind,
    Outcome,
)

KINDS_BY_CATEGORY: dict[Category, frozenset[str]] = {
    Category.CONDITION: frozenset(
        {FactKind.CONDITION, FactKind.NOTE_MENTION, FactKind.OBSERVATION, FactKind.ALLERGY}
    ),
    Category.MEDICATION: frozenset(
        {FactKind.MEDICATION, FactKind.NOTE_MENTION, FactKind.IMMUNIZATION}
    ),
    Category.PROCEDURE: frozenset({FactKind.PROCEDURE, FactKind.NOTE_MENTION}),
    Category.BIOMARKER: frozenset(
        {FactKind.OBSERVATION, FactKind.NOTE_MENTION, FactKind.CONDITION}
    ),
    Category.PREGNANCY: frozenset(
        {FactKind.CONDITION, FactKind.NOTE_MENTION, FactKind.OBSERVATION}
    ),
    Category.LAB: frozenset({FactKind.OBSERVATION}),
    # Consent and adherence are stated in notes ("will provide informed consent"), never coded.
    Category.CONSENT: frozenset({FactKind.NOTE_MENTION}),
    Category.PERFORMANCE_STATUS: frozenset({FactKind.OBSERVATION}),
}
IGNORED_ASSERTIONS = frozenset({Assertion.FAMILY, Assertion.HYPOTHETICAL})
MAX_EVIDENCE = 3


@dataclass(frozen=True, slots=True)
class EvaluatorConfig:
    concept_threshold: float = 0.78  # cosine above which a fact means the concept
    other_threshold: float = 0.80  # stricter: free-text OTHER criteria have no structure


@dataclass(slots=True)
class CriterionContext:
    """Per-request, per-criterion inputs computed once for all patients."""

    criterion: Criterion
    vector: np.ndarray | None
    variant_tokens: list[frozenset[str]]  # content tokens of the concept's synonym variants
    populations: tuple[ApplicabilityRule, ...] = ()  # population rules the text invokes
    qualifier: str | None = None  # "uncontrolled" before the concept, if any
    governor: str | None = None  # "therapy ... for" before the concept, if any
    change: str | None = None  # "loss" in a numeric criterion about a change, if any
    targets: tuple[frozenset[str], ...] = ()  # content tokens of the trial's conditions
    assessment: bool = False  # the concept names how it is assessed ("physical examination")
    relative: bool = False  # a limit relative to a reference ("3 times normal", "2 SD")
    present_only: bool = False  # asks about now ("concurrent radiotherapy"): the past is stale
    permission: bool = False  # only permits ("prior chemotherapy allowed"): rules no one out
    restriction: str | None = None  # "who do not sign the consent" after an excluded concept
    healthy: bool = False  # asks for a healthy person ("Healthy volunteers")
    sex_scoped: bool = False  # its sex says whom it is about ("female patients ... contraception")


_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_RELATIVE = re.compile(
    r"\b(?:times|x|×|fold)\s*(?:the\s+)?(?:upper\s+limit\s+of\s+)?(?:normal|uln|lln)\b"
    r"|\bstandard deviations?\b|\bpercentile\b"
)


_RELATIVE_REACH = 60  # characters after the value that can say what it is relative to


def _relative(criterion: Criterion) -> bool:
    """ "AST > 3 times normal", "SBP more than 2 standard deviations below normal": relative
    to a reference, not an absolute value. Read after the criterion's own value when it is
    known, so that "(wt > 95th percentile for age, for adults BMI > 27)" leaves the BMI limit
    absolute."""
    text = criterion.text.lower()
    for entity in criterion.entities:
        if entity.type == "Value":
            at = text.find(entity.text.lower())
            if at >= 0:
                text = text[at : at + len(entity.text) + _RELATIVE_REACH]
            break
    return _RELATIVE.search(text) is not None


def _is_target(hit: ConceptHit, targets: tuple[frozenset[str], ...]) -> bool:
    """Whether the fact is one of the trial's conditions, or a more or less specific name of
    one ("pancreatic cancer" for a "Pancreatic Cancer" or a "Cancer" trial)."""
    fact = content_tokens(hit.fact.text)
    return bool(fact) and any(names_concept(t, fact) or names_concept(fact, t) for t in targets)


def _narrower(hit: ConceptHit, variants: list[frozenset[str]]) -> bool:
    """Whether a lexically matched fact names something more specific than every variant of
    the concept ("urinary tract infection" for "infection"): its absence leaves the concept
    open."""
    if hit.how != "lexical":
        return False
    fact = content_tokens(hit.fact.text) - HEADS
    return bool(variants) and all(fact - v for v in variants)


def _num(value: float) -> str:
    return f"{round(value, 2):g}"


def _evidence(hits: list[ConceptHit]) -> list[Evidence]:
    out: list[Evidence] = []
    for hit in hits[:MAX_EVIDENCE]:
        fact = hit.fact
        text = fact.text
        if fact.value is not None:
            text = f"{text} {fact.comparator or '='} {_num(fact.value)} {fact.unit}".strip()
        elif fact.value_text:
            text = f"{text}: {fact.value_text}"
        if fact.start is not None:
            text = f"{text} ({fact.start.date().isoformat()})"
        if fact.assertion != Assertion.PRESENT:
            text = f"{text} [{fact.assertion.value}]"
        out.append(Evidence(fact.source, text, round(hit.score, 3)))
    return out


class CriterionEvaluator:
    def __init__(
        self,
        synonyms: Synonyms,
        units: UnitTable,
        config: EvaluatorConfig,
        applicability: tuple[ApplicabilityRule, ...] = (),
        qualifiers: Qualifiers | None = None,
    ) -> None:
        self.synonyms = synonyms
        self._units = units
        self._config = config
        self._applicability = applicability
        self._qualifiers = qualifiers or Qualifiers()
        self._last_targets: tuple[tuple[str, ...], tuple[frozenset[str], ...]] = ((), ())

    def context(
        self,
        criterion: Criterion,
        vector: np.ndarray | None,
        conditions: tuple[str, ...] = (),
    ) -> CriterionContext:
        """`conditions` are the conditions the criterion's trial studies (none for a lone
        criterion): a patient's record of them never rules the patient out by itself."""
        text = criterion.match_text
        variants = self.synonyms.variants(text)
        bare = _PARENTHESES.sub(" ", text).strip()
        if bare and bare != text:  # "common variable immunodeficiency (CVID)"
            variants = [*variants, *self.synonyms.variants(bare)]
        tokens = list(dict.fromkeys(t for t in map(content_tokens, variants) if t))
        concept = criterion.concept.text if criterion.concept else None
        return CriterionContext(
            criterion,
            vector,
            tokens,
            populations(
                self._applicability,
                criterion.text,
                criterion.concept.text if criterion.concept else None,
            ),
            (
                self._qualifiers.before(criterion.text, concept)
                or self._qualifiers.trailer(
                    criterion.text,
                    concept,
                    treatment=criterion.category in (Category.MEDICATION, Category.PROCEDURE),
                )
                if concept
                else None
            ),
            self._qualifiers.governor(criterion.text, concept) if concept else None,
            self._qualifiers.change(criterion.text) if criterion.value is not None else None,
            self._targets(conditions),
            bool(concept) and self._qualifiers.is_method(concept),
            _relative(criterion),
            bool(concept and self._qualifiers.present_only(criterion.text, concept)),
            not criterion.negated and self._qualifiers.permits_only(criterion.text),
            (
                self._qualifiers.restriction(criterion.text, concept)
                if concept and criterion.kind == CriterionKind.EXCLUSION and not criterion.negated
                else None
            ),
            criterion.kind == CriterionKind.INCLUSION
            and not criterion.negated
            and criterion.category in (Category.CONDITION, Category.OTHER)
            and self._qualifiers.asks_healthy(criterion.text),
            self._qualifiers.sex_scoped(criterion.text),
        )

    def _targets(self, conditions: tuple[str, ...]) -> tuple[frozenset[str], ...]:
        """Content tokens of a trial's conditions and their synonyms: the same for all of a
        trial's criteria, so computed once per trial (the last trial's answer is kept; one
        tuple, read and replaced whole, so server threads never see half of one)."""
        last = self._last_targets
        if last[0] == conditions:
            return last[1]
        found = {t for c in conditions for t in map(content_tokens, self.synonyms.variants(c)) if t}
        targets = tuple(sorted(found, key=sorted))
        self._last_targets = (conditions, targets)
        return targets

    def evaluate(
        self, ctx: CriterionContext, patient: PatientConcepts, index_date: date
    ) -> CriterionResult:
        c = ctx.criterion
        record = patient.record
        if c.category == Category.DEMOGRAPHIC:
            return self._demographic(c, patient, index_date, ctx.sex_scoped)
        if ctx.permission:  # no requirement to meet or fail, so no evidence to cite
            return CriterionResult(
                c, Outcome.NOT_APPLICABLE, "the criterion only permits; it rules no one out"
            )
        outside = not_applicable(ctx.populations, record, index_date)
        if outside is not None:
            return CriterionResult(c, Outcome.NOT_APPLICABLE, f"applies to {outside.name}")
        if c.category == Category.CONSENT:
            return self._consent(ctx, patient, index_date)
        if ctx.healthy:
            return self._healthy(c, patient, index_date)
        if c.category in (Category.LAB, Category.PERFORMANCE_STATUS) and c.value is not None:
            return self._threshold(ctx, patient, index_date)
        if c.concept is None:
            return self._semantic_only(ctx, patient)
        if ctx.assessment:
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"{c.concept.text} is how the criterion is assessed, not what it asks",
            )
        return self._presence(ctx, patient, index_date)

    # --- demographics ------------------------------------------------------------------

    def _demographic(
        self, c: Criterion, patient: PatientConcepts, index_date: date, sex_scoped: bool = False
    ) -> CriterionResult:
        record = patient.record
        concept = c.concept.text if c.concept else ""
        if concept == "age":
            if c.comparator in ("=", "!="):
                # Trials state age limits, not exact ages: "=" is a misread bound.
                return CriterionResult(c, Outcome.UNKNOWN, "age bound not understood")
            months = record.months_at(index_date)
            if months is None:
                return CriterionResult(c, Outcome.UNKNOWN, "birth date not recorded")
            age = months / 12 if months < 24 else float(months // 12)
            ok = age_satisfies(months, c.comparator, c.value, c.value_high)
            if ok is None:
                return CriterionResult(c, Outcome.UNKNOWN, "age bound not understood")
            ev = [
                Evidence(
                    f"Patient/{record.patient_id}",
                    f"born {record.birth_date.isoformat()}; age {age:g} on {index_date}",
                )
            ]
            reason = (
                f"age {age:g} {'satisfies' if ok else 'violates'} {c.comparator} "
                f"{c.value:g}" + (f"-{c.value_high:g}" if c.value_high is not None else "")
            )
            return CriterionResult(c, Outcome.MET if ok else Outcome.NOT_MET, reason, ev)
        if concept == "sex":
            wanted = (c.value_text or "all").lower()
            if not record.gender or record.gender == "unknown":
                return CriterionResult(c, Outcome.UNKNOWN, "administrative gender not recorded")
            ok = wanted == "all" or record.gender == wanted
            ev = [Evidence(f"Patient/{record.patient_id}", f"gender {record.gender}")]
            if ok and c.kind == CriterionKind.EXCLUSION:
                # "Female patients with a positive pregnancy test": the sex only says whom
                # the exclusion is about; the rest of the statement decides it.
                return CriterionResult(
                    c,
                    Outcome.UNKNOWN,
                    f"patient is {record.gender}; the rest of the exclusion decides",
                    ev,
                )
            if not ok and sex_scoped:
                return CriterionResult(
                    c,
                    Outcome.NOT_APPLICABLE,
                    f"patient is {record.gender}; the criterion is about {wanted} patients only",
                    ev,
                )
            return CriterionResult(
                c,
                Outcome.MET if ok else Outcome.NOT_MET,
                f"patient is {record.gender}; criterion asks {wanted}",
                ev,
            )
        return CriterionResult(c, Outcome.UNKNOWN, f"demographic {concept!r} not evaluated")

    def _healthy(self, c: Criterion, patient: PatientConcepts, index_date: date) -> CriterionResult:
        """A current condition on record is not a healthy volunteer; silence proves no
        health (an unremarkable record may just be short)."""
        ill = [
            ConceptHit(f, 1.0, "record")
            for f in patient.record.facts
            if f.kind == FactKind.CONDITION
            and f.assertion == Assertion.PRESENT
            and known_at(f, index_date)
        ]
        if not ill:
            return CriterionResult(c, Outcome.UNKNOWN, "no record says whether healthy")
        names = ", ".join(dict.fromkeys(h.fact.text for h in ill[:3]))
        return CriterionResult(
            c, Outcome.NOT_MET, f"record shows {names}: not a healthy volunteer", _evidence(ill)
        )

    def _consent(
        self, ctx: CriterionContext, patient: PatientConcepts, index_date: date
    ) -> CriterionResult:
        """Only a documented statement settles consent or adherence; otherwise screening does."""
        screening = CriterionResult(
            ctx.criterion, Outcome.UNKNOWN, "needs confirmation at screening"
        )
        if ctx.criterion.concept is None:
            return screening
        result = self._presence(ctx, patient, index_date)
        return screening if result.outcome == Outcome.UNKNOWN else result

    # --- presence of a concept ---------------------------------------------------------

    def _presence(
        self, ctx: CriterionContext, patient: PatientConcepts, index_date: date
    ) -> CriterionResult:
        c = ctx.criterion
        assert c.concept is not None
        kinds = KINDS_BY_CATEGORY.get(c.category)
        hits = patient.match(
            c.concept.codes, ctx.variant_tokens, ctx.vector, self._config.concept_threshold, kinds
        )
        # A past pregnancy is not one now; "no concurrent radiotherapy" is not about the past.
        current_only = c.category == Category.PREGNANCY or ctx.present_only
        present: list[ConceptHit] = []
        stale: list[ConceptHit] = []  # the patient's, but outside the window or in the past
        broader: list[ConceptHit] = []  # a less specific name: settles absence only
        absent: list[ConceptHit] = []
        for h in hits:
            assertion = h.fact.assertion
            if assertion in IGNORED_ASSERTIONS or not known_at(h.fact, index_date):
                continue
            if assertion == Assertion.ABSENT:
                if not _narrower(h, ctx.variant_tokens):
                    absent.append(h)  # "no UTI" does not say "no infection"
            elif h.how == "general":
                broader.append(h)
            elif (current_only and assertion == Assertion.HISTORICAL) or not in_window(
                h.fact, index_date, c.window_days
            ):
                stale.append(h)
            else:
                present.append(h)
        concept = c.concept.text
        if present and c.duration_days is not None:
            onset = [h for h in present if onset_known(h.fact)]
            lasting = [h for h in onset if lasted(h.fact, index_date, c.duration_days)]
            if not onset:
                return CriterionResult(
                    c,
                    Outcome.UNKNOWN,
                    f"record shows {concept}, not since when ({c.duration_days:g} days needed)",
                    _evidence(present),
                )
            if not lasting:
                stale, present = present, []
        if present and ctx.restriction:
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"record shows {concept}; the exclusion keeps only those {ctx.restriction} ...",
                _evidence(present),
            )
        if present and ctx.governor:
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"record shows {concept}; the criterion is about {ctx.governor.split(' ... ')[0]}"
                f" ... {concept}",
                _evidence(present),
            )
        disqualifying = (c.kind == CriterionKind.EXCLUSION) != c.negated
        if (
            present
            and disqualifying
            and c.window_days is not None
            and all(undated(h.fact) for h in present)
        ):
            # A note is dated when written; "s/p radiotherapy" may be long before it.
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"a note mentions {concept}, not when "
                f"(the criterion looks back {c.window_days:g} days)",
                _evidence(present),
            )
        if present and ctx.targets and disqualifying:
            studied = [h for h in present if _is_target(h, ctx.targets)]
            if len(studied) == len(present):
                return CriterionResult(
                    c,
                    Outcome.UNKNOWN,
                    f"record shows {studied[0].fact.text}, which the trial studies; that alone "
                    "does not rule the patient out",
                    _evidence(present),
                )
        if present:
            qualifier = ctx.qualifier
            if qualifier and not any(
                self._qualifiers.states(qualifier, f"{h.fact.text} {h.fact.sentence}")
                for h in present
            ):
                # "metastatic" inside the concept: name what the record does show.
                shown = present[0].fact.text if qualifier in concept.lower() else concept
                return CriterionResult(
                    c,
                    Outcome.UNKNOWN,
                    f"record shows {shown}, not whether it is {qualifier}",
                    _evidence(present),
                    open_qualifier=qualifier,
                )
            has, ev, why = True, _evidence(present), f"record shows {concept}"
        elif absent and not (broader and all(h.how == "general" for h in absent)):
            # A less specific name both present and absent ("TB" in two sentences) settles
            # nothing about the specific concept.
            has, ev, why = False, _evidence(absent), f"{concept} is recorded as absent"
        elif stale:
            has, ev = False, _evidence(stale)
            why = (
                f"{concept} recorded only outside the {c.window_days:g}-day window"
                if c.window_days is not None
                else f"{concept} recorded for less than {c.duration_days:g} days"
                if c.duration_days is not None
                else f"{concept} recorded only in the past"
            )
        elif broader:
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"record shows {broader[0].fact.text}, less specific than {concept}",
                _evidence(broader),
            )
        else:
            return CriterionResult(c, Outcome.UNKNOWN, f"no record of {concept}")
        satisfied = has != c.negated
        return CriterionResult(c, Outcome.MET if satisfied else Outcome.NOT_MET, why, ev)

    # --- numeric thresholds ------------------------------------------------------------

    def _threshold(
        self, ctx: CriterionContext, patient: PatientConcepts, index_date: date
    ) -> CriterionResult:
        c = ctx.criterion
        concept = c.match_text
        of_limit = c.unit.lower() in ("x uln", "x lln")
        if ctx.relative or (("uln" in c.unit.lower() or "lln" in c.unit.lower()) and not of_limit):
            return CriterionResult(
                c, Outcome.UNKNOWN, "limit relative to the normal range; reference range unknown"
            )
        if ctx.change:
            return CriterionResult(
                c, Outcome.UNKNOWN, f"the limit is on a {ctx.change}, not on one value"
            )
        hits = patient.match(
            c.concept.codes if c.concept else [],
            ctx.variant_tokens,
            ctx.vector,
            self._config.concept_threshold,
            KINDS_BY_CATEGORY[c.category],
        )
        values = [
            h
            for h in hits
            if h.fact.value is not None
            and h.fact.assertion == Assertion.PRESENT
            and known_at(h.fact, index_date)
            and in_window(h.fact, index_date, c.window_days)
        ]
        if not values:
            return CriterionResult(c, Outcome.UNKNOWN, f"no {concept} value recorded")
        if of_limit:
            return self._multiple_of_limit(c, concept, values)
        epoch = datetime.min.replace(tzinfo=UTC)

        def recency(h: ConceptHit) -> tuple[bool, datetime]:
            return h.score >= 0.85, aware(h.fact.start) or epoch

        # A value in a unit the limit cannot be compared with is most often another analyte
        # that shares the name ("hemoglobin A1c" % for "hemoglobin" g/dL, "creatinine" mg/dL
        # for "creatinine clearance" mL/min): the latest comparable value decides.
        converted = [(h, self._value_in(h.fact, c.unit, concept)) for h in values]
        comparable = [(h, v) for h, v in converted if v is not None]
        latest, value = max(comparable or converted, key=lambda hv: recency(hv[0]))
        fact = latest.fact
        if value is None:
            return CriterionResult(
                c,
                Outcome.UNKNOWN,
                f"latest {concept} is in {fact.unit!r}, cannot compare with {c.unit!r}",
                _evidence([latest]),
            )
        ok = compare_stated(fact.comparator, value, c.comparator, c.value, c.value_high)
        if ok is None:
            why = (
                f"latest {concept} is {fact.comparator} {_num(value)}, which neither meets nor "
                f"fails {c.comparator} {c.value:g}"
                if fact.comparator
                and compare(value, c.comparator, c.value, c.value_high) is not None
                else "comparator not understood"
            )
            return CriterionResult(c, Outcome.UNKNOWN, why, _evidence([latest]))
        bound = f"{c.value:g}" + (f"-{c.value_high:g}" if c.value_high is not None else "")
        reason = (
            f"latest {concept} {fact.comparator} {_num(value)} {c.unit} "
            f"{'satisfies' if ok else 'fails'} "
            f"{c.comparator} {bound}"
        ).replace("  ", " ")
        satisfied = ok != c.negated
        return CriterionResult(
            c, Outcome.MET if satisfied else Outcome.NOT_MET, reason, _evidence([latest])
        )

    def _multiple_of_limit(
        self, c: Criterion, concept: str, values: list[ConceptHit]
    ) -> CriterionResult:
        """ "AST <= 2.5 x ULN" without the laboratory's range: decided when the latest value
        meets or fails the limit over the whole interval of common normal limits (units.yaml
        `normal`), UNKNOWN in between or when the table has no limit for the analyte."""
        epoch = datetime.min.replace(tzinfo=UTC)
        found = [
            (h, m)
            for h in values
            if h.fact.value is not None
            and not h.fact.comparator
            and (
                m := self._units.multiple_of_limit(
                    h.fact.value, h.fact.unit, c.unit, (concept, h.fact.text)
                )
            )
        ]
        if not found:
            return CriterionResult(
                c, Outcome.UNKNOWN, "limit relative to the normal range; reference range unknown"
            )
        hit, ((low, high), analyte) = max(
            found, key=lambda hm: (hm[0].score >= 0.85, aware(hm[0].fact.start) or epoch)
        )
        at_low = compare(low, c.comparator, c.value, c.value_high)
        at_high = compare(high, c.comparator, c.value, c.value_high)
        assert analyte.normal is not None
        limits = analyte.normal.upper if c.unit.lower() == "x uln" else analyte.normal.lower
        assert limits is not None
        limit_name = c.unit.split()[-1]
        stated = (
            f"latest {concept} {_num(hit.fact.value or 0)} {hit.fact.unit} is "
            f"{_num(low)}-{_num(high)} {c.unit} (usual {limit_name} "
            f"{limits[0]:g}-{limits[1]:g} {analyte.normal.unit})"
        )
        bound = f"{c.value:g}" + (f"-{c.value_high:g}" if c.value_high is not None else "")
        if at_low is None or at_high is None or at_low != at_high:
            why = f"{stated}: {c.comparator} {bound} depends on the laboratory's range"
            return CriterionResult(c, Outcome.UNKNOWN, why, _evidence([hit]))
        why = f"{stated}, {'satisfies' if at_low else 'fails'} {c.comparator} {bound}"
        satisfied = at_low != c.negated
        return CriterionResult(
            c, Outcome.MET if satisfied else Outcome.NOT_MET, why, _evidence([hit])
        )

    def _value_in(self, fact: Fact, unit: str, concept: str) -> float | None:
        """The fact's value in the criterion's unit (as recorded when the criterion gives
        none); None when the units cannot be compared."""
        assert fact.value is not None
        if not unit:
            return fact.value
        return self._units.convert(fact.value, fact.unit, unit, (concept, fact.text))

    # --- unstructured ------------------------------------------------------------------

    def _semantic_only(self, ctx: CriterionContext, patient: PatientConcepts) -> CriterionResult:
        c = ctx.criterion
        if ctx.vector is None:
            return CriterionResult(c, Outcome.UNKNOWN, "not structured; no similar record")
        best = patient.best_similarity(ctx.vector)
        if best is None or best[1] < self._config.other_threshold:
            return CriterionResult(c, Outcome.UNKNOWN, "not structured; no similar record")
        text, score = best
        facts = [f for f in patient.facts_for(text) if f.assertion not in IGNORED_ASSERTIONS]
        if not facts:
            return CriterionResult(c, Outcome.UNKNOWN, "not structured; no similar record")
        present = [f for f in facts if f.assertion != Assertion.ABSENT]
        has = bool(present)
        ev = _evidence([ConceptHit(f, score, "semantic") for f in (present or facts)])
        satisfied = has != c.negated
        return CriterionResult(
            c,
            Outcome.MET if satisfied else Outcome.NOT_MET,
            f"semantically similar record ({score:.2f})",
            ev,
        )
