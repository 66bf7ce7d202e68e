"""`make chart-test`: the chart lints strictly, renders for every value file of the matrix, every object
validates, and the properties operators rely on hold (security context, hooks, monitoring, drift)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.chart.render import CHART, MATRIX, ROOT, by_kind, lint, render, values
from trustline.shared.topics import TOPIC_TYPES, dlq_topic, event_topics

KUBE_VERSION = "1.30"
WORKLOADS = ("tl-trustline-ingest", "tl-trustline-aggregator", "tl-trustline-api")
# kubernetes-validate knows no custom resources: the fields the chart sets are checked against the
# operators' own required shapes (kept minimal, from their CRDs).
CRD_SCHEMAS: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "crd-schemas.json").read_text())


@pytest.fixture(scope="module", params=MATRIX)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(values(request.param))


@pytest.mark.parametrize("name", MATRIX)
def test_strict_lint_passes(name: str) -> None:
    report = lint(values(name))
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report.get("errors", [])
    assert not problems, problems


def test_every_object_validates(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in CRD_SCHEMAS:
            jsonschema.validate(obj, CRD_SCHEMAS[obj["kind"]])
        else:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True), where


def test_pods_are_hardened(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    pods = [o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "Job")]
    assert pods
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        ctx = pod["securityContext"]
        assert ctx["runAsNonRoot"] is True and isinstance(ctx["runAsUser"], int) and ctx["runAsUser"] > 0
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"] + pod.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert container["command"] == ["trustline"]
            assert "resources" in container and container["resources"]["requests"]
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert not [
                e
                for e in container["env"]
                if "valueFrom" in e
                or "PASSWORD" in e["name"]
                and "value" in e
                and not e["name"].endswith("_FILE")
            ]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]


def test_components_wait_for_the_schema_and_probe_their_health(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = rendered
    deployments = by_kind(objects, "Deployment")
    assert sorted(deployments) == sorted(WORKLOADS)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        wait = pod["initContainers"][0]
        assert wait["args"][:2] == ["migrate", "--check"]
        main = pod["containers"][0]
        port = {"tl-trustline-api": "http"}.get(name, "metrics")
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert any(p["name"] == port for p in main["ports"])


def test_the_migration_hook(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    job = by_kind(objects, "Job")["tl-trustline-migrate"]
    notes = job["metadata"]["annotations"]
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert notes["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["spec"]["backoffLimit"] <= 3 and job["spec"]["activeDeadlineSeconds"] <= 1800
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    names = {e["name"] for e in container["env"]}
    assert names & {"TRUSTLINE_MIGRATION_DATABASE_URL_FILE", "TRUSTLINE_MIGRATION_DATABASE_URL"}
    # Components get the services' role only: the owner's Secret is mounted in the Job alone.
    for deployment in by_kind(objects, "Deployment").values():
        volumes = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert "db-owner" not in volumes


def test_replicas_are_left_to_the_autoscaler_when_there_is_one(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = rendered
    deployments = by_kind(objects, "Deployment")
    keda = values(name).get("ingest", {}).get("keda", {}).get("enabled", False)
    hpa = values(name).get("api", {}).get("hpa", {}).get("enabled", False)
    assert ("replicas" in deployments["tl-trustline-ingest"]["spec"]) is not keda
    assert ("replicas" in deployments["tl-trustline-api"]["spec"]) is not hpa
    assert bool(by_kind(objects, "ScaledObject")) is keda
    assert bool(by_kind(objects, "HorizontalPodAutoscaler")) is hpa
    assert deployments["tl-trustline-aggregator"]["spec"]["replicas"] == 2


def test_topics_by_job_or_by_strimzi(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    name, objects = rendered
    mode = values(name)["kafka"].get("topics", {}).get("create", "job")
    topics = by_kind(objects, "KafkaTopic")
    job = by_kind(objects, "Job").get("tl-trustline-topics")
    if mode == "strimzi":
        expected = [t for topic in event_topics("trustline") for t in (topic, dlq_topic(topic))]
        assert sorted(t["spec"]["topicName"] for t in topics.values()) == sorted(expected)
        assert job is None
    else:
        assert not topics and job is not None
        assert job["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["topics", "create"]


def test_the_chart_knows_the_contracts_topics() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    line = helpers.split('define "trustline.topicSuffixes"')[1].splitlines()[1]
    assert line.split() == list(TOPIC_TYPES)


def test_monitoring_by_explicit_flags() -> None:
    objects = render(values("production"))
    monitor = next(iter(by_kind(objects, "ServiceMonitor").values()))
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http", "metrics"]
    assert all(
        e["authorization"]["credentials"]["name"] == "trustline-metrics" for e in monitor["spec"]["endpoints"]
    )
    boards = by_kind(objects, "ConfigMap")
    assert len(boards) == 6 and all(
        b["metadata"]["labels"]["grafana_dashboard"] == "1" for b in boards.values()
    )
    # Off by default: nothing of the kind, whatever the cluster offers.
    plain = render(values("defaults"))
    assert (
        not by_kind(plain, "ServiceMonitor")
        and not by_kind(plain, "PrometheusRule")
        and not by_kind(plain, "ConfigMap")
    )


def test_the_rule_resource_holds_exactly_the_repositorys_rules() -> None:
    rule = next(iter(by_kind(render(values("production")), "PrometheusRule").values()))
    groups = []
    for name in ("recording.yaml", "alerts.yaml"):
        groups += yaml.safe_load((ROOT / "grafana" / "rules" / name).read_text())["groups"]
    assert rule["spec"]["groups"] == groups
    annotations = " ".join(str(r.get("annotations", "")) for g in rule["spec"]["groups"] for r in g["rules"])
    assert "{{ $value" in annotations  # Prometheus's template survives Helm's


def test_the_dashboards_are_the_repositorys_boards() -> None:
    boards = by_kind(render(values("production")), "ConfigMap")
    for path in (ROOT / "grafana" / "dashboards").glob("*.json"):
        board = boards[f"tl-trustline-dashboard-{path.stem}"]
        assert json.loads(board["data"][f"trustline-{path.name}"]) == json.loads(path.read_text())


def test_network_policy_allows_dns_kafka_postgres_out_and_scrapes_in() -> None:
    policy = next(iter(by_kind(render(values("production")), "NetworkPolicy").values()))
    ports = [{(p["protocol"], p["port"]) for p in rule["ports"]} for rule in policy["spec"]["egress"]]
    assert {("UDP", 53), ("TCP", 53)} in ports and {("TCP", 9092), ("TCP", 9093)} in ports
    assert {("TCP", 5432)} in ports
    ingress = [{p["port"] for p in rule["ports"]} for rule in policy["spec"]["ingress"]]
    assert {8000} in ingress and {9101, 9102} in ingress


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("kafka", "kafka.bootstrap is required"),
        ("postgres", "postgres.existingSecret is required"),
        ("metricsToken", "metricsToken.existingSecret is required in prod"),
    ],
)
def test_missing_required_values_fail_with_a_sentence(drop: str, message: str) -> None:
    given = values("defaults")
    given.pop(drop)
    with pytest.raises(helm.HelmError, match=message):
        render(given)


def test_the_schema_refuses_a_wrong_value() -> None:
    given = values("defaults")
    given["kafka"]["securityProtocol"] = "SASL_SCRAM"
    with pytest.raises(helm.HelmError, match="securityProtocol"):
        render(given)
