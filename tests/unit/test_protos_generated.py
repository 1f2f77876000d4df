"""The committed generated code must be exactly what `make protos` produces now."""

from __future__ import annotations

from pathlib import Path

from services.protogen import API_DIR, generate


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "protoc produced nothing"
    committed = sorted(API_DIR.glob("*_pb2*.py*"))
    assert [p.name for p in committed] == [p.name for p in fresh], "generated file set differs"
    stale = [p.name for p in fresh if p.read_bytes() != (API_DIR / p.name).read_bytes()]
    assert not stale, f"run `make protos`: out of date with the .proto files: {stale}"


def test_every_message_and_field_is_documented() -> None:
    """Each message, field, enum value, service and rpc carries a comment in the .proto."""
    import re

    missing = []
    for proto in sorted(API_DIR.glob("*.proto")):
        lines = proto.read_text("utf-8").splitlines()
        for i, line in enumerate(lines):
            s = line.strip()
            is_decl = (
                re.match(r"^(message|service|enum|rpc)\s", s)
                or re.match(r"^(optional |repeated )?(map<[^>]+>|[\w.]+)\s+\w+\s*=\s*\d+;", s)
                or re.match(r"^\w+\s*=\s*-?\d+;", s)  # enum values
            )
            if not is_decl or s.startswith("oneof"):
                continue
            prev = lines[i - 1].strip() if i else ""
            if not prev.startswith("//") and "//" not in s:
                missing.append(f"{proto.name}:{i + 1}: {s}")
    assert not missing, "undocumented declarations:\n" + "\n".join(missing)
