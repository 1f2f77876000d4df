"""Unit tables for the Chia loader (brat parsing, the CRLF offset quirk, lines) and the split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp.chia.loader import ChiaFormatError, Entity, load_dir, load_doc, parse_ann
from nlp.chia.split import bucket, split_of

SAMPLE = Path(__file__).parent.parent / "fixtures" / "chia"

TEXT = "Age 18 or older\nNo diabetes\nin-dwelling lines or ports\n"
# (type, LF offsets, text) of the entities in TEXT
EXPECTED = [
    ("Person", ((0, 3),), "Age"),
    ("Condition", ((19, 27),), "diabetes"),
    ("Device", ((28, 45),), "in-dwelling lines"),
    ("Device", ((28, 39), (49, 54)), "in-dwelling ports"),
]


def _ann(crlf: bool) -> str:
    """The .ann for TEXT, with offsets counted as the annotation tool did."""
    lines = ["*\tOR T3 T4", "R1\tHas_value Arg1:T1 Arg2:T2\t"]
    for n, (label, spans, text) in enumerate(EXPECTED, start=1):
        offs = ";".join(
            f"{a + TEXT[:a].count(chr(10)) * crlf} {b + TEXT[:b].count(chr(10)) * crlf}"
            for a, b in spans
        )
        lines.append(f"T{n}\t{label} {offs}\t{text}")
    return "\n".join(lines) + "\n"


def _write(folder: Path, stem: str, text: str, ann: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_bytes(text.encode())
    (folder / f"{stem}.ann").write_bytes(ann.encode())
    return folder / f"{stem}.txt"


@pytest.mark.parametrize(
    ("name", "text", "ann", "crlf"),
    [
        ("clean LF text, LF offsets", TEXT, _ann(crlf=False), False),
        ("quirk: LF text, offsets count CRLF", TEXT, _ann(crlf=True), True),
        ("CRLF text, offsets into it", TEXT.replace("\n", "\r\n"), _ann(crlf=True), True),
    ],
)
def test_offsets_are_corrected_per_file(tmp_path, name, text, ann, crlf):
    doc = load_doc(_write(tmp_path, "NCT00000001_inc", text, ann))
    assert doc.crlf_offsets is crlf, name
    assert doc.mismatched == 0
    assert doc.text == TEXT
    got = [(e.type, e.spans, e.text) for e in doc.entities]
    assert got == EXPECTED
    for e in doc.entities:
        assert " ".join(doc.text[a:b] for a, b in e.spans) == e.text


def test_criteria_are_lines_with_relative_offsets(tmp_path):
    doc = load_doc(_write(tmp_path, "NCT00000001_exc", TEXT, _ann(crlf=True)))
    assert [c.text for c in doc.criteria] == [
        "Age 18 or older",
        "No diabetes",
        "in-dwelling lines or ports",
    ]
    assert [c.line for c in doc.criteria] == [0, 1, 2]
    second = doc.criteria[1]
    assert second.start == 16
    assert second.entities == (Entity("Condition", ((3, 11),), "diabetes"),)
    third = doc.criteria[2]
    assert third.entities[1].spans == ((0, 11), (21, 26))
    assert doc.kind == "exc" and doc.trial_id == "NCT00000001"


def test_blank_lines_are_skipped_and_crossing_entities_clipped(tmp_path):
    text = "first line\n\n   \nsecond line\n"
    ann = "T1\tCondition 6 21\tline second\n"
    doc = load_doc(_write(tmp_path, "NCT00000002_inc", text, ann))
    assert [c.line for c in doc.criteria] == [0, 3]
    assert doc.criteria[0].entities == (Entity("Condition", ((6, 10),), "line second"),)
    assert doc.criteria[1].entities == ()
    assert doc.mismatched == 1  # the span text is not what the offsets cover


@pytest.mark.parametrize(
    ("ann", "count"),
    [
        ("", 0),
        ("R1\tAND Arg1:T1 Arg2:T2\t\n*\tOR T1 T2\n#1\tAnnotatorNotes T1\tx\n", 0),
        ("T1\tCondition 0 3\tabc\n", 1),
        ("T1\tCondition 0 3;5 7\tabc de\r\n", 1),
        ("T1\tScope 0 3\tabc\nT2\tDrug 4 9\taspir\n", 2),
    ],
)
def test_parse_ann_keeps_only_text_bound_annotations(ann, count):
    assert len(parse_ann(ann)) == count


@pytest.mark.parametrize(
    "ann",
    ["T1\tCondition zero 3\tabc\n", "T1\tCondition 5 3\tabc\n", "T1\n"],
)
def test_parse_ann_rejects_malformed_lines(ann):
    with pytest.raises(ChiaFormatError):
        parse_ann(ann)


def test_bad_file_name_and_missing_folder(tmp_path):
    with pytest.raises(ChiaFormatError):
        load_doc(_write(tmp_path, "notes", "x\n", ""))
    with pytest.raises(ChiaFormatError):
        load_dir(tmp_path / "absent")


def test_load_dir_filters_trials(tmp_path):
    _write(tmp_path, "NCT00000001_inc", TEXT, _ann(False))
    _write(tmp_path, "NCT00000002_exc", TEXT, _ann(True))
    assert [d.doc_id for d in load_dir(tmp_path)] == ["NCT00000001_inc", "NCT00000002_exc"]
    assert [d.doc_id for d in load_dir(tmp_path, ["NCT00000002"])] == ["NCT00000002_exc"]


def test_committed_sample_loads_cleanly():
    docs = load_dir(SAMPLE)
    assert len(docs) >= 16
    assert sum(d.mismatched for d in docs) == 0
    # The sample has both kinds of file, so both readings are exercised on real data.
    assert {d.crlf_offsets for d in docs} == {True, False}
    for d in docs:
        for c in d.criteria:
            for e in c.entities:
                assert all(0 <= a < b <= len(c.text) for a, b in e.spans)


def test_split_is_stable_and_proportioned():
    ids = [f"NCT{n:08d}" for n in range(3000)]
    assert [split_of(i) for i in ids] == [split_of(i.lower()) for i in ids]
    assert all(0 <= bucket(i) < 100 for i in ids)
    shares = Counter(split_of(i) for i in ids)
    assert abs(shares["train"] / 3000 - 0.70) < 0.03
    assert abs(shares["tune"] / 3000 - 0.10) < 0.03
    assert abs(shares["heldout"] / 3000 - 0.20) < 0.03


def test_committed_sample_is_held_out():
    assert {split_of(d.trial_id) for d in load_dir(SAMPLE)} == {"heldout"}


def test_out_of_order_fragments_are_sorted(tmp_path):
    text = "bacterial or viral infection\n"
    ann = "T1\tCondition 19 28;13 18\tinfection viral\n"
    doc = load_doc(_write(tmp_path, "NCT00000003_inc", text, ann))
    (e,) = doc.entities
    assert e.spans == ((13, 18), (19, 28))
    assert (e.start, e.end) == (13, 28)
    assert doc.mismatched == 0
