"""Who a criterion can apply to: a pregnancy exclusion says nothing about a man or a child.

The cue lists are data (nlp/rules/applicability.yaml); this module only decides, so that the
evaluator can answer NOT_APPLICABLE instead of UNKNOWN for criteria outside a patient's group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from matcher.model import PatientRecord


@dataclass(frozen=True, slots=True)
class ApplicabilityRule:
    """Criteria about any cue apply only to patients of `gender` and at least `min_age`.

    A part of a criterion is about the population when its own concept names a cue
    ("pregnancy", "ovarian cancer"), or when the statement opens with one of the population's
    `subjects` ("Women of childbearing potential must use contraception", "A female is
    eligible if she is ...") and names none of the `others` ("Men and women with early
    carotid atherosclerosis" is about everyone). A cue elsewhere in a long statement does not
    make its other parts women-only.
    """

    name: str
    cues: tuple[str, ...]
    gender: str = ""  # FHIR administrative gender the criterion is about; "" for any
    min_age: float | None = None
    subjects: frozenset[str] = frozenset()
    others: frozenset[str] = frozenset()

    def mentioned_in(self, text: str) -> bool:
        lowered = text.lower()
        return any(cue in lowered for cue in self.cues)

    def opens(self, words: list[str]) -> bool:
        """Whether a statement (its words, in order) is about this population as a whole."""
        return any(w in self.subjects for w in words[:4]) and not self.names_others(words)

    def names_others(self, words: list[str]) -> bool:
        return not self.others.isdisjoint(words)

    def excludes(self, record: PatientRecord, index_date: date) -> bool:
        """Whether the patient is outside the population (for a criterion mentioning a cue)."""
        if self.gender and record.gender and record.gender not in (self.gender, "unknown"):
            return True
        if self.min_age is not None:
            age = record.age_at(index_date)
            return age is not None and age < self.min_age
        return False


def populations(
    rules: tuple[ApplicabilityRule, ...], text: str, concept: str | None = None
) -> tuple[ApplicabilityRule, ...]:
    """The rules a criterion part invokes (computed once per criterion, not per patient): by
    its concept, by a statement about the population, or, for a part with no concept, by any
    cue in a statement that names no one else."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
    out = []
    for r in rules:
        if concept is not None:
            about = r.mentioned_in(concept) or r.opens(words)
        else:
            about = r.opens(words) or (r.mentioned_in(text) and not r.names_others(words))
        if about:
            out.append(r)
    return tuple(out)


def not_applicable(
    rules: tuple[ApplicabilityRule, ...], record: PatientRecord, index_date: date
) -> ApplicabilityRule | None:
    """The first of a criterion's population rules that leaves this patient out, if any."""
    return next((r for r in rules if r.excludes(record, index_date)), None)


@dataclass(frozen=True, slots=True)
class Qualifiers:
    """Words near a criterion's concept that change what a bare concept match shows.

    `phrases` are severity/control words ("uncontrolled") a record rarely states. `governors`
    make the concept the object of something else ("chemotherapy for breast cancer",
    "hypersensitivity to thalidomide"): the record showing the concept does not show that.
    `trailers` right after the concept restrict it ("amyloidosis secondary to RA"), and
    `changes` make a numeric limit a change rather than a level ("weight loss of > 5 kg").
    `methods` name how something is assessed ("physical examination"), not what.
    `current_words` before the concept ask about the present ("no concurrent radiotherapy")
    unless one of the `past_words` in the criterion keeps the past relevant. `permissions`
    ("prior chemotherapy allowed") make a criterion that rules no one out. `sex_scopes`
    (contraception, pregnancy, menopause) make a sex facet the criterion's scope. `stated_by`
    lists other words that state a qualifier; `list_cues` ("such as") make a list's items
    share the qualifier of the phrase before the cue. `restrictions` after the concept of an
    exclusion ("who do not sign the consent") keep only some of those who have it. `healthy`
    openings ask for a healthy person, unless one of `healthy_exceptions` allows disease.
    """

    phrases: tuple[str, ...] = ()
    window_chars: int = 30
    governors: tuple[str, ...] = ()
    fillers: frozenset[str] = frozenset()
    changes: tuple[str, ...] = ()
    trailers: tuple[str, ...] = ()
    methods: frozenset[str] = frozenset()
    current_words: tuple[str, ...] = ()
    past_words: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    permission_blockers: tuple[str, ...] = ()
    sex_scopes: tuple[str, ...] = ()
    stated_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    list_cues: tuple[str, ...] = ()
    restrictions: tuple[str, ...] = ()
    treatment_trailers: tuple[str, ...] = ()
    treatment_heads: tuple[str, ...] = ()
    trailer_blockers: frozenset[str] = frozenset()
    healthy: tuple[str, ...] = ()
    healthy_exceptions: tuple[str, ...] = ()

    def asks_healthy(self, text: str) -> bool:
        """Whether the criterion asks for a healthy person ("Healthy volunteers", "In good
        general health"), with no allowance for disease ("... or subjects with well
        controlled disease", "healthy beyond ... complications")."""
        lowered = _WHO.sub("", " ".join(text.lower().split()))
        return any(lowered.startswith(h) for h in self.healthy) and not any(
            re.search(rf"\b{re.escape(e)}\b", lowered) for e in self.healthy_exceptions
        )

    def restriction(self, text: str, concept: str) -> str | None:
        """A clause after the concept that keeps only some of those who have it ("pregnant
        women [who do not sign the consent]"), if any."""
        # A normalised concept ("pregnancy" for "Pregnant") is not found: read the whole text.
        rest = _around(text, concept)[2] if concept.lower() in text.lower() else text.lower()
        return next((r for r in self.restrictions if re.search(rf"\b{re.escape(r)}\b", rest)), None)

    def states(self, qualifier: str, text: str) -> bool:
        """Whether `text` says the qualifier, in its own words or one of its other forms
        ("bone metastases" says "metastatic")."""
        lowered = text.lower()
        return any(f in lowered for f in (qualifier, *self.stated_by.get(qualifier, ())))

    def sex_scoped(self, text: str) -> bool:
        """Whether a sex named in the criterion only says whom it is about ("female patients
        must use birth control"): what it asks concerns that sex alone, so for a patient of
        the other sex the criterion does not apply rather than fails."""
        lowered = text.lower()
        return any(cue in lowered for cue in self.sex_scopes)

    def permits_only(self, text: str) -> bool:
        """Whether the criterion only permits something ("concurrent steroids allowed"): one
        sentence ending in the permission, so a requirement with an allowance attached
        ("stable regimen ... (dose adjustments are acceptable)") stays a requirement."""
        words = re.findall(r"[a-z]+", text.lower())
        one_sentence = not re.search(r"[.;:(]\s*\S", text.strip())
        return (
            one_sentence
            and bool(words)
            and words[-1] in self.permissions
            and not set(words).intersection(self.permission_blockers)
        )

    def present_only(self, text: str, concept: str) -> bool:
        """Whether the criterion asks about `concept` now, so a past record does not meet it."""
        head, target, _ = _around(text, concept)
        scope = head[-self.window_chars :] + target
        if not any(re.search(rf"\b{re.escape(w)}\b", scope) for w in self.current_words):
            return False
        lowered = text.lower()
        return not any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in self.past_words)

    def is_method(self, concept: str) -> bool:
        """Whether the concept names an assessment ("physical examination"), not a finding."""
        return concept.lower().strip(" .,;:") in self.methods

    def before(self, text: str, concept: str) -> str | None:
        """The qualifier standing just before `concept` in `text` (or inside it), if any."""
        head, target, _ = _around(text, concept)
        scope = head[-self.window_chars :] + target
        cue = max((head.rfind(c) for c in self.list_cues), default=-1)
        if cue > 0:
            # "uncontrolled medical problems such as diabetes, ..., [renal disease]": the
            # items of a list introduced by an example cue share the qualifier of its head.
            scope = head[max(0, cue - self.window_chars) : cue] + " " + scope
        return next((q for q in self.phrases if re.search(rf"\b{re.escape(q)}\b", scope)), None)

    def governor(self, text: str, concept: str) -> str | None:
        """The governing phrase that ends right before `concept` (skipping filler words such
        as "any" or "the current"), if any: "prior therapy for [breast cancer]" -> "for"."""
        head, _, _ = _around(text, concept)
        found = self._governing(head)
        bracket = head.rfind("(")
        if found is None and bracket >= 0 and ")" not in head[bracket:]:
            # "resistant to any of the study drugs (isoniazid, rifampin)": the items of a
            # bracketed list share the governor of the phrase the brackets spell out.
            found = self._governing(head[:bracket], slack=5)
        return found

    def _governing(self, head: str, slack: int = 0) -> str | None:
        """The governor ending `head` (after filler words), or up to `slack` words earlier."""
        words = re.findall(r"[a-z0-9']+", head[-80:])
        for _ in range(slack + 1):
            while words and words[-1] in self.fillers:
                words.pop()
            tail = " ".join(words)
            found = next((g for g in self.governors if tail and _governs(g, tail)), None)
            if found is not None or not words:
                return found
            words.pop()
        return None

    def trailer(self, text: str, concept: str, treatment: bool = False) -> str | None:
        """A restricting phrase right after `concept`, with the words that follow it:
        "amyloidosis [secondary to rheumatoid arthritis]"; for a treatment also what it is
        for, "antimicrobial treatment [for CDAD]" (not "for at least 3 months")."""
        _, _, rest = _around(text, concept)
        rest = rest.lstrip(" ,")
        if treatment:  # "antimicrobial [treatment] for CDAD"
            first, _, after = rest.partition(" ")
            rest = after.lstrip() if first in self.treatment_heads else rest
        for t in (*self.trailers, *(self.treatment_trailers if treatment else ())):
            m = re.match(rf"{re.escape(t)}\b(?:\s+[\w'-]+){{0,2}}", rest)
            if m and not (set(m.group().split()[1:2]) & self.trailer_blockers):
                return m.group()
        return None

    def change(self, text: str) -> str | None:
        """A change word the numeric criterion states ("weight gain of more than 5 kg")."""
        lowered = text.lower()
        return next((w for w in self.changes if re.search(rf"\b{re.escape(w)}\b", lowered)), None)


# "Subjects [who are] in good health": the person named before the health words.
_WHO = re.compile(
    r"^(?:subjects?|participants?|volunteers?|individuals?|persons?|adults?|men|women)\s+"
    r"(?:(?:who|that)\s+(?:are|is)\s+|must\s+be\s+|are\s+|is\s+)?"
)


def _around(text: str, concept: str) -> tuple[str, str, str]:
    """(lower-cased text before the concept, the concept, text after it); a concept not found
    in the text has nothing around it."""
    lowered, target = text.lower(), concept.lower()
    at = lowered.find(target)
    if at < 0:
        return "", target, ""
    return lowered[:at], target, lowered[at + len(target) :]


def _governs(phrase: str, tail: str) -> bool:
    """Whether `tail` (the words before a concept) ends with `phrase`; "A ... B" lets up to
    six words stand between A and B."""
    if " ... " not in phrase:
        return tail == phrase or tail.endswith(f" {phrase}")
    head, last = phrase.split(" ... ", 1)
    pattern = rf"(?:^|\s){re.escape(head)}(?:\s+\S+){{0,6}}?\s+{re.escape(last)}$"
    return re.search(pattern, tail) is not None
