"""Deploy rules: where an emitter marks no deploy, a repository's job-name glob says which span
is a deploy, the innermost one that fits; set through the API and `leadtime deploys rule`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.server.emitters import recorded


def _post(client, payload: dict) -> None:
    for request in payload["requests"]:
        assert client.post("/v1/traces", json=request).status_code == 200


def _rule(client, job: str, repository: str = "acme/shop", environment: str = "production"):
    body = {"repository": repository, "job": job, "environment": environment}
    return client.put("/api/deploy-rules", json=body)


def test_without_a_rule_a_run_that_marks_no_deploy_has_none(client):
    _post(client, recorded.load("github_receiver"))
    assert client.get("/api/deploys").json() == []
    assert len(client.get("/api/mergesets").json()) == 1  # still a mergeset, waiting


def test_the_innermost_span_that_fits_is_the_one_deploy(client):
    payload = recorded.load("github_receiver")
    assert _rule(client, "*deploy*").status_code == 200  # the job and its deploy.sh step fit
    _post(client, payload)
    (deploy,) = client.get("/api/deploys").json()
    step, _ = recorded.named(payload, "Run ./deploy.sh production")
    assert deploy["finished_at"].startswith(recorded.end(step).strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_glob_ignores_letter_case_and_names_the_environment(client):
    assert _rule(client, "DEPLOY-PROD*", environment="prod-eu").status_code == 200
    _post(client, recorded.load("otel_cicd_action"))
    (deploy,) = client.get("/api/deploys").json()
    assert deploy["environment"] == "prod-eu"


def test_a_jenkins_run_without_its_revision_gives_a_run_but_no_mergeset_or_deploy(client):
    payload = recorded.load("jenkins_legacy")
    (root,) = [span for span, _ in recorded.spans(payload) if not span.get("parentSpanId")]
    root["attributes"] = [a for a in root["attributes"] if a["key"] != "vcs.ref.head.revision"]
    _rule(client, "deploy prod*")
    _post(client, payload)
    run = client.get(f"/api/pipelines/{recorded.trace_id(payload)}").json()
    assert run["sha"] is None and run["branch"] == "main"
    assert client.get("/api/mergesets").json() == []  # honest: no revision, no mergeset
    assert client.get("/api/deploys").json() == []


def test_rules_are_listed_replaced_and_deleted(client):
    _rule(client, "deploy-prod*")
    _rule(client, "deploy-prod*", environment="prod-us")
    _rule(client, "ship-*", environment="staging")
    listed = client.get("/api/deploy-rules", params={"repo": "acme/shop"}).json()
    assert [(r["job"], r["environment"]) for r in listed] == [
        ("deploy-prod*", "prod-us"),
        ("ship-*", "staging"),
    ]
    gone = client.delete("/api/deploy-rules", params={"repo": "acme/shop", "job": "ship-*"})
    assert gone.status_code == 204
    again = client.delete("/api/deploy-rules", params={"repo": "acme/shop", "job": "ship-*"})
    assert again.status_code == 404 and "ship-*" in again.json()["error"]["message"]
    assert len(client.get("/api/deploy-rules").json()) == 1


def test_a_bad_rule_is_refused_with_a_message_and_stores_nothing(client):
    for body in (
        {"repository": "acme/shop", "job": "", "environment": "production"},
        {"repository": "acme/shop", "job": "deploy\n", "environment": "production"},
        {"repository": "acme/shop", "job": "deploy", "environment": "x" * 201},
        {"repository": "acme/shop", "job": "deploy"},
    ):
        answer = client.put("/api/deploy-rules", json=body)
        assert answer.status_code == 422 and answer.json()["error"]["message"], body
    assert client.get("/api/deploy-rules").json() == []


def test_the_cli_sets_lists_and_deletes_a_rule(client, live_server, monkeypatch):
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["deploys", "rule", "acme/shop", "--job", "deploy-prod*", "--environment", "production"],
    )
    assert made.exit_code == 0, made.output
    assert "deploy-prod*" in made.output and "production" in made.output
    listed = runner.invoke(cli, ["deploys", "rules", "--json"])
    assert [r["job"] for r in json.loads(listed.output)] == ["deploy-prod*"]
    missing = runner.invoke(cli, ["deploys", "rule", "acme/shop", "--job", "x"])
    assert missing.exit_code == 2 and "--environment" in missing.output
    deleted = runner.invoke(
        cli, ["deploys", "rule", "acme/shop", "--job", "deploy-prod*", "--delete"]
    )
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(runner.invoke(cli, ["deploys", "rules", "--json"]).output) == []
    listed_deploys = runner.invoke(cli, ["deploys", "--json"])
    assert listed_deploys.exit_code == 0 and json.loads(listed_deploys.output) == []
