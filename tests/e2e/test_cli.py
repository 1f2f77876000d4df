"""The `trialmatch` console script against a real in-process server, plus `serve` as a process.

The client commands are called in-process (`services.cli.main(argv)`) so they are fast and
their output can be captured; the server they talk to is the real gRPC server from the
`make_server` fixture, so the CLI is exercised over the wire, never against mocks. `serve` is
run as a real subprocess because signal handling and the exit status only exist there.

Patients are the real Synthea bundles in tests/fixtures/synthea (see tests/e2e/test_grpc_e2e.py
for who they are): Clemente Kreiger is the only one with a BMI >= 30 (30.47 in 2018).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services import cli
from trialmatch.v1 import common_pb2, criteria_pb2, criteria_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent.parent
SYNTHEA = ROOT / "tests" / "fixtures" / "synthea"
CLEMENTE = "d78af07c-9cb9-4f31-9b11-c45a28f2eec8"
AGUSTIN = "27de96c6-6910-4f0f-8f10-00ce6090f447"
LOUIS = "ba55f379-b944-44f3-a58a-14b95a623c1b"
EVIDENCE_PREFIXES = ("Observation/", "Condition/", "Patient/")

OBESITY = {
    "nct_id": "NCT90000001",
    "brief_title": "Weight management in adults with obesity",
    "conditions": ["Obesity"],
    "interventions": [],
    "eligibility_criteria": (
        "Inclusion Criteria:\n- Body mass index >= 30 kg/m2\n"
        "Exclusion Criteria:\n- Type 1 diabetes\n"
    ),
    "minimum_age": "18 Years",
    "maximum_age": "N/A",
    "gender": "All",
}
SINUS = {
    "nct_id": "NCT90000002",
    "brief_title": "Chronic rhinosinusitis in adults",
    "conditions": ["Chronic sinusitis"],
    "interventions": [],
    "eligibility_criteria": (
        "Inclusion Criteria:\n- Chronic sinusitis\nExclusion Criteria:\n- Pregnancy\n"
    ),
    "minimum_age": "18 Years",
    "maximum_age": "N/A",
    "gender": "All",
}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Runs `trialmatch ARGV` in-process; returns (exit status, stdout, stderr)."""
    capsys.readouterr()  # drop anything printed before
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def free_port() -> int:
    """A port nobody listens on: bound, then released, so connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(make_server) -> str:
    running, _ = make_server()
    return f"127.0.0.1:{running.port}"


@pytest.fixture()
def trials_file(tmp_path: Path) -> Path:
    path = tmp_path / "trials.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (OBESITY, SINUS)) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def loaded(server: str, trials_file: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A server holding the three fixture patients and the two trials, loaded via the CLI."""
    status, _, err = run_cli(capsys, "ingest", str(SYNTHEA), "--json", "--server", server)
    assert status == 0, err
    status, _, err = run_cli(capsys, "submit-trial", str(trials_file), "--json", "--server", server)
    assert status == 0, err
    return server


def test_ingest_json_reports_each_file_and_fails_on_a_rejected_one(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    shutil.copy(SYNTHEA / "clemente_kreiger.json", folder / "a_clemente.json")
    shutil.copy(SYNTHEA / "louis_miller.json", folder / "c_louis.json")
    (folder / "b_broken.json").write_text('{"resourceType": "Bundle", "entry": [', "utf-8")

    status, out, _ = run_cli(capsys, "ingest", str(folder), "--json", "--server", server)

    assert status == 1  # one bundle was rejected
    rows = json_lines(out)
    assert [Path(r["file"]).name for r in rows] == [
        "a_clemente.json",
        "b_broken.json",
        "c_louis.json",
    ]
    assert rows[0]["patient_id"] == CLEMENTE and "error" not in rows[0]
    assert rows[2]["patient_id"] == LOUIS and "error" not in rows[2]
    assert "patient_id" not in rows[1]
    assert rows[1]["error"].startswith("INVALID_ARGUMENT:") and "JSON" in rows[1]["error"]


def test_ingest_json_exits_zero_when_all_are_stored(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "ingest", str(SYNTHEA), "--json", "--server", server)
    assert status == 0
    rows = json_lines(out)
    assert {r["patient_id"] for r in rows} == {CLEMENTE, AGUSTIN, LOUIS}
    assert not any("error" in r for r in rows)


def test_submit_trials_from_jsonl(
    server: str, trials_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(
        capsys, "submit-trial", str(trials_file), "--json", "--server", server
    )
    assert status == 0, err
    trials = json_lines(out)
    assert [t["protocol"]["trial_id"] for t in trials] == ["NCT90000001", "NCT90000002"]
    obesity = trials[0]
    assert obesity["protocol"]["min_age_years"] == 18
    assert "max_age_years" not in obesity["protocol"]  # "N/A" means no upper bound
    kinds = [(c["kind"], c["text"]) for c in obesity["criteria"]]
    assert ("CRITERION_KIND_INCLUSION", "Body mass index >= 30 kg/m2") in kinds
    assert ("CRITERION_KIND_EXCLUSION", "Type 1 diabetes") in kinds


def test_rank_patients_json_explains_with_fhir_evidence(
    loaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(
        capsys,
        "rank-patients", "NCT90000001", "--json", "--index-date", "2020-01-01",
        "--server", loaded,
    )  # fmt: skip
    assert status == 0, err
    response = json.loads(out)
    candidates = response["candidates"]
    assert {c["patient_id"] for c in candidates} == {CLEMENTE, AGUSTIN, LOUIS}
    top = candidates[0]
    assert top["patient_id"] == CLEMENTE and top["rank"] == 1
    assert top["verdict"] == "VERDICT_ELIGIBLE"
    for other in candidates[1:]:
        assert other["verdict"] == "VERDICT_INELIGIBLE"  # BMI below 30
    bmi = next(r for r in top["criteria"] if "Body mass index" in r["criterion"]["text"])
    assert bmi["outcome"] == "OUTCOME_MET"
    assert "30.47" in bmi["reason"]
    assert bmi["evidence"][0]["source"].startswith("Observation/")
    for cand in candidates:
        for row in cand["criteria"]:
            assert row["outcome"].startswith("OUTCOME_")
            for ev in row.get("evidence", []):
                assert ev["source"].startswith(EVIDENCE_PREFIXES), ev
    # Missing data stays UNKNOWN rather than counting as met.
    t1d = next(r for r in top["criteria"] if r["criterion"]["text"] == "Type 1 diabetes")
    assert t1d["outcome"] == "OUTCOME_UNKNOWN"


def test_rank_trials_json_for_a_patient(loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "rank-trials", CLEMENTE, "--json", "--server", loaded)
    assert status == 0, err
    candidates = json.loads(out)["candidates"]
    ids = [c["trial_id"] for c in candidates]
    assert set(ids) == {"NCT90000001", "NCT90000002"}
    assert ids[0] == "NCT90000001"
    assert candidates[0]["verdict"] == "VERDICT_ELIGIBLE"
    for cand in candidates:
        assert cand["verdict"].startswith("VERDICT_")
        assert cand["criteria"], cand
        for row in cand["criteria"]:
            assert "outcome" in row
            for ev in row.get("evidence", []):
                assert ev["source"].startswith(EVIDENCE_PREFIXES), ev
    sources = [
        ev["source"] for c in candidates for r in c["criteria"] for ev in r.get("evidence", [])
    ]
    assert sources, "at least one criterion must cite FHIR evidence"


def test_default_server_comes_from_env(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIALMATCH_SERVER", server)
    status, out, err = run_cli(capsys, "ingest", str(SYNTHEA / "agustin_fonseca.json"), "--json")
    assert status == 0, err
    assert json_lines(out)[0]["patient_id"] == AGUSTIN


def test_explicit_server_beats_env(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIALMATCH_SERVER", f"127.0.0.1:{free_port()}")
    status, out, err = run_cli(
        capsys, "ingest", str(SYNTHEA / "agustin_fonseca.json"), "--json", "--server", server
    )
    assert status == 0, err
    assert json_lines(out)[0]["patient_id"] == AGUSTIN


@pytest.mark.parametrize(
    "argv",
    [
        ["rank-trials", CLEMENTE, "--json"],
        ["rank-patients", "NCT90000001"],
        ["ingest", str(SYNTHEA / "louis_miller.json"), "--json"],
    ],
)
def test_unreachable_server_fails_fast_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    status, out, err = run_cli(capsys, *argv, "--server", address)
    assert time.monotonic() - start < 10
    assert status == 2
    assert "UNAVAILABLE" in err and address in err
    assert not out.strip()


def test_unknown_trial_is_not_found(loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "rank-patients", "NCT00000404", "--json", "--server", loaded)
    assert status == 2
    assert "NOT_FOUND" in err and "NCT00000404" in err
    assert not out.strip()


def test_missing_input_path_is_status_2(server: str, tmp_path: Path, capsys) -> None:
    status, _, err = run_cli(capsys, "ingest", str(tmp_path / "nowhere"), "--server", server)
    assert status == 2
    assert "nowhere" in err


def _read_lines(stream, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_serve_subprocess_health_parse_and_graceful_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TRIALMATCH_CONFIG",)}
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    data_dir = tmp_path / "store"
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "services.cli", "serve",
                "--address", "127.0.0.1:0", "--data-dir", str(data_dir),
                "--services", "criteria",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )  # fmt: skip
        try:
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
            port = None
            while port is None:
                try:
                    line = lines.get(timeout=60)
                except queue.Empty:
                    pytest.fail(f"no 'listening' line in 60 s; stderr:\n{stderr_path.read_text()}")
                if line is None:
                    pytest.fail(f"serve exited early; stderr:\n{stderr_path.read_text()}")
                if line.startswith("trialmatch listening on port "):
                    port = int(line.rsplit(" ", 1)[1])
            assert port > 0
            assert (data_dir / "trialmatch.sqlite3").exists()  # --data-dir was honoured

            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                health = health_pb2_grpc.HealthStub(ch)
                ok = health.Check(
                    health_pb2.HealthCheckRequest(service="trialmatch.v1.CriteriaParser"),
                    timeout=10,
                )
                assert ok.status == health_pb2.HealthCheckResponse.SERVING
                with pytest.raises(grpc.RpcError) as err:  # --services kept only criteria
                    health.Check(
                        health_pb2.HealthCheckRequest(service="trialmatch.v1.Matcher"), timeout=10
                    )
                assert err.value.code() == grpc.StatusCode.NOT_FOUND
                parsed = criteria_pb2_grpc.CriteriaParserStub(ch).ParseCriteria(
                    criteria_pb2.ParseCriteriaRequest(
                        text="Inclusion Criteria:\n- Body mass index >= 30 kg/m2\n"
                        "Exclusion Criteria:\n- Type 1 diabetes\n"
                    ),
                    timeout=30,
                )
            assert [(c.kind, c.text) for c in parsed.criteria] == [
                (common_pb2.CRITERION_KIND_INCLUSION, "Body mass index >= 30 kg/m2"),
                (common_pb2.CRITERION_KIND_EXCLUSION, "Type 1 diabetes"),
            ]

            assert proc.poll() is None, "server died before SIGTERM"
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail(f"no exit within 15 s of SIGTERM; stderr:\n{stderr_path.read_text()}")
            assert code == 0, stderr_path.read_text()
            assert "shutting down" in stderr_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()
