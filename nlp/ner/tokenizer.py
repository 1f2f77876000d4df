"""The criteria tokenizer: spaCy's English rules plus boundaries at comparators and brackets.

Registered by name so that a model's config refers to it (`@tokenizers =
"trialmatch.criteria_tokenizer.v1"`). The extra patterns are data (`tokenizer.yaml`); when a
model is saved spaCy writes the compiled patterns into it, so a shipped model keeps the
tokenizer it was trained with even if the YAML changes later.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import (
    compile_infix_regex,
    compile_prefix_regex,
    compile_suffix_regex,
    registry,
)

from nlp.rules_loader import Regex, StrictModel, load_rules_file

TOKENIZER_RULES = Path(__file__).with_name("tokenizer.yaml")


class TokenizerRules(StrictModel):
    prefixes: list[Regex]
    suffixes: list[Regex]
    infixes: list[Regex]


def build_tokenizer(nlp: Language, rules: TokenizerRules | None = None) -> Tokenizer:
    rules = rules or load_rules_file(TOKENIZER_RULES, TokenizerRules)
    d = nlp.Defaults
    return Tokenizer(
        nlp.vocab,
        rules=d.tokenizer_exceptions,
        prefix_search=compile_prefix_regex([*d.prefixes, *rules.prefixes]).search,
        suffix_search=compile_suffix_regex([*d.suffixes, *rules.suffixes]).search,
        infix_finditer=compile_infix_regex([*d.infixes, *rules.infixes]).finditer,
        token_match=d.token_match,
        url_match=d.url_match,
    )


@registry.tokenizers("trialmatch.criteria_tokenizer.v1")
def criteria_tokenizer() -> Callable[[Language], Tokenizer]:
    return build_tokenizer
