"""deploy/kubernetes/: the manifests validated against the Kubernetes schemas
(kubernetes-validate bundles them: no network, which the autouse guard would
refuse anyway), and what the node handler needs of them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install -e '.[test]')")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
#: Kubernetes' own kinds, validated; the PodMonitor is the Prometheus Operator's (a CRD).
CORE = ("rbac.yaml", "daemonset.yaml")


def documents(name):
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def by_kind(kind):
    return next(d for name in CORE for d in documents(name) if d["kind"] == kind)


def validate(document):
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("name", CORE)
def test_the_manifests_validate_against_the_kubernetes_schemas(name):
    for document in documents(name):
        validate(document)


def test_the_validation_bites():
    broken = copy.deepcopy(by_kind("DaemonSet"))
    broken["spec"]["template"]["spec"]["hostNetwork"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    broken = copy.deepcopy(by_kind("DaemonSet"))
    broken["spec"]["template"]["spec"]["tolerate"] = []  # strict: no unknown field
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_the_cluster_role_allows_what_kubectl_does_and_no_more():
    rules = {(r["apiGroups"][0], res): set(r["verbs"]) for r in by_kind("ClusterRole")["rules"]
             for res in r["resources"]}
    assert rules == {("", "nodes"): {"get", "patch"}, ("", "pods"): {"list"},
                     ("", "pods/eviction"): {"create"}, ("apps", "daemonsets"): {"get"}}
    binding = by_kind("ClusterRoleBinding")
    account = by_kind("ServiceAccount")
    assert binding["roleRef"]["name"] == by_kind("ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]


def test_the_daemonset_runs_the_node_handler_on_every_node():
    pod = by_kind("DaemonSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["hostNetwork"] is True and pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["serviceAccountName"] == by_kind("ServiceAccount")["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    args = container["args"]
    assert args[:2] == ["events", "watch"] and "--kubernetes-node" in args and "--ack" in args
    assert args[args.index("--metrics") + 1] == "0.0.0.0:9092"
    assert container["ports"] == [{"name": "metrics", "containerPort": 9092, "protocol": "TCP"}]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert args[args.index("--state") + 1].startswith(mounts["state"] + "/")


def test_the_pod_monitor_scrapes_the_daemonsets_metrics_port():
    (monitor,) = documents("podmonitor.yaml")
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "PodMonitor")
    labels = by_kind("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]


def test_the_containerfile_installs_the_wheel_from_dist():
    text = (DEPLOY / "Containerfile").read_text()
    assert "COPY dist/*.whl" in text and "pip install --no-cache-dir /tmp/*.whl" in text
    assert "kubectl" in text
