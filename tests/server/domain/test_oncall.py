"""What pages say: change failure rate and recovery time at their edges, the on-call review,
the postmortem timeline in order, the service map file, and the page commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner

from leadtime.server.domain.oncall import (
    PageTimes,
    change_failure,
    oncall_weeks,
)
from leadtime.server.hours import parse_working_hours
from leadtime.server.settings import Settings
from leadtime.tracer.cli import cli
from tests.factories import make_deploy, make_mergeset, make_page
from tests.server.conftest import LiveServer, settings_for, wipe
from tests.server.otlp_payloads import post_run

NOW = datetime.now(UTC).replace(microsecond=0)
HOURS = parse_working_hours("09:00-18:00", "mon-fri", "Europe/Berlin")


# Change failure rate and recovery time, on plain values ----------------------------------------


def test_one_bad_deploy_paging_five_times_is_one_failure():
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    deploys = [(1, at), (2, at + timedelta(hours=1)), (3, at + timedelta(hours=2))]
    five_pages = [(at + timedelta(minutes=5 + i), at + timedelta(minutes=40)) for i in range(5)]
    result = change_failure("shop", deploys, {1: five_pages})
    assert (result.deploys, result.failed_deploys, result.rate) == (3, 1, pytest.approx(1 / 3))
    # recovery: from the deploy to the last of its pages' resolutions
    assert result.recovery_median_seconds == 40 * 60 and result.recovered == 1


def test_change_failure_edges():
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    none = change_failure("shop", [], {})
    assert (none.deploys, none.rate, none.recovery_median_seconds) == (0, None, None)
    clean = change_failure("shop", [(1, at)], {})
    assert clean.rate == 0.0 and clean.recovery_median_seconds is None
    # a failure still open has no recovery time yet, but counts as a failure
    open_page = change_failure("shop", [(1, at)], {1: [(at, None)]})
    assert open_page.rate == 1.0 and open_page.recovered == 0
    assert open_page.recovery_median_seconds is None
    two = change_failure(
        "shop",
        [(1, at), (2, at)],
        {1: [(at, at + timedelta(minutes=10))], 2: [(at, at + timedelta(minutes=30))]},
    )
    assert two.recovery_median_seconds == 20 * 60
    assert two.recovery_p90_seconds == pytest.approx(28 * 60)


# On-call review --------------------------------------------------------------------------------


def facts(triggered: datetime, title="5xx", team="payments", ack=None, resolve=None) -> PageTimes:
    return PageTimes("shop", team, title, triggered, ack, resolve)


def test_out_of_hours_is_judged_in_the_teams_time_zone():
    # Wednesday 2026-11-18: 07:30 UTC is 08:30 in Berlin (out), 08:30 UTC is 09:30 (in).
    assert HOURS.out_of_hours(datetime(2026, 11, 18, 7, 30, tzinfo=UTC))
    assert not HOURS.out_of_hours(datetime(2026, 11, 18, 8, 30, tzinfo=UTC))
    assert HOURS.out_of_hours(datetime(2026, 11, 18, 17, 0, tzinfo=UTC))  # 18:00 in Berlin
    assert HOURS.out_of_hours(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))  # Saturday


def test_weeks_with_more_than_the_limit_are_flagged_with_their_numbers():
    monday = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # ISO week 47
    busy = [
        facts(
            monday + timedelta(hours=6 * i),
            title="disk full" if i < 4 else "5xx",
            ack=monday + timedelta(hours=6 * i, minutes=2 + i),
            resolve=monday + timedelta(hours=6 * i, minutes=30),
        )
        for i in range(6)
    ]
    quiet = [facts(monday - timedelta(days=7), team="payments")]  # week 46
    other_team = [facts(monday, team="core")]
    weeks = oncall_weeks(busy + quiet + other_team, HOURS, limit=5)
    assert [(w.week, w.team, w.pages, w.flagged) for w in weeks] == [
        ("2026-W47", "core", 1, False),
        ("2026-W47", "payments", 6, True),
        ("2026-W46", "payments", 1, False),
    ]
    payments = weeks[1]
    # 10:00, 16:00, 22:00, 04:00, 10:00, 16:00 UTC = 11, 17, 23, 05, 11, 17 in Berlin
    assert payments.out_of_hours == 2
    assert payments.acknowledge_median_seconds == 4.5 * 60
    assert payments.resolve_median_seconds == 30 * 60
    assert payments.noisiest == [("disk full", 4), ("5xx", 2)]


def test_bad_working_hours_are_refused_when_the_server_is_configured():
    for bad, says in (
        ({"working_hours": "9-18"}, "09:00-18:00"),
        ({"working_days": "weekdays"}, "mon-fri"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
    ):
        with pytest.raises(ValueError, match=says):
            Settings(database_url="sqlite://", **bad)


# Through the server ----------------------------------------------------------------------------


def test_change_failure_and_oncall_reports_over_the_api(client):
    first = make_deploy(client, "shop", "a" * 40, NOW - timedelta(days=3))
    make_deploy(client, "shop", "b" * 40, NOW - timedelta(days=2))
    for n in range(3):  # three pages after the first deploy: one failure
        make_page(
            client,
            "shop",
            NOW - timedelta(days=3) + timedelta(minutes=10 + n),
            f"p-{n}",
            resolved_at=(NOW - timedelta(days=3) + timedelta(hours=1)).isoformat(),
            team="payments",
        )
    (shop,) = client.get("/api/reports/change-failure", params={"window": "7d"}).json()
    assert (shop["service"], shop["deploys"], shop["failed_deploys"], shop["rate"]) == (
        "shop",
        2,
        1,
        0.5,
    )
    assert shop["recovery_median_seconds"] == 3600
    assert client.get("/api/deploys").json()[1]["id"] == first
    weeks = client.get("/api/reports/oncall", params={"team": "payments"}).json()
    assert sum(w["pages"] for w in weeks) == 3
    assert weeks[0]["noisiest"][0] == {"title": "shop is down", "pages": 3}
    assert client.get("/api/reports/oncall", params={"team": "nobody"}).json() == []
    bad = client.get("/api/reports/oncall", params={"window": "soon"})
    assert bad.status_code == 400 and "not a duration" in bad.json()["error"]["message"]


def test_postmortem_timeline_is_in_order(client):
    merged = NOW - timedelta(hours=2)
    make_mergeset(client, "a" * 40, merged, "ada")
    post_run(
        client,
        77,
        merged + timedelta(minutes=1),
        [("build", 120, "success"), ("test", 240, "success")],
        branch="main",
        sha="a" * 40,
    )
    finished = merged + timedelta(minutes=12)
    deploy_id = make_deploy(client, "shop", "a" * 40, finished)
    stored = make_page(
        client,
        "shop",
        finished + timedelta(minutes=6),
        "p-1",
        acknowledged_at=(finished + timedelta(minutes=8)).isoformat(),
        resolved_at=(finished + timedelta(minutes=30)).isoformat(),
    )
    other = make_page(client, "shop", finished + timedelta(minutes=7), "p-2")
    response = client.get(f"/api/pages/{stored['id']}/postmortem")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    for section in (
        "Impact",
        "Trigger",
        "Resolution",
        "Timeline (UTC)",
        "Root cause",
        "What went well",
        "What didn't",
        "Action items",
    ):
        assert f"## {section}" in text
    assert f"Deploy {deploy_id} of shop (aaaaaaaaaa) to production finished 6m00s before" in text
    rows = [row[2:-2].split(" | ") for row in text.splitlines() if row.startswith("| 20")]
    events = [event for _, event in rows]
    assert events == [
        "merged aaaaaaaaaa by ada",
        "pipeline ci for aaaaaaaaaa started",
        "pipeline ci for aaaaaaaaaa finished",  # no pipeline root span: no run result
        f"deploy {deploy_id} of shop aaaaaaaaaa to production finished (succeeded)",
        "this page triggered: shop is down",
        f"page {other['id']} triggered: shop is down",
        "this page acknowledged",
        "this page resolved",
    ]
    times = [moment for moment, _ in rows]
    assert times == sorted(times)
    assert client.get("/api/pages/999999/postmortem").status_code == 404


def test_the_service_map_file_maps_at_start(engine, db_url, tmp_path):
    mapping = tmp_path / "services.toml"
    mapping.write_text('[services]\n"checkout-api" = "shop"\n')
    with LiveServer(settings_for(db_url, auth="off", service_map_file=mapping)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            shipped = make_deploy(client, "shop", "a" * 40, NOW - timedelta(minutes=9))
            stored = make_page(client, "checkout-api", NOW, "p-1")
            assert stored["service"] == "shop" and stored["suspect"]["id"] == shipped
            assert client.get("/api/service-mappings").json() == [
                {"pager_service": "checkout-api", "service": "shop", "source": "file"}
            ]
        wipe(engine)


def test_a_bad_service_map_file_says_what_is_wrong(tmp_path):
    from leadtime.server.domain.service_map import read_service_map

    bad = tmp_path / "services.toml"
    bad.write_text('services = ["shop"]\n')
    with pytest.raises(ValueError, match=r"expected a \[services\] table"):
        read_service_map(bad)
    with pytest.raises(ValueError, match=r"missing\.toml"):
        read_service_map(tmp_path / "missing.toml")


def test_page_commands(client, live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    make_mergeset(client, "a" * 40, NOW - timedelta(minutes=40), "ada")
    make_deploy(client, "shop", "a" * 40, NOW - timedelta(minutes=20))
    created = CliRunner().invoke(cli, ["page", "shop", "checkout is down", "--urgency", "high"])
    assert created.exit_code == 0, created.output
    assert "suspect deploy" in created.output and "authors: ada" in created.output
    page_id = created.output.split()[1].rstrip(":")
    unmatched = CliRunner().invoke(cli, ["page", "payments-api", "slow"])
    assert "unmatched: no service is known as 'payments-api'" in unmatched.output

    listed = CliRunner().invoke(cli, ["pages", "--unmatched"])
    assert "payments-api (unmatched)" in listed.output and "checkout is down" not in listed.output
    resolved = CliRunner().invoke(cli, ["page", "resolve", page_id])
    assert resolved.exit_code == 0 and f"page {page_id} resolved" in resolved.output
    wrong = CliRunner().invoke(cli, ["page", "resolve", "soon"])
    assert wrong.exit_code == 2 and "leadtime page resolve ID" in wrong.output
    missing = CliRunner().invoke(cli, ["page", "resolve", "99999"])
    assert missing.exit_code == 1 and "no page 99999" in missing.output

    out = tmp_path / "pm.md"
    written = CliRunner().invoke(cli, ["postmortem", page_id, "-o", str(out)])
    assert written.exit_code == 0 and out.read_text().startswith("# Postmortem: checkout is down")
    report = CliRunner().invoke(cli, ["report", "change-failure"])
    assert report.exit_code == 0 and "100%" in report.output
    oncall = CliRunner().invoke(cli, ["report", "oncall"])
    assert oncall.exit_code == 0 and "checkout is down x1" in oncall.output


def test_the_postmortem_names_the_suspects_authors_as_their_people(client):
    merged = NOW - timedelta(hours=2)
    make_mergeset(client, "a" * 40, merged, "ADA")  # a login, in whatever case
    deploy_id = make_deploy(client, "shop", "a" * 40, merged + timedelta(minutes=12))
    stored = make_page(client, "shop", merged + timedelta(minutes=20), "p-1")
    people = {"people": [{"name": "Ada Lovelace", "emails": ["ada@example.com"], "github": "ada"}]}
    assert client.put("/api/people", json=people).status_code == 200
    text = client.get(f"/api/pages/{stored['id']}/postmortem").text
    assert f"Deploy {deploy_id} of shop" in text
    assert "- aaaaaaaaaa (Ada Lovelace)" in text
    assert "merged aaaaaaaaaa by Ada Lovelace" in text
