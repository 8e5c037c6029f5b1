"""Tests inside steps and caches, with known answers. Six runs on main, two attempts on each of
three revisions; the `unit` step holds four test cases:
- test_checkout passes in 10, 20, ... 60 s (p50 35 s, p95 57.5 s);
- test_flaky fails in each first attempt and passes in the second: flaky on all three shas;
- test_broken always fails; test_fast always passes in half a second.
The `install` step hits its cache in four runs (30 s) and misses in two (150 s); `e2e` fails in
each first attempt (20 s) and passes in the second."""

from __future__ import annotations

import statistics
import sys
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.conftest import clean_env, run_leadtime
from tests.server import otlp_payloads as otlp
from tests.server.otlp_payloads import CHECKOUT, HIT, MISS, SHAS


@pytest.fixture
def history(client):
    start = datetime.now(UTC) - timedelta(hours=12)
    number = 0
    for sha in SHAS:
        for attempt in (1, 2):
            otlp.post_tested_run(client, number, sha, attempt, start + timedelta(hours=number))
            number += 1
    return client


def _tests(client, report: str) -> dict[str, dict]:
    found = client.get(f"/api/reports/{report}", params={"repo": "acme/shop"})
    assert found.status_code == 200, found.text
    return found.json()


def test_slowest_tests_have_their_p50_p95_and_failures(history):
    report = _tests(history, "slowest-tests")
    assert report["runs"] == 24
    names = [test["name"] for test in report["tests"]]
    assert names == ["cart.test_checkout", "cart.test_broken", "cart.test_flaky", "cart.test_fast"]
    checkout = report["tests"][0]
    assert (checkout["runs"], checkout["failures"]) == (6, 0)
    assert checkout["p50"] == pytest.approx(35) and checkout["p95"] == pytest.approx(57.5)
    assert checkout["trend"] is None  # nothing in the window before


def test_a_test_failing_then_passing_on_three_shas_is_flaky_on_all_three(history):
    (flaky,) = _tests(history, "flaky-tests")["tests"]  # test_broken never passed: not flaky
    assert flaky["name"] == "cart.test_flaky"
    assert (flaky["revisions"], flaky["flaky_revisions"]) == (3, 3)
    assert (flaky["runs"], flaky["failures"]) == (6, 3)


def test_the_suggested_order_is_likeliest_to_fail_then_fastest(history, live_server, monkeypatch):
    expected = ["cart.test_broken", "cart.test_flaky", "cart.test_fast", "cart.test_checkout"]
    assert [test["name"] for test in _tests(history, "test-order")["tests"]] == expected
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    shown = CliRunner().invoke(
        cli, ["report", "tests", "--repo", "acme/shop", "--show", "order", "--names"]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == expected
    table = CliRunner().invoke(cli, ["report", "tests", "--repo", "acme/shop", "--show", "flaky"])
    assert "cart.test_flaky" in table.output and "3/3" in table.output
    assert "cart.test_broken" not in table.output


def test_test_cases_are_inside_their_step_not_steps(history):
    report = history.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    steps = {step["name"]: step for step in report["steps"]}
    assert set(steps) == {"install", "unit", "e2e"}
    unit_seconds = [sum((CHECKOUT[n], 1, 2, 0.5)) for n in range(6)]
    assert steps["unit"]["critical_p50"] == pytest.approx(statistics.median(unit_seconds))


def test_cache_misses_split_the_p50_and_cost_a_week(history, live_server, monkeypatch):
    report = history.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    (install,) = report["caches"]
    assert install["name"] == "install"
    assert (install["hits"], install["misses"]) == (4, 2)
    assert (install["hit_p50"], install["miss_p50"]) == (HIT, MISS)
    assert install["miss_cost_per_week"] == pytest.approx(2 * (MISS - HIT))  # window 7d
    fortnight = history.get(
        "/api/reports/slowest-steps", params={"repo": "acme/shop", "window": "14d"}
    ).json()
    assert fortnight["caches"][0]["miss_cost_per_week"] == pytest.approx(MISS - HIT)
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    shown = CliRunner().invoke(cli, ["report", "slowest", "--repo", "acme/shop"])
    assert "cache of install: 4 hits, 2 misses" in shown.output
    assert "misses cost 4m00s a week" in shown.output


def test_a_bad_window_is_a_clear_4xx(history):
    bad = history.get("/api/reports/slowest-tests", params={"repo": "acme/shop", "window": "x"})
    assert bad.status_code in (400, 422) and "window" in bad.json()["error"]["message"]


def _github_main(tmp_path, url: str, run_id: str, sha: str, **extra: str) -> dict[str, str]:
    """The environment of a GitHub Actions job on acme/shop's main branch, sending to `url`."""
    return clean_env(
        tmp_path,
        LEADTIME_URL=url,
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID=run_id,
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REF_NAME="main",
        GITHUB_SHA=sha,
        **extra,
    )


def test_a_real_pytest_report_sent_by_the_tracer_is_in_the_reports(client, live_server, tmp_path):
    (tmp_path / "test_tiny.py").write_text(
        "import time\n\ndef test_slow():\n    time.sleep(0.3)\n\ndef test_quick():\n    pass\n"
    )
    env = _github_main(tmp_path, live_server.url, "77", "4" * 40)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=r.xml"]
    done = run_leadtime(
        ["step", "unit", "--junit", "r.xml", "--", *command, "test_tiny.py"], env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    report = client.get("/api/reports/slowest-tests", params={"repo": "acme/shop"}).json()
    names = [test["name"] for test in report["tests"]]
    assert names == ["test_tiny.test_slow", "test_tiny.test_quick"]
    assert report["tests"][0]["p50"] >= 0.3


def test_e2e_retried_on_three_shas_is_a_flaky_step_that_lost_a_minute_on_main(history):
    (e2e,) = history.get("/api/reports/flaky-steps", params={"repo": "acme/shop"}).json()["steps"]
    assert (e2e["name"], e2e["revisions"], e2e["flaky_revisions"]) == ("e2e", 3, 3)
    assert e2e["retries"] == 3 and e2e["seconds_lost_on_main"] == 3 * otlp.E2E_SECONDS


def test_pytest_opentelemetry_spans_under_a_step_count_as_tests(client):
    """pytest-opentelemetry names a test's span by its node id and marks it `pytest.span_type`
    test, under its session's `test run` span (`pytest.span_type` run), under the step; its
    phases carry the same attributes, its fixtures `pytest.span_type` fixture."""
    start, node = datetime.now(UTC) - timedelta(hours=1), "tests/test_cart.py::test_total"
    trace, run = f"{99:032x}", otlp.ci("main", "5" * 40, 300)
    step_end, session_end = start + timedelta(seconds=40), start + timedelta(seconds=38)
    spans = [
        otlp.span(trace, "00000000000000a0", "RUN ci", start, step_end, run),
        otlp.span(trace, "00000000000000a1", "unit", start, step_end, run, "00000000000000a0"),
        otlp.span(
            trace,
            "00000000000000a2",
            "test run",
            start,
            session_end,
            {"pytest.span_type": "run"},
            "00000000000000a1",
        ),
        otlp.span(
            trace,
            "00000000000000a3",
            node,
            start,
            start + timedelta(seconds=12),
            {"pytest.span_type": "test", "pytest.nodeid": node},
            "00000000000000a2",
            status=1,
        ),
        otlp.span(  # a phase of the test, with the test's own attributes
            trace,
            "00000000000000a4",
            f"{node}::call",
            start + timedelta(seconds=1),
            start + timedelta(seconds=11),
            {"pytest.span_type": "test", "pytest.nodeid": node},
            "00000000000000a3",
        ),
        otlp.span(
            trace,
            "00000000000000a5",
            "cart setup",
            start,
            start + timedelta(seconds=1),
            {"pytest.span_type": "fixture"},
            "00000000000000a4",
        ),
    ]
    body = otlp.request(spans)
    assert client.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    tests = _tests(client, "slowest-tests")["tests"]
    assert [(t["name"], t["p50"]) for t in tests] == [("tests/test_cart.py::test_total", 12)]
    steps = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()["steps"]
    assert {step["name"] for step in steps} == {"unit"}  # the session is a group, not a step
    spans = _span_list(client.get(f"/api/pipelines/{trace}").json())
    roles = {span["name"]: span["role"] for span in spans}
    assert roles[f"{node}::call"] == roles["cart setup"] == "detail"


def _span_list(run: dict) -> list[dict]:
    found, todo = [], list(run["steps"])
    while todo:
        span = todo.pop()
        found.append(span)
        todo.extend(span.get("children", []))
    return found


def test_a_real_pytest_opentelemetry_run_under_a_step_counts_each_test_once(
    client, live_server, tmp_path
):
    """pytest with pytest-opentelemetry, run by `leadtime step`, exports its spans to the server
    under the step (TRACEPARENT): three test cases (one slow, one failing, one skipped) with
    their phases and a fixture; each test case counts once, no phase or fixture is a step."""
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    env = _github_main(
        tmp_path,
        live_server.url,
        "78",
        "6" * 40,
        OTEL_EXPORTER_OTLP_ENDPOINT=live_server.url,
        OTEL_TRACES_EXPORTER="otlp_proto_http",
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--export-traces"]
    done = run_leadtime(["step", "unit", "--", *command, "test_tiny.py"], env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # pytest's own exit code: a test failed
    report = _tests(client, "slowest-tests")
    found = {test["name"]: test for test in report["tests"]}
    assert set(found) == {"test_tiny.py::test_slow", "test_tiny.py::test_fails"}  # skipped: out
    assert found["test_tiny.py::test_slow"]["p50"] >= 0.3
    assert (found["test_tiny.py::test_fails"]["failures"], report["runs"]) == (1, 2)
    steps = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()["steps"]
    assert [step["name"] for step in steps] == ["unit"]


TINY_SUITE = """import time
import pytest


@pytest.fixture
def cart():
    return 3


def test_slow(cart):
    time.sleep(0.3)


def test_fails():
    assert 1 == 2


@pytest.mark.skip(reason="later")
def test_skipped():
    pass
"""


def test_the_mergeset_lists_the_step_and_the_test_retried_on_its_sha(history, live_server):
    """On each sha, attempt 1 fails e2e (20 s) and test_flaky, attempt 2 passes both;
    unit and test_broken fail in both attempts: broken, never retried."""
    breakdown = history.get(f"/api/mergesets/{SHAS[0]}/breakdown").json()
    retried = {(r["kind"], r["name"]): r for r in breakdown["retried"]}
    assert set(retried) == {("step", "e2e"), ("test", "cart.test_flaky")}
    e2e = retried[("step", "e2e")]
    assert (e2e["retries"], e2e["seconds_lost"], e2e["seconds_lost_on_main"]) == (
        1,
        otlp.E2E_SECONDS,
        otlp.E2E_SECONDS,
    )
    assert retried[("test", "cart.test_flaky")]["retries"] == 1
    assert breakdown["retried"][0]["kind"] == "step"  # steps first, then test cases
    shown = CliRunner().invoke(
        cli, ["report", "mergeset", SHAS[0]], env={"LEADTIME_URL": live_server.url}
    )
    assert shown.exit_code == 0, shown.output
    assert "retried step e2e: 1x, 20s lost, 20s of it on main" in shown.output
    assert "retried test cart.test_flaky: 1x" in shown.output


def test_each_mergeset_shows_whether_its_run_hit_the_cache(history, live_server):
    """A mergeset's main-branch run is the first run of its sha: run 0 (SHAS[0]) hit, run 2
    (SHAS[1]) missed."""
    for sha, hit, seconds in ((SHAS[0], True, HIT), (SHAS[1], False, MISS)):
        caches = history.get(f"/api/mergesets/{sha}/breakdown").json()["caches"]
        assert [(c["name"], c["hit"], c["seconds"]) for c in caches] == [("install", hit, seconds)]
    shown = CliRunner().invoke(
        cli, ["report", "mergeset", SHAS[1]], env={"LEADTIME_URL": live_server.url}
    )
    assert shown.exit_code == 0, shown.output
    assert "cache of install: miss, 2m30s" in shown.output
