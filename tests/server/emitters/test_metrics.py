"""`GET /metrics`: parsed by prometheus_client's own text parser, every figure checked against
what the API says of the same history (recorded emitter runs and a leadtime run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.server import otlp_payloads as otlp
from tests.server.conftest import LiveServer, settings_for, wipe
from tests.server.emitters import recorded


def _history(client) -> None:
    client.put(
        "/api/deploy-rules",
        json={"repository": "acme/shop", "job": "deploy-prod*", "environment": "production"},
    )
    for name in ("github_receiver", "gitlab_receiver"):
        for request in recorded.load(name)["requests"]:
            assert client.post("/v1/traces", json=request).status_code == 200
    # A main-branch run nothing has deployed yet: one mergeset waiting.
    start = datetime.now(UTC) - timedelta(hours=1)
    otlp.post_run(client, 7, start, [("build", 60, "success")], branch="main", sha="a" * 40)


def _scrape(client) -> dict[str, list]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(answer.text)}


def _value(samples, name: str, **labels) -> float:
    """The one sample of `name` with these labels; 0 when there is none (nothing counted)."""
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) <= 1, found
    return found[0] if found else 0


def test_lead_times_deploys_and_waiting_agree_with_the_api(client):
    _history(client)
    metrics = _scrape(client)
    mergesets = client.get("/api/mergesets").json()
    deploys = client.get("/api/deploys").json()
    repositories = {m["repository"] for m in mergesets}
    assert len(repositories) == 2  # acme/shop (GitHub) and acme/platform/shop (GitLab)
    for repository in repositories:
        labels = {"vcs_repository_name": repository}
        own = [m for m in mergesets if m["repository"] == repository]
        shipped = [m["lead_time_seconds"] for m in own if m["lead_time_seconds"] is not None]
        lead = metrics["leadtime_lead_time_seconds"]
        assert _value(lead, "leadtime_lead_time_seconds_count", **labels) == len(shipped)
        assert _value(lead, "leadtime_lead_time_seconds_sum", **labels) == sum(shipped)
        waiting = metrics["leadtime_mergesets_waiting"]
        assert _value(waiting, "leadtime_mergesets_waiting", **labels) == len(own) - len(shipped)
        own_deploys = [d for d in deploys if d["repository"] == repository]
        failed = sum(d["status"] == "failed" for d in own_deploys)
        total = metrics["leadtime_deploys"]
        assert _value(total, "leadtime_deploys_total", **labels) == len(own_deploys)
        failures = metrics["leadtime_deploys_failed"]
        assert _value(failures, "leadtime_deploys_failed_total", **labels) == failed
    assert len(deploys) == 2
    assert any(m["lead_time_seconds"] is None for m in mergesets)  # the waiting one counts too


def test_run_and_step_histograms_count_what_the_runs_hold(client):
    _history(client)
    metrics = _scrape(client)
    gitlab = recorded.load("gitlab_receiver")
    run = client.get(f"/api/pipelines/{recorded.trace_id(gitlab)}").json()
    runs = metrics["cicd_pipeline_run_duration_seconds"]
    labels = {"cicd_pipeline_name": run["name"], "cicd_pipeline_result": run["result"]}
    assert _value(runs, "cicd_pipeline_run_duration_seconds_count", **labels) == 1
    assert (
        _value(runs, "cicd_pipeline_run_duration_seconds_sum", **labels) == run["duration_seconds"]
    )
    buckets = [s for s in runs if s.name.endswith("_bucket") and labels.items() <= s.labels.items()]
    assert [s.value for s in buckets] == sorted(s.value for s in buckets)  # cumulative
    steps = metrics["leadtime_step_duration_seconds"]
    report = client.get(
        "/api/reports/slowest-steps", params={"repo": "acme/platform/shop", "window": "3650d"}
    ).json()
    for step in [s for s in report["steps"] if s["kind"] == "step"]:
        labels = {
            "vcs_repository_name": report["repository"],
            "cicd_pipeline_task_name": step["name"],
        }
        assert _value(steps, "leadtime_step_duration_seconds_count", **labels) == step["runs"]
    stage_or_queue = {"queue-build", "Add checkout retries", "ci"}
    assert not {s.labels["cicd_pipeline_task_name"] for s in steps} & stage_or_queue


def test_metrics_need_a_reader_where_reads_need_a_token(db_url, engine):

    with LiveServer(settings_for(db_url, auth="on", read_auth="on")) as server:
        answer = httpx.get(f"{server.url}/metrics", timeout=30)
    assert answer.status_code == 401
    wipe(engine)


def test_the_grafana_example_reads_only_metrics_the_server_exports(client):
    import json
    import re
    from pathlib import Path

    _history(client)
    exported = set()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            exported |= {sample.name, *sample.labels}  # metric names and label names
    dashboard = (
        Path(__file__).resolve().parents[3] / "examples" / "grafana" / "leadtime-dashboard.json"
    )
    document = json.loads(dashboard.read_text())
    expressions = [t["expr"] for p in document["panels"] for t in p["targets"]]
    expressions += [v["query"] for v in document["templating"]["list"] if v["type"] == "query"]
    used = {
        name
        for expression in expressions
        for name in re.findall(r"\b((?:leadtime|cicd)_[a-z_]+)\b", expression)
    }
    assert used and used <= exported, used - exported
