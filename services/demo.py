"""`trialmatch demo`: the whole suite in one process on the embedded backend.

Starts a real gRPC server on a free port, then talks to it as the EHR, the sponsor and the
coordinator would: streams sample Synthea bundles, submits real ClinicalTrials.gov records,
and prints each trial's top candidates with their per-criterion tables.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from services.client import Stubs, bundle_files, channel, stream_bundles, trial_requests
from services.config import load_config
from services.providers import build_app
from services.render import print_candidates
from services.server import start_server
from trialmatch.v1 import matcher_pb2


def demo_data() -> Path:
    return Path(str(resources.files("services") / "demo_data"))


def run_demo(data_dir: str | None = None, top: int = 3) -> int:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="trialmatch-demo-") as tmp:
        config = load_config(
            overrides={
                "server": {"address": "127.0.0.1:0"},
                "storage": {"data_dir": data_dir or tmp},
            }
        )
        app = build_app(config)
        running = start_server(app)
        console.print(
            f"[bold]trialmatch demo[/bold]: server on 127.0.0.1:{running.port}, "
            f"store in {config.storage.data_dir}"
        )
        try:
            with channel(f"127.0.0.1:{running.port}") as ch:
                stubs = Stubs.connect(ch)
                files = bundle_files([demo_data() / "bundles"])
                rejected = 0
                with Progress(console=console) as progress:
                    task = progress.add_task("ingesting FHIR bundles", total=len(files))
                    for ack in stream_bundles(stubs.ingest, files):
                        if ack.error_code:
                            rejected += 1
                            console.print(f"[red]rejected[/red] {ack.label}: {ack.error_message}")
                        progress.advance(task)
                console.print(f"{len(files) - rejected} patients stored, {rejected} rejected")

                trial_ids = []
                for request in trial_requests(demo_data() / "trials.jsonl"):
                    trial = stubs.trials.SubmitTrial(request).trial
                    trial_ids.append(trial.protocol.trial_id)
                    console.print(
                        f"submitted {trial.protocol.trial_id}: "
                        f"{trial.protocol.title[:70]!r} "
                        f"({len(trial.criteria)} criteria)"
                    )

                for trial_id in trial_ids:
                    response = stubs.matcher.RankPatients(
                        matcher_pb2.RankPatientsRequest(trial_id=trial_id, limit=top)
                    )
                    print_candidates(
                        console,
                        f"top candidates for {trial_id} "
                        f"({response.considered} passed the hard filters)",
                        list(response.candidates),
                        "patient",
                        show_criteria=1,
                    )
        finally:
            running.stop(grace=1)
            app.close()
    return 0
