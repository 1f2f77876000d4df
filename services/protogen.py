"""Generates the Python API package from protos/trialmatch/v1/*.proto with grpcio-tools.

Run as `python -m services.protogen` (what `make protos` does). The output goes next to the
.proto files so the import paths protoc writes (`from trialmatch.v1 import ...`) resolve
through the `trialmatch` package mapping in pyproject.toml. A test regenerates into a
temporary folder and compares, so hand edits or stale code fail CI.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
API_DIR = PROTO_ROOT / "trialmatch" / "v1"


def proto_files() -> list[Path]:
    return sorted(API_DIR.glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Writes *_pb2.py, *_pb2.pyi and *_pb2_grpc.py under out_root/trialmatch/v1."""
    from grpc_tools import protoc  # dev-only dependency; imported lazily

    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *[str(p.relative_to(PROTO_ROOT)) for p in proto_files()],
    ]
    (out_root / "trialmatch" / "v1").mkdir(parents=True, exist_ok=True)
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    return sorted((out_root / "trialmatch" / "v1").glob("*_pb2*.py*"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_ROOT)
    ns = parser.parse_args(argv)
    for path in generate(ns.out):
        print(path.relative_to(ns.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
