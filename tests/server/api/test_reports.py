"""The reports over real ingested traces: slowest steps, a mergeset's breakdown, budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.server import otlp_payloads as otlp
from tests.server.otlp_payloads import post_run

REPO = "https://github.com/acme/shop"


def test_slowest_steps_report(client):
    now = datetime.now(UTC)
    for run in range(1, 5):  # this week: e2e takes 5 minutes, on the critical path
        post_run(
            client,
            run,
            now - timedelta(hours=run),
            [
                ("build", 60, "success"),
                ("e2e", 300, "failure" if run == 1 else "success"),
                ("lint", 20, "success"),
            ],
        )
    for run in range(5, 8):  # the week before: e2e took 2.5 minutes
        post_run(client, run, now - timedelta(days=8, hours=run), [("e2e", 150, "success")])
    report = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    assert report["runs"] == 4 and report["budget_seconds"] == 900
    by_name = {step["name"]: step for step in report["steps"]}
    assert [step["name"] for step in report["steps"]] == ["e2e", "build", "lint"]
    e2e = by_name["e2e"]
    assert (e2e["runs"], e2e["p50"], e2e["failure_rate"]) == (4, 300, 0.25)
    assert e2e["share_of_budget"] == pytest.approx(300 / 900)
    assert e2e["critical_share"] == 1.0 and e2e["critical_p50"] == 300
    assert e2e["trend"] == pytest.approx(1.0)  # twice as slow as the week before
    assert e2e["slow"] is True and e2e["budget_breaker"] is False
    assert by_name["build"]["slow"] is False and by_name["build"]["trend"] is None


def test_budget_is_set_per_repository_and_changes_the_flags(client):
    now = datetime.now(UTC)
    post_run(client, 1, now - timedelta(hours=1), [("e2e", 300, "success")])
    response = client.post("/api/budgets", json={"repository": "acme/shop", "budget_seconds": 240})
    assert response.json() == {"repository": REPO, "budget_seconds": 240.0, "default": False}
    e2e = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()["steps"][0]
    assert e2e["budget_breaker"] is True
    back = client.post("/api/budgets", json={"repository": "acme/shop", "budget_seconds": None})
    assert back.json()["default"] is True and back.json()["budget_seconds"] == 900
    assert client.get("/api/budgets").json() == [back.json()]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"repository": "acme/shop", "budget_seconds": 0}, 422),
        ({"repository": "nowhere", "budget_seconds": 60}, 422),
    ],
)
def test_bad_budgets_are_refused(client, body, status):
    post_run(client, 1, datetime.now(UTC), [("build", 1, "success")])
    assert client.post("/api/budgets", json=body).status_code == status


def test_mergeset_breakdown_from_merge_to_deploy(client):
    merged = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    sha = "a" * 40
    client.post(
        "/api/merges", json={"repository": REPO, "sha": sha, "merged_at": merged.isoformat()}
    )
    deploy_attributes = {
        "deploy production": {
            "deployment.environment.name": "production",
            "deployment.status": "succeeded",
            "deployment.id": "d-1",
        }
    }
    trace = post_run(
        client,
        9,
        merged + timedelta(minutes=2),
        [
            ("build", 240, "success"),
            ("e2e", 600, "success"),
            ("deploy production", 120, "success"),
        ],
        branch="main",
        sha=sha,
        extra=deploy_attributes,
    )
    breakdown = client.get(f"/api/mergesets/{sha[:10]}/breakdown").json()
    assert breakdown["mergeset"]["lead_time_seconds"] == 2 * 60 + 240 + 600 + 120
    assert breakdown["main_trace_id"] == trace == breakdown["deploy_trace_id"]
    assert [(p["name"], p["seconds"]) for p in breakdown["parts"]] == [
        ("e2e", 600),
        ("build", 240),
        ("waiting for the pipeline", 120),
        ("deploy production", 120),
    ]
    assert breakdown["parts"][0]["share_of_budget"] == pytest.approx(600 / 900)
    assert [s["name"] for s in breakdown["segments"]] == [
        "waiting for the pipeline",
        "build",
        "e2e",
        "deploy production",
    ]
    assert (
        sum(s["seconds"] for s in breakdown["segments"])
        == breakdown["mergeset"]["lead_time_seconds"]
    )


def test_breakdown_of_an_unknown_mergeset_is_404(client):
    response = client.get("/api/mergesets/abcdef1/breakdown")
    assert response.status_code == 404
    assert "no mergeset 'abcdef1'" in response.json()["error"]["message"]


def test_slowest_steps_of_an_unknown_repository_is_a_clear_error(client):
    response = client.get("/api/reports/slowest-steps", params={"repo": "nowhere"})
    assert response.status_code == 422
    assert "no repository 'nowhere'" in response.json()["error"]["message"]


def test_terminal_reports(client, live_server, monkeypatch):
    from click.testing import CliRunner

    from leadtime.tracer.cli import cli

    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    now = datetime.now(UTC)
    post_run(
        client, 1, now - timedelta(hours=1), [("build", 60, "success"), ("e2e", 960, "success")]
    )
    slowest = CliRunner().invoke(cli, ["report", "slowest", "--repo", "acme/shop"])
    assert slowest.exit_code == 0, slowest.output
    e2e_row = next(line for line in slowest.output.splitlines() if line.startswith("e2e"))
    assert "16m00s" in e2e_row and "####################> 107%" in e2e_row
    assert e2e_row.rstrip().endswith("BREAKER SLOW")
    as_json = CliRunner().invoke(cli, ["report", "slowest", "--repo", "acme/shop", "--json"])
    assert '"budget_breaker": true' in as_json.output

    set_budget = CliRunner().invoke(cli, ["budget", "set", "acme/shop", "20m"])
    assert set_budget.output.strip() == f"{REPO}: budget 20m00s"
    assert "20m00s" in CliRunner().invoke(cli, ["budget", "list"]).output
    bad = CliRunner().invoke(cli, ["budget", "set", "acme/shop", "soon"])
    assert bad.exit_code == 2 and "is not a duration" in bad.output


def test_terminal_mergeset_breakdown(client, live_server, monkeypatch):
    from click.testing import CliRunner

    from leadtime.tracer.cli import cli

    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    merged = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sha = "b" * 40
    client.post(
        "/api/merges",
        json={
            "repository": REPO,
            "sha": sha,
            "merged_at": merged.isoformat(),
            "title": "Faster cart",
        },
    )
    post_run(
        client,
        3,
        merged + timedelta(minutes=1),
        [("build", 300, "success")],
        branch="main",
        sha=sha,
    )
    result = CliRunner().invoke(cli, ["report", "mergeset", sha[:8]])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{sha[:10]} Faster cart"
    assert "not deployed, waiting" in result.output and "over budget" in result.output
    assert "build" in result.output and "5m00s" in result.output
    missing = CliRunner().invoke(cli, ["report", "mergeset", "abcdef1"])
    assert missing.exit_code == 1 and "no mergeset" in missing.output


def test_report_sees_spans_that_arrive_after_it_was_first_computed(client):
    now = datetime.now(UTC)
    trace = post_run(client, 1, now - timedelta(hours=1), [("build", 60, "success")])
    first = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    assert [s["name"] for s in first["steps"]] == ["build"]
    # a second job of the same run reports later, into the same trace
    later = otlp.span(
        trace,
        "0000000200000001",
        "e2e",
        now - timedelta(minutes=50),
        now - timedelta(minutes=40),
        {"vcs.repository.url.full": REPO},
    )
    client.post(
        "/v1/traces", content=otlp.request([later]), headers={"content-type": "application/json"}
    )
    second = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    assert {s["name"]: s["p50"] for s in second["steps"]} == {"build": 60, "e2e": 600}
