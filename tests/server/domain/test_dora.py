"""DORA's five keys: tiers by the 2024 report's table at their edges, bounds an operator sets,
the rework rate's unplanned deploys on plain values, and the keys of a seeded history through
the API and `leadtime report dora`, with answers worked out by hand from the seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from leadtime.server.domain import dora_tiers as tiers
from leadtime.server.domain.dora import DeployFacts, unplanned
from leadtime.tracer.cli import cli
from tests.conftest import clean_env, run_leadtime
from tests.server.dora_history import seed_dora_history

HOUR, DAY = 3600.0, 86400.0


@pytest.mark.parametrize(
    ("key", "value", "tier"),
    [
        (tiers.DEPLOYMENT_FREQUENCY, 3.0, "elite"),
        (tiers.DEPLOYMENT_FREQUENCY, 1.0, "elite"),  # one a day is on demand
        (tiers.DEPLOYMENT_FREQUENCY, 0.5, "high"),
        (tiers.DEPLOYMENT_FREQUENCY, 1 / 7, "high"),  # weekly
        (tiers.DEPLOYMENT_FREQUENCY, 0.05, "medium"),
        (tiers.DEPLOYMENT_FREQUENCY, 1 / 60, "low"),
        (tiers.CHANGE_LEAD_TIME, 2 * HOUR, "elite"),
        (tiers.CHANGE_LEAD_TIME, 3 * DAY, "high"),
        (tiers.CHANGE_LEAD_TIME, 14 * DAY, "medium"),
        (tiers.CHANGE_LEAD_TIME, 60 * DAY, "low"),
        (tiers.CHANGE_FAILURE_RATE, 0.04, "elite"),
        (tiers.CHANGE_FAILURE_RATE, 0.15, "high"),
        (tiers.CHANGE_FAILURE_RATE, 0.20, "high"),
        (tiers.CHANGE_FAILURE_RATE, 0.30, "low"),  # the report's medium (10%) is never reached
        (tiers.RECOVERY_TIME, 30 * 60.0, "elite"),
        (tiers.RECOVERY_TIME, 5 * HOUR, "high"),
        (tiers.RECOVERY_TIME, 3 * DAY, "low"),
    ],
)
def test_tiers_follow_the_2024_table(key, value, tier):
    assert tiers.DORA_2024[key].tier(value) == tier


def test_nothing_to_count_has_no_tier_and_rework_has_none_by_design():
    assert tiers.DORA_2024[tiers.CHANGE_FAILURE_RATE].tier(None) is None
    assert tiers.REWORK_RATE not in tiers.DORA_2024
    assert "no tiers" in tiers.tier_note(tiers.REWORK_RATE, tiers.DORA_2024)
    assert tiers.tier_note(tiers.CHANGE_LEAD_TIME, tiers.DORA_2024) is None


def test_an_operator_sets_bounds_for_some_keys_in_the_words_of_each():
    found = tiers.parse_tiers("rework_rate=5%,10%,20% ; change_lead_time=12h,3d,2w;")
    assert found[tiers.REWORK_RATE].values == (0.05, 0.10, 0.20)
    assert found[tiers.REWORK_RATE].tier(0.15) == "medium"
    assert found[tiers.CHANGE_LEAD_TIME].values == (12 * HOUR, 3 * DAY, 14 * DAY)
    assert found[tiers.CHANGE_FAILURE_RATE] == tiers.DORA_2024[tiers.CHANGE_FAILURE_RATE]
    assert (
        tiers.parse_tiers("deployment_frequency=2,0.5,0.1")[tiers.DEPLOYMENT_FREQUENCY].tier(1.0)
        == "high"
    )
    assert tiers.parse_tiers("") == tiers.DORA_2024


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("rework=1,2,3", "'rework' is not one of"),
        ("rework_rate=5%,10%", "needs three bounds"),
        ("change_failure_rate=few,10%,20%", "'few' is not a number"),
        ("change_failure_rate=-1,10%,20%", "must not be negative"),
        ("change_lead_time=soon,1d,1w", "change_lead_time: 'soon' is not a duration"),
    ],
)
def test_bad_bounds_are_refused_with_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        tiers.parse_tiers(text)


def test_a_server_with_bad_bounds_does_not_start(tmp_path):
    env = clean_env(
        tmp_path,
        LEADTIME_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        LEADTIME_DORA_TIERS="rework_rate=5%,10%",
    )
    done = run_leadtime(["serve", "--port", "0"], env, timeout=120)
    assert done.returncode == 2
    assert "LEADTIME_DORA_TIERS: rework_rate needs three bounds" in done.stderr


# Unplanned deploys, on plain values ------------------------------------------------------------


def test_unplanned_deploys_are_rollbacks_reverts_and_those_while_a_page_was_open():
    t = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    deploys = [DeployFacts(i, "shop", t + timedelta(hours=i)) for i in range(1, 8)]
    deploys.append(DeployFacts(8, "search", t + timedelta(hours=2)))
    pages = [
        ("shop", t + timedelta(hours=1, minutes=30), t + timedelta(hours=2, minutes=30)),
        ("shop", t + timedelta(hours=6, minutes=30), None),  # still open
        ("search", t + timedelta(hours=5), t + timedelta(hours=5, minutes=5)),
    ]
    found = unplanned(deploys, {4}, pages, after_page=timedelta(minutes=60))
    # 2: while the first page was open; 3: 30 minutes after it resolved; 4: a rollback or
    # revert; 7: while the second is open. 5 is 2.5 h after the first resolved; 1 came before
    # any page; 8 is another service, and its own page came after it.
    assert found == {2, 3, 4, 7}
    assert unplanned(deploys, set(), pages, after_page=timedelta(0)) == {2, 7}


# Through the server ----------------------------------------------------------------------------


def test_the_five_keys_of_a_seeded_history(client, live_server, monkeypatch):
    expected = seed_dora_history(client)
    report = client.get("/api/dora", params={"repo": "acme/shop", "window": "30d"}).json()
    keys = {key["key"]: key for key in report["keys"]}
    assert report["deploys"] == 7 and report["source"].startswith("DORA 2024")
    assert keys["deployment_frequency"]["value"] == pytest.approx(7 / 30)
    assert keys["deployment_frequency"]["tier"] == "high"
    # no first commits known (the API's merges carry none): merge -> production, said so
    assert keys["change_lead_time"]["value"] == expected["median_lead_time"] == 30 * 60
    assert "merge -> production" in keys["change_lead_time"]["counts"]
    assert keys["change_lead_time"]["tier"] == "elite"
    # d2 (paged, then rolled back) and d6 (paged): 2 of 7
    assert keys["change_failure_rate"]["value"] == pytest.approx(2 / 7)
    assert keys["change_failure_rate"]["tier"] == "low"
    # only d2 recovered: page 1 resolved 50 minutes after it finished
    assert keys["failed_deployment_recovery_time"]["value"] == expected["recovery"] == 50 * 60
    assert keys["failed_deployment_recovery_time"]["tier"] == "elite"
    # d3 (rollback, and page 1 open), d4 (the revert, 20 minutes after page 1 resolved), d7
    assert keys["rework_rate"]["value"] == pytest.approx(3 / 7)
    assert keys["rework_rate"]["tier"] is None and "no tiers" in keys["rework_rate"]["note"]
    assert "3 of 7 deploys unplanned" in keys["rework_rate"]["counts"]

    # the change-failure report says the same of the same deploys: one number per fact
    (by_service,) = client.get("/api/reports/change-failure", params={"window": "30d"}).json()
    assert by_service["rate"] == keys["change_failure_rate"]["value"]

    # a window that holds none of it: nothing counted, no tiers
    empty = client.get("/api/dora", params={"window": "2d"}).json()
    assert empty["deploys"] == 0
    assert [key["value"] for key in empty["keys"]] == [0.0, None, None, None, None]
    assert empty["keys"][0]["tier"] == "low"

    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    table = CliRunner().invoke(cli, ["report", "dora", "--repo", "acme/shop"])
    assert table.exit_code == 0, table.output
    lines = {line.split("  ")[0]: line for line in table.output.splitlines()}
    assert "1.6/week" in lines["deployment frequency"] and "high" in lines["deployment frequency"]
    assert "29%" in lines["change failure rate"] and "low" in lines["change failure rate"]
    assert "50m00s" in lines["failed deployment recovery time"]
    assert "43%" in lines["rework rate"] and "no tiers" in lines["rework rate"]
    as_json = CliRunner().invoke(cli, ["report", "dora", "--repo", "acme/shop", "--json"])
    assert '"rework_rate"' in as_json.output


def test_dora_of_an_unknown_repository_or_window_is_a_clear_4xx(client):
    missing = client.get("/api/dora", params={"repo": "acme/nothing"})
    assert missing.status_code == 422
    assert "no repository 'acme/nothing'" in missing.json()["error"]["message"]
    bad = client.get("/api/dora", params={"window": "forever"})
    assert bad.status_code == 400
    assert "window: 'forever' is not a duration" in bad.json()["error"]["message"]
