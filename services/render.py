"""Human-readable (rich) and JSON renderings of ranked candidates for the CLI and the demo."""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from rich.console import Console
from rich.table import Table
from rich.text import Text

from matcher.model import required_count
from trialmatch.v1 import common_pb2, matcher_pb2

OUTCOME_STYLE = {
    matcher_pb2.OUTCOME_MET: ("MET", "green"),
    matcher_pb2.OUTCOME_NOT_MET: ("NOT MET", "red"),
    matcher_pb2.OUTCOME_UNKNOWN: ("UNKNOWN", "yellow"),
    matcher_pb2.OUTCOME_NOT_APPLICABLE: ("N/A", "dim"),
}
VERDICT_STYLE = {
    matcher_pb2.VERDICT_ELIGIBLE: ("eligible", "bold green"),
    matcher_pb2.VERDICT_POSSIBLY_ELIGIBLE: ("possibly eligible", "bold yellow"),
    matcher_pb2.VERDICT_INELIGIBLE: ("ineligible", "bold red"),
}


def to_json(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _structure(c: common_pb2.Criterion) -> str:
    """A compact reading of what the parser understood: `not diabetes`, `age >= 18 years`."""
    parts = ["not" if c.negated else "", c.concept.text, c.comparator]
    if c.HasField("value"):
        parts.append(f"{c.value:g}" + (f"-{c.value_high:g}" if c.HasField("value_high") else ""))
    parts += [c.unit, c.value_text]
    if c.HasField("window_days"):
        parts.append(f"within {c.window_days:g} days")
    if c.group:
        count = required_count(c.group)
        parts.append(f"({'at least ' + str(count) if count > 1 else 'one'} of group {c.group})")
    return " ".join(p for p in parts if p)


def criteria_table(candidate: matcher_pb2.Candidate, max_text: int = 70) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    table.add_column("", width=3)
    table.add_column("criterion", max_width=max_text)
    table.add_column("outcome", no_wrap=True)
    table.add_column("reason / evidence", max_width=60)
    previous_span = None
    for row in candidate.criteria:
        c = row.criterion
        kind = "IN" if c.kind == common_pb2.CRITERION_KIND_INCLUSION else "EX"
        label, style = OUTCOME_STYLE.get(row.outcome, ("?", ""))
        # Several criteria parsed from one sentence share its span: print the sentence once.
        span = (c.span_start, c.span_end, c.text)
        criterion = Text("  〃" if span == previous_span else _short(c.text, max_text))
        previous_span = span
        if c.concept.text and c.category != common_pb2.CRITERION_CATEGORY_OTHER:
            criterion.append(f"\n[{_structure(c)}]", style="cyan")
        detail = Text(row.reason)
        for ev in row.evidence[:2]:
            detail.append(f"\n↳ {ev.source}: {_short(ev.text, 60)}", style="dim")
        table.add_row(kind, criterion, Text(label, style=style), detail)
    return table


def print_candidates(
    console: Console,
    title: str,
    candidates: list[matcher_pb2.Candidate],
    who: str,
    show_criteria: int = 3,
) -> None:
    console.rule(title)
    if not candidates:
        console.print("no candidates")
        return
    for cand in candidates:
        label, style = VERDICT_STYLE.get(cand.verdict, ("?", ""))
        subject = cand.patient_id if who == "patient" else cand.trial_id
        console.print(
            Text.assemble(
                f"#{cand.rank} {who} {subject}  ",
                (label, style),
                f"  score {cand.score:.3f}  relevance {cand.relevance:.2f}  "
                f"eligibility {cand.eligibility:.2f}  "
                f"inclusions met {cand.inclusions_met}/{cand.inclusions_total}",
            )
        )
        if cand.rank <= show_criteria:
            console.print(criteria_table(cand))
