"""The Kustomize base and overlays render, are valid Kubernetes, and fit the server they run.

Schemas come from `kubernetes-validate` (they ship inside the wheel: no network), strict, for
the oldest Kubernetes these manifests claim (1.27: native gRPC probes are GA there) and the
newest the validator knows. Every object is validated; a kind without a schema is a failure.
"""

from __future__ import annotations

import copy
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from k8s_support import (
    OVERLAYS,
    TREES,
    Manifest,
    env_of,
    flag,
    listen_port,
    of_kind,
    one,
    pod_labels,
    pod_spec,
    quantity,
    selects,
    service_selects,
    workloads,
)

from services.config import SERVICE_NAMES, load_config
from services.server import SERVICE_FULL_NAMES

KUBERNETES_VERSIONS = ("1.27", "1.37")
ALL_TREES = tuple(TREES)

# Kinds each tree must produce; more or fewer means a resource went missing or leaked in.
COMMON_KINDS = {
    "Deployment": 4,
    "Service": 6,
    "PodDisruptionBudget": 5,
    "HorizontalPodAutoscaler": 1,
    "StatefulSet": 1,
    "NetworkPolicy": 4,
    "ConfigMap": 1,
    "ServiceAccount": 2,
}
EXTRA_KINDS = {
    "base": {},
    "dev": {"Namespace": 1, "Secret": 1},
    "prod": {"Namespace": 1, "ConfigMap": 1},  # + Elasticsearch's roles.yml
}

# Secrets a tree mounts but must not render: created outside git, documented in k8s/README.md.
EXTERNAL_SECRETS = {
    "base": {"trialmatch-auth"},
    "dev": set(),
    "prod": {
        "trialmatch-auth",
        "trialmatch-tls",
        "elasticsearch-certs",
        "elasticsearch-credentials",
    },
}


def schema_errors(docs: list[Manifest], version: str) -> list[str]:
    from kubernetes_validate.utils import (
        SchemaNotFoundError,
        ValidationError,
        VersionNotSupportedError,
        validate,
    )

    errors = []
    for doc in docs:
        where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            validate(doc, version, strict=True)
        except ValidationError as exc:
            errors.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except (SchemaNotFoundError, VersionNotSupportedError) as exc:
            errors.append(f"{where}: {exc.message}")
    return errors


def deployments(docs: list[Manifest]) -> list[Manifest]:
    return of_kind(docs, "Deployment")


def server_container(deployment: Manifest) -> Manifest:
    containers = pod_spec(deployment)["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    return containers[0]


def hosted_services(deployment: Manifest) -> list[str]:
    return flag(server_container(deployment)["args"], "--services").split(",")


def elasticsearch(docs: list[Manifest]) -> Manifest:
    return one(docs, "StatefulSet", "elasticsearch")


@pytest.mark.parametrize("tree", ALL_TREES)
def test_renders_expected_objects(rendered: dict[str, list[Manifest]], tree: str) -> None:
    counts: dict[str, int] = {}
    for doc in rendered[tree]:
        counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
    assert Counter(counts) == Counter(COMMON_KINDS) + Counter(EXTRA_KINDS[tree])
    if tree in OVERLAYS:
        (namespace,) = of_kind(rendered[tree], "Namespace")
        name = namespace["metadata"]["name"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        namespaced = [d for d in rendered[tree] if d["kind"] != "Namespace"]
        assert {d["metadata"].get("namespace") for d in namespaced} == {name}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("tree", ALL_TREES)
def test_every_object_matches_the_kubernetes_schema(
    rendered: dict[str, list[Manifest]], tree: str, version: str
) -> None:
    assert schema_errors(rendered[tree], version) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["readinessProbe"]["grpc"].update(portt=50051),  # unknown field
        lambda c: c["ports"][0].update(containerPort="fifty"),  # wrong type
        lambda c: c.pop("name"),  # required field
    ],
    ids=["unknown-field", "wrong-type", "missing-required"],
)
def test_schema_check_rejects_broken_manifests(
    rendered: dict[str, list[Manifest]], mutate: Callable[[Manifest], object]
) -> None:
    broken = copy.deepcopy(deployments(rendered["base"])[0])
    mutate(server_container(broken))
    assert schema_errors([broken], KUBERNETES_VERSIONS[0])
    unknown_kind = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema_errors([unknown_kind], KUBERNETES_VERSIONS[0])


@pytest.mark.parametrize("tree", ALL_TREES)
def test_one_deployment_per_service(rendered: dict[str, list[Manifest]], tree: str) -> None:
    hosted = [s for d in deployments(rendered[tree]) for s in hosted_services(d)]
    assert sorted(hosted) == sorted(SERVICE_NAMES)


@pytest.mark.parametrize("tree", ALL_TREES)
def test_grpc_probes_ask_the_port_and_services_the_server_serves(
    rendered: dict[str, list[Manifest]], tree: str
) -> None:
    """The server registers health for "" and each hosted service's full name on the port of
    its --address (services/server.py); a probe on anything else never turns SERVING."""
    for deployment in deployments(rendered[tree]):
        container = server_container(deployment)
        port = listen_port(flag(container["args"], "--address"))
        assert flag(container["args"], "--address").startswith(("0.0.0.0:", "[::]:"))
        assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("grpc", port)]
        served = {""} | {SERVICE_FULL_NAMES[s] for s in hosted_services(deployment)}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container[kind]
            assert set(probe) & {"grpc", "httpGet", "tcpSocket", "exec"} == {"grpc"}, kind
            assert probe["grpc"]["port"] == port, kind
            assert probe["grpc"].get("service", "") in served, kind
        # Ready means the hosted API itself is SERVING, not just the process.
        readiness = container["readinessProbe"]["grpc"]["service"]
        assert readiness in served - {""}


@pytest.mark.parametrize("tree", ALL_TREES)
def test_services_route_to_the_grpc_port(rendered: dict[str, list[Manifest]], tree: str) -> None:
    docs = rendered[tree]
    for deployment in deployments(docs):
        port = server_container(deployment)["ports"][0]
        labels = pod_labels(deployment)
        matching = [s for s in of_kind(docs, "Service") if service_selects(s, labels)]
        assert len(matching) == 1, deployment["metadata"]["name"]
        (service_port,) = matching[0]["spec"]["ports"]
        assert service_port["targetPort"] in (port["name"], port["containerPort"])
        assert service_port["port"] == port["containerPort"]
        assert matching[0]["metadata"]["name"] == deployment["metadata"]["name"]


@pytest.mark.parametrize("tree", ALL_TREES)
def test_hpa_scales_the_matcher(rendered: dict[str, list[Manifest]], tree: str) -> None:
    docs = rendered[tree]
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    deployment = one(docs, "Deployment", target["name"])
    assert hosted_services(deployment) == ["matcher"]
    # The autoscaler owns the replica count; CPU utilisation needs a CPU request to divide by.
    assert "replicas" not in deployment["spec"]
    assert quantity(server_container(deployment)["resources"]["requests"]["cpu"]) > 0
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


@pytest.mark.parametrize("tree", ALL_TREES)
def test_every_workload_has_exactly_one_pdb(rendered: dict[str, list[Manifest]], tree: str) -> None:
    docs = rendered[tree]
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for workload in workloads(docs):
        covering = [p for p in pdbs if selects(p["spec"]["selector"], pod_labels(workload))]
        assert len(covering) == 1, workload["metadata"]["name"]
        # maxUnavailable (not minAvailable) so that a single replica never blocks a drain.
        assert covering[0]["spec"].get("maxUnavailable") == 1
    for pdb in pdbs:
        assert pdb["apiVersion"] == "policy/v1"


@pytest.mark.parametrize("tree", ALL_TREES)
def test_pods_run_restricted(rendered: dict[str, list[Manifest]], tree: str) -> None:
    """The "restricted" Pod Security Standard, which the overlays' namespaces enforce."""
    for workload in workloads(rendered[tree]):
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        one(rendered[tree], "ServiceAccount", spec["serviceAccountName"])
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert not ctx.get("privileged", False)
            if workload["kind"] == "Deployment":
                assert ctx["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("tree", ALL_TREES)
def test_containers_have_sane_resources(rendered: dict[str, list[Manifest]], tree: str) -> None:
    for workload in workloads(rendered[tree]):
        for container in pod_spec(workload)["containers"]:
            requests, limits = container["resources"]["requests"], container["resources"]["limits"]
            for key in ("cpu", "memory"):
                assert 0 < quantity(requests[key]) <= quantity(limits[key]), (
                    container["name"],
                    key,
                )


@pytest.mark.parametrize("tree", ALL_TREES)
def test_references_resolve(rendered: dict[str, list[Manifest]], tree: str) -> None:
    """Every ConfigMap is rendered; every Secret is rendered or documented as external."""
    docs = rendered[tree]
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    secrets: set[str] = set()
    for workload in workloads(docs):
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
            if "secret" in volume:
                secrets.add(volume["secret"]["secretName"])
        for container in spec["containers"]:
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secrets.add(ref["name"])
    rendered_secrets = {n for k, n in names if k == "Secret"}
    assert secrets - rendered_secrets == EXTERNAL_SECRETS[tree]
    readme = (TREES["base"].parent / "README.md").read_text("utf-8")
    for name in EXTERNAL_SECRETS[tree]:
        assert f"`{name}`" in readme, f"k8s/README.md does not say how to create {name}"


@pytest.mark.parametrize("tree", ALL_TREES)
def test_mounted_config_is_valid_for_the_server(
    rendered: dict[str, list[Manifest]], tree: str
) -> None:
    """$TRIALMATCH_CONFIG names a file of the mounted ConfigMap that services/config.py accepts;
    its Elasticsearch URL is the cluster's client Service, and its index replicas fit on the
    cluster's nodes (a replica on the node holding the primary is never allocated)."""
    docs = rendered[tree]
    for deployment in deployments(docs):
        container = server_container(deployment)
        path = Path(env_of(container)["TRIALMATCH_CONFIG"]["value"])
        mount = next(m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent)
        volume = next(v for v in pod_spec(deployment)["volumes"] if v["name"] == mount["name"])
        text = one(docs, "ConfigMap", volume["configMap"]["name"])["data"][path.name]
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.yaml").write_text(text, "utf-8")
            config = load_config(Path(tmp) / "config.yaml")
        assert config.storage.backend == "elasticsearch"
        url = urlsplit(config.storage.elasticsearch.url)
        service = one(docs, "Service", url.hostname or "")
        assert service_selects(service, pod_labels(elasticsearch(docs)))
        assert (url.port or 9200) in [p["port"] for p in service["spec"]["ports"]]
        nodes = elasticsearch(docs)["spec"]["replicas"]
        assert config.storage.elasticsearch.replicas == min(1, nodes - 1)
