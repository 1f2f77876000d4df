"""Statistical NER for eligibility criteria, trained on Chia, combined with rules.

API (nothing is loaded at import time):

- `load_ner(path=None) -> spacy.Language`: the shipped pipeline (`nlp/models/chia_ner`:
  criteria tokenizer, ner = `minilm_ner` (all-MiniLM-L6-v2 fine-tuned as a BIO tagger, see
  `nlp.ner.tagger`), chia_rules, chia_coord), cached per path, offline.
- `extract_entities(texts, nlp=None, batch_size=128, nested=True) -> list[list[Entity]]`: one
  list per text of `Entity(type, start, end, text, source)`, offsets into that text, sorted by
  (start, end), batched through `nlp.pipe`. The flat entities (source "model" or "rule") never
  overlap; the extra entities of coordinated modifiers (source "coordination": "pleural or
  pericardial effusion" next to "pericardial effusion", see `nlp.ner.coord`) overlap them.
  Callers that need a flat sequence pass `nested=False`.

Labels: Condition, Drug, Procedure, Measurement, Observation, Person, Value, Temporal, Device,
Negation, Qualifier, Multiplier. Training: `make train-ner` (see `nlp.ner.train`,
`nlp.ner.finetune`).
"""

from __future__ import annotations

from nlp.ner.pipeline import MODEL_DIR, Entity, entities_of, extract_entities, load_ner

__all__ = ["MODEL_DIR", "Entity", "entities_of", "extract_entities", "load_ner"]
