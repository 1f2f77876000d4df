"""Harvest the note lexicon `nlp/notes/rules/lexicon_harvested.yaml` from public data.

Sources: Synthea bundles (SNOMED CT condition and procedure display names, with their codes;
RxNorm medication ingredients) and the condition / intervention lists of the TREC 2021 and
SIGIR trial records. Using the trials' own vocabulary on the patient side means that what a
note says and what a trial targets meet on the same words. Filters are data
(`tools/note_lexicon_harvest.yaml`); curated terms (`lexicon_core.yaml`) take precedence at
load time, so this file only adds coverage.

    .venv/bin/python tools/build_note_lexicon.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nlp" / "notes" / "rules" / "lexicon_harvested.yaml"
CONFIG = Path(__file__).with_name("note_lexicon_harvest.yaml")
SNOMED = "http://snomed.info/sct"
_I = re.IGNORECASE
_LEADING_UNIT = re.compile(r"^(?:[\d.]+\s+)?(?:ml|mg|actuat|hr)\s+", _I)  # "60 ACTUAT x"


class Filters:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.stop = re.compile(raw["stop"], _I)
        self.procedure = re.compile(raw["procedure_words"], _I)
        self.drug = re.compile(raw["drug_shape"], _I)
        self.max_drug_words = int(raw["max_drug_words"])
        self.max_condition_words = int(raw["max_condition_words"])
        self.min_chars = int(raw["min_chars"])
        self.code_like = re.compile(raw["code_like"], _I)
        self.tags = re.compile(raw["display_tags"], _I)
        self.skip = re.compile(raw["display_skip"], _I)
        self.single_shape = re.compile(raw["single_word_shape_drop"], _I)
        self.single_drop = frozenset(w.lower() for w in raw["single_word_drop"])


def clean(term: str) -> str:
    """Lower case, one space, MeSH inversion undone ("Pneumonia, Pneumocystis" reads forward)."""
    term = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", term)
    term = " ".join(term.lower().replace("’", "'").split()).strip(" ,;.-")
    parts = [p.strip() for p in term.split(",")]
    if len(parts) == 2 and all(0 < len(p.split()) <= 4 for p in parts):
        term = f"{parts[1]} {parts[0]}"
    return term


def acceptable(term: str, f: Filters, max_words: int) -> bool:
    if " " not in term and (term in f.single_drop or f.single_shape.search(term)):
        return False
    return (
        len(term) >= f.min_chars
        and len(term.split()) <= max_words
        and re.fullmatch(r"[a-z0-9][a-z0-9 '/-]*", term) is not None
        and not f.stop.search(term)
        and not f.code_like.search(term)
    )


def synthea_terms(folder: Path, f: Filters) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            kind = resource.get("resourceType")
            if kind in ("Condition", "Procedure"):
                for coding in resource.get("code", {}).get("coding", []):
                    display = str(coding.get("display", ""))
                    if not display or f.skip.search(display):
                        continue
                    finding = "(finding)" in display
                    name = clean(f.tags.sub("", display))
                    if not acceptable(name, f, f.max_condition_words):
                        continue
                    category = (
                        "procedure"
                        if kind == "Procedure"
                        else ("finding" if finding else "condition")
                    )
                    codes = [{"system": SNOMED, "code": str(coding["code"])}]
                    if coding.get("system") != SNOMED:
                        codes = []
                    yield {"name": name, "category": category, "codes": codes}
            elif kind == "MedicationRequest":
                concept = resource.get("medicationCodeableConcept", {})
                for coding in concept.get("coding", []):
                    for ingredient in re.split(r"\s*/\s*", str(coding.get("display", ""))):
                        words = _LEADING_UNIT.sub("", ingredient)
                        name = clean(re.split(r"\s\d", words)[0])
                        if acceptable(name, f, f.max_drug_words) and f.drug.match(name):
                            yield {"name": name, "category": "medication"}


def trial_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield json.loads(line)


def trial_terms(paths: Iterable[Path], f: Filters) -> Iterator[dict[str, Any]]:
    for record in trial_records(paths):
        for condition in record.get("conditions") or []:
            name = clean(str(condition))
            if acceptable(name, f, f.max_condition_words):
                yield {"name": name, "category": "condition"}
        for intervention in record.get("interventions") or []:
            name = clean(str(intervention))
            if not acceptable(name, f, f.max_condition_words):
                continue
            if f.procedure.search(name):
                yield {"name": name, "category": "procedure"}
            elif len(name.split()) <= f.max_drug_words and f.drug.match(name):
                yield {"name": name, "category": "medication"}


def build(data: Path) -> list[dict[str, Any]]:
    f = Filters(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))
    trials = [data / "trec2021" / "trials.jsonl", data / "sigir" / "trials.jsonl"]
    seen: dict[str, dict[str, Any]] = {}
    for term in [*synthea_terms(data / "synthea", f), *trial_terms(trials, f)]:
        first = seen.setdefault(term["name"], term)
        if first is not term and term.get("codes") and not first.get("codes"):
            first["codes"] = term["codes"]
    return sorted(seen.values(), key=lambda t: (t["category"], t["name"]))


def _line(term: dict[str, Any]) -> str:
    fields = {"name": term["name"], "category": term["category"]}
    if term.get("codes"):
        fields["codes"] = term["codes"]
    return "- " + json.dumps(fields, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    terms = build(args.data)
    header = (
        "# GENERATED by tools/build_note_lexicon.py (`make note-lexicon`) from Synthea sample\n"
        "# bundles (SNOMED CT / RxNorm display names; Apache-2.0) and the TREC 2021 + SIGIR\n"
        "# trial condition/intervention lists (ClinicalTrials.gov records). Do not edit by hand:\n"
        "# change tools/note_lexicon_harvest.yaml or nlp/notes/rules/lexicon_core.yaml.\n"
    )
    body = "\n".join(_line(t) for t in terms)
    args.out.write_text(f"{header}terms:\n{body}\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for t in terms:
        counts[t["category"]] = counts.get(t["category"], 0) + 1
    print(f"{len(terms)} terms -> {args.out} {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
