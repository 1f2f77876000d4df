"""The criteria parser: segmenter + a spaCy pipeline assembled from `pipeline.yaml`.

`spacy.blank("en")` plus the components of `components.py`, added by factory name with the
config the YAML gives them, so a deployment changes the pipeline (NER off, a different model,
fewer extractors) by editing data, and `build_parser({...})` overrides single settings.
Criteria of many trials go through `nlp.pipe` together (`parse_many`), which is what makes
the NER affordable: one model call per batch, not per criterion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

import nlp.criteria.components  # noqa: F401  (registers the factories)
from matcher.model import Criterion
from nlp.criteria.parser import assign_ids
from nlp.criteria.registry import EXTRACTORS, UnknownExtractor
from nlp.criteria.split import Segment, split_criteria
from nlp.rules_loader import StrictModel, load_rules_file

CONFIG_PATH = Path(__file__).with_name("pipeline.yaml")
SEGMENTERS: dict[str, Callable[[str], list[Segment]]] = {"split_criteria": split_criteria}


class ComponentConfig(StrictModel):
    name: str
    factory: str
    config: dict[str, Any] = Field(default_factory=dict)


class PipelineConfig(StrictModel):
    segmenter: str
    tokenizer: Literal["english", "simple"] = "english"
    batch_size: int = Field(ge=1)
    components: list[ComponentConfig]


@cache
def load_pipeline_config(path: Path = CONFIG_PATH) -> PipelineConfig:
    return load_rules_file(path, PipelineConfig)


def _with_overrides(base: PipelineConfig, overrides: dict[str, Any]) -> PipelineConfig:
    """Apply `{"extractors": [...], "ner": "off"|"auto"|"default"|PATH, "batch_size": N}`."""
    overrides = dict(overrides)
    extractors = overrides.pop("extractors", None)
    ner = overrides.pop("ner", None)
    batch_size = overrides.pop("batch_size", base.batch_size)
    if overrides:
        raise UnknownExtractor(f"unknown parser config key(s): {', '.join(sorted(overrides))}")
    if extractors is not None:
        unknown = [n for n in extractors if n not in EXTRACTORS]
        if unknown:
            raise UnknownExtractor(
                f"unknown extractor(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(EXTRACTORS)}"
            )
    components = []
    for c in base.components:
        config = dict(c.config)
        if c.factory == "criteria_builder" and extractors is not None:
            config["extractors"] = list(extractors)
        if c.factory == "criteria_ner" and ner is not None:
            config["model"] = str(ner)
        components.append(ComponentConfig(name=c.name, factory=c.factory, config=config))
    return PipelineConfig(
        segmenter=base.segmenter,
        tokenizer=base.tokenizer,
        batch_size=batch_size,
        components=components,
    )


class SimpleTokenizer:
    """Words and single punctuation marks: enough for exact span boundaries, and cheap.

    The components work on character offsets and the NER tokenizes with its own rules, so the
    Doc's tokens only need to put span edges where words and punctuation meet.
    """

    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def __init__(self, vocab: Any, fallback: Callable[[str], Any]) -> None:
        self.vocab = vocab
        self.fallback = fallback

    def __call__(self, text: str) -> Any:
        from spacy.tokens import Doc

        words: list[str] = []
        spaces: list[bool] = []
        for m in self._TOKEN.finditer(text):
            words.append(m.group())
            spaces.append(m.end() < len(text) and text[m.end()].isspace())
        doc = Doc(self.vocab, words=words, spaces=spaces)
        return doc if doc.text == text else self.fallback(text)  # e.g. runs of whitespace


class CriteriaPipeline:
    """Implements the `CriteriaParser` protocol (matcher.trials) on a spaCy pipeline."""

    def __init__(self, config: PipelineConfig) -> None:
        import spacy

        if config.segmenter not in SEGMENTERS:
            raise UnknownExtractor(f"unknown segmenter {config.segmenter!r}")
        self.config = config
        self.segment = SEGMENTERS[config.segmenter]
        self.nlp = spacy.blank("en")
        if config.tokenizer == "simple":
            self.nlp.tokenizer = SimpleTokenizer(self.nlp.vocab, self.nlp.tokenizer)
        for c in config.components:
            self.nlp.add_pipe(c.factory, name=c.name, config=c.config)

    @property
    def uses_ner(self) -> bool:
        ner = next((p for n, p in self.nlp.pipeline if n == "ner"), None)
        return getattr(ner, "source", None) is not None

    def parse(self, text: str, *, id_prefix: str = "c") -> list[Criterion]:
        return self.parse_many([text], id_prefixes=[id_prefix])[0]

    def parse_many(
        self, texts: Sequence[str], *, id_prefixes: Sequence[str] | None = None
    ) -> list[list[Criterion]]:
        """Parse many textblocks in one pass through `nlp.pipe`."""
        prefixes = list(id_prefixes) if id_prefixes is not None else ["c"] * len(texts)
        segments = [self.segment(t) for t in texts]
        docs = self._docs(seg for segs in segments for seg in segs)
        per_segment = [d._.criteria for d in self.nlp.pipe(docs, batch_size=self.config.batch_size)]
        out: list[list[Criterion]] = []
        pos = 0
        for segs, prefix in zip(segments, prefixes, strict=True):
            out.append(assign_ids(per_segment[pos : pos + len(segs)], prefix))
            pos += len(segs)
        return out

    def segment_docs(self, text: str) -> list[Any]:
        """The processed Docs of one textblock (entities, relations, criteria): for tools."""
        return list(self.nlp.pipe(self._docs(self.segment(text))))

    def _docs(self, segments: Iterable[Segment]) -> Iterable[Any]:
        for seg in segments:
            doc = self.nlp.make_doc(seg.text)
            doc._.segment = seg
            yield doc


def build_pipeline(overrides: dict[str, Any] | None = None) -> CriteriaPipeline:
    return CriteriaPipeline(_with_overrides(load_pipeline_config(), overrides or {}))
