"""Every repository on one page: names as people say them (the host only where two hosts
clash), the weekly lead-time trend, and the order of what needs attention, on a seeded
history whose answers are worked out by hand (tests/server/dora_history.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadtime.server.domain.portfolio import repository_rows, short_names
from leadtime.server.models import Repository
from tests.server.conftest import settings_for
from tests.server.dora_history import seed_dora_history


def test_names_are_owner_and_name_with_the_host_only_where_two_hosts_clash():
    repositories = [
        Repository(id=1, url="https://github.com/acme/shop", name="acme/shop"),
        Repository(id=2, url="https://gitlab.example.com/Acme/Shop.git", name="Acme/Shop"),
        Repository(id=3, url="https://github.com/acme/search", name="acme/search"),
        Repository(id=4, url=None, name="billing"),
    ]
    assert short_names(repositories) == {
        1: "github.com/acme/shop",
        2: "gitlab.example.com/Acme/Shop",
        3: "acme/search",
        4: "billing",
    }


def _deploy(client, repository: str, sha: str, at: datetime) -> None:
    merge = {
        "repository": repository,
        "sha": sha,
        "merged_at": (at - timedelta(hours=1)).isoformat(),
    }
    assert client.post("/api/merges", json=merge).status_code == 200
    deploy = {
        "service": repository.rsplit("/", 1)[-1] + "-svc",
        "repository": repository,
        "environment": "production",
        "sha": sha,
        "status": "succeeded",
        "finished_at": at.isoformat(),
    }
    assert client.post("/api/deploys", json=deploy).status_code == 200


def test_rows_hold_each_repositorys_keys_and_weekly_trend_worst_first(client, session, db_url):
    now = datetime.now(UTC).replace(microsecond=0)
    expected = seed_dora_history(client)  # acme/shop: change failure rate 29%, low
    _deploy(client, "https://github.com/acme/search", "c" * 40, now - timedelta(days=20))
    _deploy(client, "billing", "d" * 40, now - timedelta(days=3))
    rows = repository_rows(session, settings_for(db_url), now, timedelta(days=30))
    assert [row.name for row in rows] == ["acme/shop", "acme/search", "billing"]
    shop, search, billing = rows
    assert shop.low_keys == 1 and search.low_keys == billing.low_keys == 0
    # the others tie: no low key, every mergeset over budget (an hour), none waiting: by name
    assert search.summary.share_over_budget == billing.summary.share_over_budget == 1.0
    # weekly p50, oldest of 12 weeks first: shop shipped five mergesets five days ago
    assert len(shop.weekly_p50) == 12
    assert shop.weekly_p50 == [None] * 11 + [expected["median_lead_time"]]
    # search's one deploy, 20 days ago, falls in the third week from the end
    assert search.weekly_p50[-3] == 3600.0 and search.weekly_p50.count(None) == 11
    assert billing.weekly_p50[-1] == 3600.0
