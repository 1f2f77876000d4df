"""NetworkPolicies, the Elasticsearch StatefulSet and what makes dev dev and prod prod.

The NetworkPolicy checks evaluate the rendered policies with Kubernetes' own semantics
(a pod is isolated for a direction once any policy selects it; allowed traffic is the union
of the rules of the policies that select it) against the pod labels the workloads carry.
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch

import pytest
import yaml
from k8s_support import (
    OVERLAYS,
    ROOT,
    TREES,
    Manifest,
    env_of,
    java_size,
    of_kind,
    one,
    pod_labels,
    pod_spec,
    quantity,
    selects,
    server_config,
    service_selects,
)

ALL_TREES = tuple(TREES)
ES_HTTP, ES_TRANSPORT = 9200, 9300


def services(docs: list[Manifest]) -> list[Manifest]:
    return of_kind(docs, "Deployment")


def es(docs: list[Manifest]) -> Manifest:
    return one(docs, "StatefulSet", "elasticsearch")


def policies_for(docs: list[Manifest], labels: dict[str, str], direction: str) -> list[Manifest]:
    return [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
    ]


def rules_allowing(policies: list[Manifest], direction: str, port: int) -> list[Manifest]:
    """Rules of these policies that admit TCP `port` (a rule without ports admits all)."""
    key = "ingress" if direction == "Ingress" else "egress"
    return [
        rule
        for policy in policies
        for rule in policy["spec"].get(key) or []
        if not rule.get("ports")
        or any(p.get("protocol", "TCP") == "TCP" and p.get("port") == port for p in rule["ports"])
    ]


@pytest.mark.parametrize("tree", ALL_TREES)
def test_default_deny_both_ways(rendered: dict[str, list[Manifest]], tree: str) -> None:
    deny = [
        p
        for p in of_kind(rendered[tree], "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(deny) == 1


@pytest.mark.parametrize("tree", ALL_TREES)
def test_only_trialmatch_pods_reach_elasticsearch_http(
    rendered: dict[str, list[Manifest]], tree: str
) -> None:
    docs = rendered[tree]
    es_labels = pod_labels(es(docs))
    service_labels = [pod_labels(d) for d in services(docs)]
    policies = policies_for(docs, es_labels, "Ingress")
    assert policies, "Elasticsearch pods are not isolated for ingress"
    rules = rules_allowing(policies, "Ingress", ES_HTTP)
    assert rules, "nothing may reach Elasticsearch on 9200"
    for rule in rules:
        peers = rule.get("from") or []
        assert peers, "a rule admits everyone to Elasticsearch on 9200"
        for peer in peers:
            # Same namespace, selected by pod labels: no namespaceSelector, no ipBlock.
            assert set(peer) == {"podSelector"}, peer
            assert all(selects(peer["podSelector"], labels) for labels in service_labels)
            assert not selects(peer["podSelector"], es_labels)
    # Transport (9300) is for the nodes themselves.
    for rule in rules_allowing(policies, "Ingress", ES_TRANSPORT):
        for peer in rule.get("from") or [{}]:
            assert set(peer) == {"podSelector"}
            assert selects(peer["podSelector"], es_labels)
            assert not any(selects(peer["podSelector"], labels) for labels in service_labels)


@pytest.mark.parametrize("tree", ALL_TREES)
def test_service_pods_accept_only_grpc(rendered: dict[str, list[Manifest]], tree: str) -> None:
    docs = rendered[tree]
    for deployment in services(docs):
        labels = pod_labels(deployment)
        (port,) = pod_spec(deployment)["containers"][0]["ports"]
        policies = policies_for(docs, labels, "Ingress")
        assert policies
        for policy in policies:
            for rule in policy["spec"].get("ingress") or []:
                assert rule.get("ports"), f"{policy['metadata']['name']} admits every port"
                for p in rule["ports"]:
                    assert p.get("protocol", "TCP") == "TCP"
                    assert p["port"] in (port["containerPort"], port["name"])
        assert rules_allowing(policies, "Ingress", port["containerPort"])


@pytest.mark.parametrize("tree", ALL_TREES)
def test_egress_lets_the_system_work(rendered: dict[str, list[Manifest]], tree: str) -> None:
    """Under default deny, services must still reach Elasticsearch and nodes each other."""
    docs = rendered[tree]
    es_labels = pod_labels(es(docs))
    pairs = [(pod_labels(d), ES_HTTP) for d in services(docs)] + [(es_labels, ES_TRANSPORT)]
    for labels, port in pairs:
        rules = rules_allowing(policies_for(docs, labels, "Egress"), "Egress", port)
        assert any(
            selects(peer.get("podSelector"), es_labels)
            for rule in rules
            for peer in rule.get("to") or []
        ), (labels, port)
        dns = rules_allowing(policies_for(docs, labels, "Egress"), "Egress", 53)
        assert dns, f"no DNS for {labels}"


def es_env(docs: list[Manifest]) -> dict[str, str]:
    container = pod_spec(es(docs))["containers"][0]
    return {k: v.get("value", "") for k, v in env_of(container).items()}


def pinned_es_version() -> str:
    """The version `make es-up` runs (tools/es_node.py), which the tests run against."""
    text = (ROOT / "tools" / "es_node.py").read_text("utf-8")
    match = re.search(r'^VERSION = "([0-9.]+)"', text, re.M)
    assert match, 'tools/es_node.py no longer pins VERSION = "x.y.z"'
    return match[1]


@pytest.mark.parametrize("tree", ALL_TREES)
def test_elasticsearch_cluster_is_coherent(rendered: dict[str, list[Manifest]], tree: str) -> None:
    docs = rendered[tree]
    sts = es(docs)
    replicas, env = sts["spec"]["replicas"], es_env(docs)
    headless = one(docs, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert service_selects(headless, pod_labels(sts))
    if replicas == 1:
        assert env["discovery.type"] == "single-node"
        assert "discovery.seed_hosts" not in env and "cluster.initial_master_nodes" not in env
    else:
        assert replicas % 2 == 1 and replicas >= 3, "an even master count buys no tolerance"
        assert env["discovery.seed_hosts"] == headless["metadata"]["name"]
        masters = [f"{sts['metadata']['name']}-{i}" for i in range(replicas)]
        assert env["cluster.initial_master_nodes"].split(",") == masters
        assert sts["spec"]["podManagementPolicy"] == "Parallel"
    image = pod_spec(sts)["containers"][0]["image"]
    assert image.startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert image.rsplit(":", 1)[1] == pinned_es_version()
    # Heap fixed (Xms == Xmx) and at most half the memory limit (the rest is page cache).
    opts = dict(re.findall(r"-Xm([sx])(\S+)", env["ES_JAVA_OPTS"]))
    assert opts["s"] == opts["x"]
    limit = quantity(pod_spec(sts)["containers"][0]["resources"]["limits"]["memory"])
    assert java_size(opts["x"]) <= limit / 2
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in pod_spec(sts)["containers"][0]["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/usr/share/elasticsearch/data"


def test_dev_is_small_and_self_contained(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["dev"]
    assert es(docs)["spec"]["replicas"] == 1
    assert all(d["spec"].get("replicas", 1) == 1 for d in services(docs))
    assert one(docs, "HorizontalPodAutoscaler", "trialmatch-matcher")["spec"]["minReplicas"] == 1


def test_prod_elasticsearch_is_not_open(rendered: dict[str, list[Manifest]]) -> None:
    """Security on, nodes authenticate each other over TLS, the superuser has a password from
    a Secret, and requests without credentials get only the trialmatch indices."""
    docs = rendered["prod"]
    sts = es(docs)
    env, container = es_env(docs), pod_spec(sts)["containers"][0]
    assert env["xpack.security.enabled"] == "true"
    assert env["xpack.security.transport.ssl.enabled"] == "true"
    assert env["xpack.security.transport.ssl.client_authentication"] == "required"
    certs = next(m for m in container["volumeMounts"] if m["name"] == "certs")
    assert certs["mountPath"] == "/usr/share/elasticsearch/config/certs"
    for key in ("key", "certificate", "certificate_authorities"):
        assert env[f"xpack.security.transport.ssl.{key}"].startswith("certs/")
    password = env_of(container)["ELASTIC_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password["name"] == "elasticsearch-credentials"
    assert "ELASTIC_PASSWORD" in " ".join(container["readinessProbe"]["exec"]["command"])

    roles_mount = next(
        m
        for m in container["volumeMounts"]
        if m["mountPath"] == "/usr/share/elasticsearch/config/roles.yml"
    )
    volume = next(v for v in pod_spec(sts)["volumes"] if v["name"] == roles_mount["name"])
    roles = yaml.safe_load(
        one(docs, "ConfigMap", volume["configMap"]["name"])["data"][roles_mount["subPath"]]
    )
    anonymous = env["xpack.security.authc.anonymous.roles"].split(",")
    prefix = server_config(docs).storage.elasticsearch.index_prefix
    for name in anonymous:
        role = roles[name]
        assert set(role.get("cluster", [])) <= {"monitor"}
        assert not role.get("run_as") and not role.get("applications")
        for grant in role["indices"]:
            assert set(grant["privileges"]) <= {"read", "write", "manage", "view_index_metadata"}
            for pattern in grant["names"]:
                assert pattern.startswith(f"{prefix}-"), pattern
        index = f"{prefix}-patients-v1"
        assert any(fnmatch(index, p) for g in role["indices"] for p in g["names"])

    required = pod_spec(sts)["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert any(
        t["topologyKey"] == "kubernetes.io/hostname"
        and selects(t["labelSelector"], pod_labels(sts))
        for t in required
    )


def test_prod_services_are_replicated_and_spread(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["prod"]
    hpa = one(docs, "HorizontalPodAutoscaler", "trialmatch-matcher")
    assert hpa["spec"]["minReplicas"] >= 2
    for deployment in services(docs):
        if deployment["metadata"]["name"] != hpa["spec"]["scaleTargetRef"]["name"]:
            assert deployment["spec"]["replicas"] >= 2
        terms = pod_spec(deployment)["affinity"]["podAntiAffinity"][
            "preferredDuringSchedulingIgnoredDuringExecution"
        ]
        # The anti-affinity must name this Deployment's own pods, not all trialmatch pods.
        assert any(
            selects(t["podAffinityTerm"]["labelSelector"], pod_labels(deployment))
            and not all(
                selects(t["podAffinityTerm"]["labelSelector"], pod_labels(other))
                for other in services(docs)
            )
            for t in terms
        )
        mounts = {m["mountPath"] for m in pod_spec(deployment)["containers"][0]["volumeMounts"]}
        assert "/etc/trialmatch/tls" in mounts


@pytest.mark.parametrize("tree", OVERLAYS)
def test_overlay_images_are_pinned(rendered: dict[str, list[Manifest]], tree: str) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    for deployment in services(rendered[tree]):
        image = pod_spec(deployment)["containers"][0]["image"]
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
        if tree == "prod":
            assert "/" in name, f"{image}: prod pulls from a registry"
            assert tag == version, f"{image}: the release image is tagged with the package version"
