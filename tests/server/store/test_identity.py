"""One repository, one identity: every URL form and letter case the forge treats as one is one
row; `owner/name` and a bare name resolve to it and never make a second; a repository first
named without its URL joins the one its URL names; two first sights at once make one row."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from leadtime.server import db, store
from tests import load
from tests.server.conftest import count_rows, wipe

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SAME = [
    "https://github.com/pallets/click",
    "https://github.com/Pallets/Click.git",
    "git@github.com:pallets/click.git",
    "ssh://git@github.com:22/pallets/click.git",
    "ssh://git@github.com/Pallets/click",
    "http://user:token@GitHub.com/pallets/click/",
]


@pytest.mark.parametrize("url", SAME)
def test_every_form_of_a_url_is_one_key(url):
    assert store.repository_key(url) == "github.com/pallets/click"


def test_a_host_that_does_not_fold_keeps_the_letter_case_of_paths():
    assert (
        store.repository_key("https://git.example.org/Team/App.git") == "git.example.org/Team/App"
    )
    assert (
        store.repository_key("https://GitLab.example.org/Team/App") == "gitlab.example.org/team/app"
    )


def test_every_url_form_and_name_is_one_repository(session, engine):
    rows = {store.repository_for(session, url, None).id for url in SAME}
    for name in ("pallets/click", "Pallets/Click", "click", "CLICK"):
        rows.add(store.resolve_repository(session, name, create=True).id)
    session.commit()
    assert len(rows) == 1 and count_rows(engine)["repositories"] == 1


def test_like_wildcards_in_a_name_match_nothing_else(session):
    store.repository_for(session, "https://github.com/acme/shop", None)
    made = store.resolve_repository(session, "acme/s_op", create=True)
    assert made.url is None and made.key == "name:acme/s_op"
    assert store.resolve_repository(session, "acme/shop").url == "https://github.com/acme/shop"


def _merge(client, repository: str, sha: str, minutes: int, **extra) -> None:
    merged = (T0 + timedelta(minutes=minutes)).isoformat()
    body = {"repository": repository, "sha": sha, "merged_at": merged, **extra}
    response = client.post("/api/merges", json=body)
    assert response.status_code == 200, response.text


def test_a_repository_named_before_its_url_joins_it(client, engine):
    """A merge by `owner/name` first (with its pull request), then the repository's URL from a
    deploy: one repository, the mergeset and its PR joined, containment worked out on it."""
    _merge(client, "Acme/Shop", "a" * 40, 0, pr_number=7, pr_title="Add cart")
    assert count_rows(engine)["repositories"] == 1
    deploy = {
        "service": "shop",
        "repository": "git@github.com:acme/shop.git",
        "environment": "production",
        "sha": "a" * 40,
        "status": "succeeded",
        "finished_at": (T0 + timedelta(minutes=9)).isoformat(),
    }
    assert client.post("/api/deploys", json=deploy).status_code == 200
    assert count_rows(engine)["repositories"] == 1
    (mergeset,) = client.get("/api/mergesets", params={"repo": "acme/shop"}).json()
    assert mergeset["repository"] == "https://github.com/acme/shop"
    assert (mergeset["pr_number"], mergeset["pr_title"]) == (7, "Add cart")
    assert mergeset["lead_time_seconds"] == 9 * 60
    # and the name keeps finding it
    _merge(client, "acme/shop", "b" * 40, 20, parent_sha="a" * 40)
    assert count_rows(engine)["repositories"] == 1
    assert client.get("/api/summary", params={"repo": "shop"}).status_code == 200


CLIENTS = 8


def _first_sight_at_once(urls: list[str]) -> list[int]:
    """CLIENTS clients per server, at the same moment, each merging its own mergeset into a
    repository nobody has named yet, by `owner/name`; the answers."""
    barrier = threading.Barrier(CLIENTS * len(urls))
    answers: list[int] = []

    def send(url: str, n: int) -> None:
        body = {
            "repository": "acme/brand-new",
            "sha": f"{n:040x}",
            "merged_at": (T0 + timedelta(minutes=n)).isoformat(),
        }
        barrier.wait()
        for _ in range(20):  # a retryable 503 is sent again, as clients do
            response = httpx.post(f"{url}/api/merges", json=body, timeout=30)
            if response.status_code != 503:
                break
        answers.append(response.status_code)

    threads = [
        threading.Thread(target=send, args=(url, index * CLIENTS + n))
        for index, url in enumerate(urls)
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_first_sight_at_once_makes_one_repository(db_url, engine):
    replicas = 2 if db_url.startswith("postgresql") else 1
    servers = [load.Server(db_url).start() for _ in range(replicas)]
    try:
        answers = _first_sight_at_once([server.url for server in servers])
        assert answers == [200] * CLIENTS * replicas
        with engine.connect() as connection:
            keys = connection.execute(text("SELECT key FROM repositories")).scalars().all()
            mergesets = connection.execute(text("SELECT count(*) FROM mergesets")).scalar()
        assert keys == ["name:acme/brand-new"]
        assert mergesets == CLIENTS * replicas
    finally:
        for server in servers:
            server.stop()
        wipe(engine)


def test_the_migration_merges_the_repositories_an_older_version_made_twice(tmp_path):
    """A database at revision 0005 with the duplicates older versions made (letter case, an ssh
    URL form, a name-only row made before the URL): upgraded, one repository keeps everything,
    and a repository of another name stays apart."""
    from alembic import command

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = db.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    now = "2026-11-20 10:00:00"
    with engine.begin() as connection:
        for id_, name, url in [
            (1, "shop", "https://github.com/acme/shop"),
            (2, "Shop", "https://github.com/Acme/Shop"),
            (3, "cart", "https://github.com/acme/cart"),  # another repository
            (4, "shop", None),  # `acme/shop` named before any URL (older versions kept "shop")
        ]:
            connection.execute(
                text(
                    "INSERT INTO repositories (id, name, url, created_at) "
                    "VALUES (:id, :name, :url, :now)"
                ),
                {"id": id_, "name": name, "url": url, "now": now},
            )
        for id_, repository, sha in [
            (1, 1, "a" * 40),
            (2, 2, "a" * 40),
            (3, 2, "b" * 40),
            (4, 4, "c" * 40),
        ]:
            connection.execute(
                text(
                    "INSERT INTO mergesets (id, repository_id, sha, merged_at, merged_at_source, "
                    "source, created_at) VALUES (:id, :repo, :sha, :now, 'commit', 'api', :now)"
                ),
                {"id": id_, "repo": repository, "sha": sha, "now": now},
            )
    db.upgrade(engine)
    with engine.connect() as connection:
        repositories = connection.execute(
            text("SELECT id, key FROM repositories ORDER BY id")
        ).all()
        mergesets = connection.execute(
            text("SELECT repository_id, sha FROM mergesets ORDER BY sha")
        ).all()
    assert repositories == [(1, "github.com/acme/shop"), (3, "github.com/acme/cart")]
    assert mergesets == [(1, "a" * 40), (1, "b" * 40), (1, "c" * 40)]
    engine.dispose()
