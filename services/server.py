"""Server bootstrap: the selected servicers, health checking and reflection on one port."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from matcher.errors import BackendUnavailable
from services.providers import App
from services.servicers import (
    CriteriaParserServicer,
    MatcherServicer,
    PatientIngestServicer,
    TrialRegistryServicer,
)
from trialmatch.v1 import (
    criteria_pb2,
    criteria_pb2_grpc,
    ingest_pb2,
    ingest_pb2_grpc,
    matcher_pb2,
    matcher_pb2_grpc,
    trials_pb2,
    trials_pb2_grpc,
)

log = logging.getLogger("trialmatch.server")

SERVICE_FULL_NAMES = {
    "ingest": ingest_pb2.DESCRIPTOR.services_by_name["PatientIngest"].full_name,
    "trials": trials_pb2.DESCRIPTOR.services_by_name["TrialRegistry"].full_name,
    "criteria": criteria_pb2.DESCRIPTOR.services_by_name["CriteriaParser"].full_name,
    "matcher": matcher_pb2.DESCRIPTOR.services_by_name["Matcher"].full_name,
}


class BackendWatch:
    """Keeps health in step with a remote backend: NOT_SERVING while it cannot be reached.

    Checked once before the server accepts calls (so an orchestrator never routes to a
    server whose Elasticsearch is down), then every `interval` seconds in a daemon thread.
    """

    def __init__(
        self,
        check: Callable[[], None],
        servicer: health.HealthServicer,
        names: list[str],
        interval: float,
    ) -> None:
        self._check = check
        self._servicer = servicer
        self._names = names
        self._interval = interval
        self._stopped = threading.Event()
        self._serving: bool | None = None
        self._thread = threading.Thread(target=self._loop, name="backend-watch", daemon=True)

    def probe(self) -> bool:
        try:
            self._check()
            serving, reason = True, ""
        except BackendUnavailable as exc:
            serving, reason = False, str(exc)
        if serving != self._serving:
            status = health_pb2.HealthCheckResponse.SERVING
            if not serving:
                status = health_pb2.HealthCheckResponse.NOT_SERVING
                log.error("backend unavailable, health NOT_SERVING: %s", reason)
            elif self._serving is not None:
                log.info("backend reachable again, health SERVING")
            for name in ["", *self._names]:
                self._servicer.set(name, status)
            self._serving = serving
        return serving

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            self.probe()

    def stop(self) -> None:
        self._stopped.set()


@dataclass(slots=True)
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    watch: BackendWatch | None = None

    def stop(self, grace: float | None = None) -> None:
        """Marks every service NOT_SERVING first so load balancers drain, then stops."""
        if self.watch is not None:
            self.watch.stop()
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def start_server(
    app: App, address: str | None = None, services: list[str] | None = None
) -> RunningServer:
    cfg = app.config.server
    address = address or cfg.address
    services = list(services or cfg.services)
    unknown = sorted(set(services) - set(SERVICE_FULL_NAMES))
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}; choose from {sorted(SERVICE_FULL_NAMES)}")
    options = [
        ("grpc.max_receive_message_length", cfg.max_message_bytes),
        ("grpc.max_send_message_length", cfg.max_message_bytes),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=cfg.workers), options=options)
    if "ingest" in services:
        ingest_pb2_grpc.add_PatientIngestServicer_to_server(
            PatientIngestServicer(app.ingest), server
        )
    if "trials" in services:
        trials_pb2_grpc.add_TrialRegistryServicer_to_server(
            TrialRegistryServicer(app.trials), server
        )
    if "criteria" in services:
        criteria_pb2_grpc.add_CriteriaParserServicer_to_server(
            CriteriaParserServicer(app.parser), server
        )
    if "matcher" in services:
        matcher_pb2_grpc.add_MatcherServicer_to_server(MatcherServicer(app.engine), server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SERVICE_FULL_NAMES[s] for s in services]
    watch = None
    if app.backend_check is None:
        for name in names:
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    else:
        watch = BackendWatch(app.backend_check, health_servicer, names, cfg.health_interval_s)
        watch.probe()
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    if watch is not None:
        watch.start()
    log.info("listening on %s (port %d): %s", address, port, ", ".join(services))
    return RunningServer(server, port, health_servicer, watch)


def serve_forever(running: RunningServer, grace: float) -> None:
    """Blocks until SIGTERM/SIGINT, then shuts down gracefully within `grace` seconds."""
    done = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down (grace %.0fs)", signum, grace)
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # A signal may be delivered to one of gRPC's threads; Python runs the handler only when
    # the main thread next executes bytecode, so it must wake up now and then to notice.
    while not done.wait(0.5):
        pass
    running.stop(grace)
    log.info("stopped")
