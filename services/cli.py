"""The `trialmatch` command: serve, demo, and client commands against a running server."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import grpc
from rich.console import Console

from services.client import (
    Stubs,
    bundle_files,
    channel,
    default_server,
    stream_bundles,
    trial_requests,
)
from services.render import print_candidates, to_json
from trialmatch.v1 import matcher_pb2

log = logging.getLogger("trialmatch.cli")


def _client_parser(
    sub: argparse._SubParsersAction, name: str, help_: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_)
    p.add_argument(
        "--server",
        default=None,
        help="HOST:PORT of a trialmatch server (default $TRIALMATCH_SERVER, then 127.0.0.1:50051)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for the server's answer (default: 120 for single calls, "
        "no limit for streamed ingest)",
    )
    return p


def build_argparser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trialmatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC server")
    serve.add_argument("--address", help="HOST:PORT to listen on (config: server.address)")
    serve.add_argument(
        "--services", help="comma-separated subset of ingest,trials,criteria,matcher"
    )
    serve.add_argument(
        "--data-dir", help="where the embedded store lives (config: storage.data_dir)"
    )
    serve.add_argument("--config", help="YAML configuration file (default $TRIALMATCH_CONFIG)")
    serve.add_argument(
        "--backend",
        choices=["embedded", "elasticsearch"],
        help="store and index (config: storage.backend)",
    )
    serve.add_argument("--es-url", help="Elasticsearch URL (config: storage.elasticsearch.url)")

    demo = sub.add_parser("demo", help="ingest sample patients, submit trials, print rankings")
    demo.add_argument("--data-dir", help="store folder (default: a temporary folder)")
    demo.add_argument("--top", type=int, default=3, help="candidates shown per trial")

    ingest = _client_parser(sub, "ingest", "stream FHIR bundles (files or folders)")
    ingest.add_argument("paths", nargs="+")

    submit = _client_parser(sub, "submit-trial", "submit trials from a JSON/JSONL file")
    submit.add_argument("file", type=Path)

    rp = _client_parser(sub, "rank-patients", "rank patients for a trial")
    rp.add_argument("trial_id")
    rp.add_argument("--limit", type=int, default=10)
    rp.add_argument("--index-date", default="", help="ISO date for ages and windows")

    rt = _client_parser(sub, "rank-trials", "rank trials for a patient")
    rt.add_argument("patient_id")
    rt.add_argument("--limit", type=int, default=10)
    rt.add_argument("--index-date", default="", help="ISO date for ages and windows")

    from services.evals import register_all

    evals = sub.add_parser("eval", help="measure quality on a public benchmark")
    register_all(evals.add_subparsers(dest="benchmark", required=True))
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    from matcher.errors import TrialmatchError
    from services.config import load_config
    from services.providers import build_app, settle
    from services.server import serve_forever, start_server

    overrides: dict = {}
    if args.address:
        overrides.setdefault("server", {})["address"] = args.address
    if args.services:
        overrides.setdefault("server", {})["services"] = [
            s.strip() for s in args.services.split(",") if s.strip()
        ]
    if args.data_dir:
        overrides.setdefault("storage", {})["data_dir"] = args.data_dir
    if args.backend:
        overrides.setdefault("storage", {})["backend"] = args.backend
    if args.es_url:
        overrides.setdefault("storage", {})["elasticsearch"] = {"url": args.es_url}
    config = load_config(args.config, overrides)
    app = build_app(config)
    if config.matching.warm_on_start:
        try:
            warmed = settle(app)
            log.info("warmed %d trials' criteria", warmed)
        except TrialmatchError as exc:  # e.g. the backend is down: warming is no reason
            log.warning("warm-up skipped: %s", exc)  # not to serve (health reports it)
    running = start_server(app)
    print(f"trialmatch listening on port {running.port}", flush=True)
    serve_forever(running, config.server.grace_seconds)
    app.close()
    return 0


def cmd_ingest(args: argparse.Namespace, stubs: Stubs) -> int:
    from rich.progress import Progress

    files = bundle_files(args.paths)
    failed = 0
    console = Console(stderr=True)
    with Progress(console=console, disable=args.json or not console.is_terminal) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for ack in stream_bundles(stubs.ingest, files, timeout=args.timeout):
            if ack.error_code:
                failed += 1
            if args.json:
                out = {"file": ack.label}
                if ack.error_code:
                    out["error"] = f"{ack.error_code}: {ack.error_message}"
                else:
                    out["patient_id"] = ",".join(ack.result.patient_ids)
                print(json.dumps(out), flush=True)
            elif ack.error_code:
                console.print(
                    f"[red]rejected[/red] {ack.label}: {ack.error_code}: {ack.error_message}"
                )
            else:
                console.print(
                    f"stored {ack.label}: {', '.join(ack.result.patient_ids)} "
                    f"({ack.result.fact_count} facts)"
                )
            progress.advance(task)
    if not args.json:
        console.print(f"{len(files) - failed} stored, {failed} rejected")
    return 1 if failed else 0


def cmd_submit(args: argparse.Namespace, stubs: Stubs) -> int:
    failed = 0
    for request in trial_requests(args.file):
        try:
            trial = stubs.trials.SubmitTrial(request, timeout=args.timeout or 120).trial
        except grpc.RpcError as exc:
            failed += 1
            print(
                json.dumps({"error": f"{exc.code().name}: {exc.details()}"})
                if args.json
                else f"rejected: {exc.code().name}: {exc.details()}",
                file=sys.stdout,
            )
            continue
        if args.json:
            print(json.dumps(to_json(trial)))
        else:
            print(f"{trial.protocol.trial_id} v{trial.version}: {len(trial.criteria)} criteria")
    return 1 if failed else 0


def cmd_rank(args: argparse.Namespace, stubs: Stubs) -> int:
    if args.command == "rank-patients":
        response = stubs.matcher.RankPatients(
            timeout=args.timeout or 120,
            request=matcher_pb2.RankPatientsRequest(
                trial_id=args.trial_id, limit=args.limit, index_date=args.index_date
            ),
        )
        title, who = f"patients for {args.trial_id}", "patient"
    else:
        response = stubs.matcher.RankTrials(
            timeout=args.timeout or 120,
            request=matcher_pb2.RankTrialsRequest(
                patient_id=args.patient_id, limit=args.limit, index_date=args.index_date
            ),
        )
        title, who = f"trials for {args.patient_id}", "trial"
    if args.json:
        print(json.dumps(to_json(response)))
    else:
        print_candidates(Console(), title, list(response.candidates), who)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_argparser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "demo":
        from services.demo import run_demo

        return run_demo(args.data_dir, args.top)
    if args.command == "eval":
        return int(args.func(args))
    address = args.server or default_server()
    with channel(address) as ch:
        stubs = Stubs.connect(ch)
        try:
            if args.command == "ingest":
                return cmd_ingest(args, stubs)
            if args.command == "submit-trial":
                return cmd_submit(args, stubs)
            return cmd_rank(args, stubs)
        except grpc.RpcError as exc:
            print(f"error from {address}: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 2
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
