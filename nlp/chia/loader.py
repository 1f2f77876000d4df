"""Read the Chia corpus (brat standoff `.txt`/`.ann` pairs) into criteria with gold entities.

Chia's `.ann` offsets are not always offsets into the `.txt`: in about two thirds of the files
they count every newline as two characters (the annotation tool saw CRLF, the released text
has LF). The span text is repeated in the `.ann`, so the loader decides per file which reading
makes the spans agree with the text (plain offsets, or offsets shifted back by the number of
newlines before them) and converts every offset to the `.txt`'s own. An entity whose text
agrees with neither reading is kept with the file's reading and counted in `mismatched`,
so that a corrupt file is visible instead of silently scored against wrong spans.

Evaluation works on criteria, one per non-blank line (Chia annotated one criterion per line),
with entity offsets relative to the line. An entity that crosses a line end (rare; an
annotation slip) belongs to the line where it starts and is clipped to it.

Discontinuous entities ("T1\\tCondition 10 20;25 30\\ttext") keep all their fragments; how
they are scored is the metric's decision (see `nlp.chia.metrics`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from matcher.errors import TrialmatchError

# The types that the micro average and the targets are about.
EVAL_TYPES: tuple[str, ...] = (
    "Condition",
    "Drug",
    "Procedure",
    "Measurement",
    "Observation",
    "Person",
    "Value",
    "Temporal",
)

_FILE_RE = re.compile(r"^(?P<trial>NCT\d+)_(?P<kind>inc|exc)$")
_WS = re.compile(r"\s+")


class ChiaFormatError(TrialmatchError):
    """A `.ann` line that is not brat standoff, or a `.txt` without its `.ann`."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One annotated (or predicted) entity; `spans` are (start, end) pairs, end exclusive."""

    type: str
    spans: tuple[tuple[int, int], ...]
    text: str = ""

    @property
    def start(self) -> int:
        return min(a for a, _ in self.spans)

    @property
    def end(self) -> int:
        return max(b for _, b in self.spans)

    @property
    def discontinuous(self) -> bool:
        return len(self.spans) > 1

    def shifted(self, delta: int) -> Entity:
        return Entity(self.type, tuple((a + delta, b + delta) for a, b in self.spans), self.text)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One line of a Chia file: the unit that NER runs on and metrics are counted over."""

    doc_id: str
    trial_id: str
    line: int
    start: int
    text: str
    entities: tuple[Entity, ...]


@dataclass(frozen=True, slots=True)
class ChiaDoc:
    """One `.txt`/`.ann` pair with offsets already converted to the `.txt`'s own."""

    doc_id: str
    trial_id: str
    kind: str
    text: str
    entities: tuple[Entity, ...]
    crlf_offsets: bool = False
    mismatched: int = 0
    criteria: tuple[Criterion, ...] = field(default=(), compare=False)


def parse_ann(ann: str) -> list[Entity]:
    """Text-bound annotations (`T` lines) of a brat `.ann`; relations and notes are skipped.

    Offsets are returned as written, before any CRLF correction.
    """
    entities: list[Entity] = []
    for n, raw in enumerate(ann.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.startswith("T"):
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise ChiaFormatError(f"line {n}: text-bound annotation without a type: {line!r}")
        label, _, offsets = parts[1].partition(" ")
        try:
            spans = tuple(
                (int(a), int(b))
                for a, b in (frag.split() for frag in offsets.split(";") if frag.strip())
            )
        except ValueError as exc:
            raise ChiaFormatError(f"line {n}: bad offsets {offsets!r}") from exc
        if not spans or any(b < a for a, b in spans):
            raise ChiaFormatError(f"line {n}: bad offsets {offsets!r}")
        text = parts[2] if len(parts) > 2 else ""
        entities.append(Entity(label, spans, text))
    return entities


class _CrlfMap:
    """Converts offsets that count each '\\n' as two characters into offsets into `text`."""

    def __init__(self, text: str) -> None:
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]
        # CRLF offset of each newline: its position plus one per newline before it.
        self._crlf_newlines = [pos + k for k, pos in enumerate(self._newlines)]

    def __call__(self, offset: int) -> int:
        # Newlines strictly before `offset` in CRLF space each added one phantom '\r'.
        k = bisect.bisect_left(self._crlf_newlines, offset)
        if k and self._crlf_newlines[k - 1] + 1 == offset:
            # An offset between the phantom '\r' and its '\n' is the newline itself.
            return self._newlines[k - 1]
        return offset - k


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _span_text(text: str, spans: Iterable[tuple[int, int]]) -> str:
    return " ".join(text[a:b] for a, b in spans)


def _agrees(text: str, entity: Entity, spans: tuple[tuple[int, int], ...]) -> bool:
    if any(a < 0 or b > len(text) for a, b in spans):
        return False
    return _norm(_span_text(text, spans)) == _norm(entity.text)


def fix_offsets(text: str, raw: list[Entity]) -> tuple[list[Entity], bool, int]:
    """Choose the offset reading (plain or CRLF) under which most span texts agree.

    Returns the converted entities, whether the CRLF reading was used, and how many entities
    agree with neither reading (kept, with the chosen reading, clipped to the text).
    """
    to_lf = _CrlfMap(text)
    crlf_spans = [tuple((to_lf(a), to_lf(b)) for a, b in e.spans) for e in raw]
    plain_ok = [_agrees(text, e, e.spans) for e in raw]
    crlf_ok = [_agrees(text, e, s) for e, s in zip(raw, crlf_spans, strict=True)]
    use_crlf = sum(crlf_ok) > sum(plain_ok)
    fixed: list[Entity] = []
    mismatched = 0
    for e, spans, ok_plain, ok_crlf in zip(raw, crlf_spans, plain_ok, crlf_ok, strict=True):
        chosen = spans if use_crlf else e.spans
        if not (ok_crlf if use_crlf else ok_plain):
            if ok_plain or ok_crlf:
                chosen = e.spans if ok_plain else spans
            else:
                mismatched += 1
        # Fragments are sometimes listed out of text order ("92 164;37 54"): sort them.
        clipped = tuple(
            sorted(
                (min(a, len(text)), min(b, len(text))) for a, b in chosen if min(a, len(text)) < b
            )
        )
        if clipped:
            fixed.append(Entity(e.type, clipped, e.text))
    return fixed, use_crlf, mismatched


def _lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(index, start offset, text) of each non-blank line, trailing whitespace removed."""
    pos = 0
    for n, line in enumerate(text.split("\n")):
        stripped = line.rstrip()
        if stripped.strip():
            yield n, pos, stripped
        pos += len(line) + 1


def split_criteria(
    doc_id: str, trial_id: str, text: str, entities: Iterable[Entity]
) -> tuple[Criterion, ...]:
    """One criterion per non-blank line; entities re-based to the line and clipped to it."""
    lines = list(_lines(text))
    starts = [start for _, start, _ in lines]
    per_line: list[list[Entity]] = [[] for _ in lines]
    for e in sorted(entities, key=lambda e: (e.start, e.end, e.type)):
        i = bisect.bisect_right(starts, e.start) - 1
        if i < 0:
            continue
        _, start, line_text = lines[i]
        end = start + len(line_text)
        spans = tuple(
            (max(a, start) - start, min(b, end) - start)
            for a, b in e.spans
            if min(b, end) > max(a, start)
        )
        if spans:
            per_line[i].append(Entity(e.type, spans, e.text))
    return tuple(
        Criterion(doc_id, trial_id, n, start, line_text, tuple(ents))
        for (n, start, line_text), ents in zip(lines, per_line, strict=True)
    )


def load_doc(txt_path: Path) -> ChiaDoc:
    """Load one `NCT..._inc.txt` (or `_exc`) with its `.ann` beside it."""
    m = _FILE_RE.match(txt_path.stem)
    if m is None:
        raise ChiaFormatError(f"{txt_path}: not a Chia file name (NCTnnnnnnnn_inc|exc.txt)")
    ann_path = txt_path.with_suffix(".ann")
    try:
        # Read exactly as stored, then use LF: offsets into a CRLF text are "CRLF offsets"
        # for its LF form, the same case as an LF text whose .ann counted two per newline.
        with txt_path.open(encoding="utf-8", newline="") as f:
            text = f.read().replace("\r\n", "\n")
        with ann_path.open(encoding="utf-8", newline="") as f:
            ann = f.read()
    except OSError as exc:
        raise ChiaFormatError(f"{txt_path}: cannot read the pair ({exc})") from exc
    try:
        raw = parse_ann(ann)
    except ChiaFormatError as exc:
        raise ChiaFormatError(f"{ann_path}: {exc}") from exc
    entities, crlf, mismatched = fix_offsets(text, raw)
    doc_id = txt_path.stem
    trial_id = m["trial"]
    return ChiaDoc(
        doc_id=doc_id,
        trial_id=trial_id,
        kind=m["kind"],
        text=text,
        entities=tuple(entities),
        crlf_offsets=crlf,
        mismatched=mismatched,
        criteria=split_criteria(doc_id, trial_id, text, entities),
    )


def load_dir(folder: Path, trial_ids: Iterable[str] | None = None) -> list[ChiaDoc]:
    """Every `.txt`/`.ann` pair in `folder` (sorted by name), optionally only some trials."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ChiaFormatError(f"{folder}: not a folder")
    wanted = set(trial_ids) if trial_ids is not None else None
    docs = []
    for path in sorted(folder.glob("*.txt")):
        m = _FILE_RE.match(path.stem)
        if m is None or (wanted is not None and m["trial"] not in wanted):
            continue
        docs.append(load_doc(path))
    return docs


def criteria_of(docs: Iterable[ChiaDoc]) -> list[Criterion]:
    return [c for d in docs for c in d.criteria]
