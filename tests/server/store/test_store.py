"""The store on a real database (SQLite, and PostgreSQL when configured): idempotent upserts,
better facts winning, repository resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server import store
from leadtime.server.errors import BadPayload, UnknownService
from tests.server.conftest import count_rows

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
REPO = "git@github.com:acme/shop.git"


def facts(sha: str, minutes: int, source: str = "commit", **extra) -> dict:
    """Mergeset columns as a report gives them."""
    return {
        "sha": sha,
        "merged_at": T0 + timedelta(minutes=minutes),
        "merged_at_source": source,
        "source": "test",
        **extra,
    }


def test_repository_is_one_row_per_normalized_url(session, engine):
    first = store.repository_for(session, REPO, None)
    again = store.repository_for(session, "https://github.com/acme/shop", "shop")
    session.commit()
    assert first.id == again.id
    assert (first.url, first.name) == ("https://github.com/acme/shop", "shop")
    assert store.resolve_repository(session, "acme/shop").id == first.id
    assert store.resolve_repository(session, "shop").id == first.id
    assert count_rows(engine)["repositories"] == 1


def test_ambiguous_and_unknown_repository_names_say_so(session):
    store.repository_for(session, "https://github.com/acme/shop", None)
    store.repository_for(session, "https://gitlab.com/other/shop", None)
    with pytest.raises(BadPayload, match="ambiguous"):
        store.resolve_repository(session, "shop")
    assert store.resolve_repository(session, "acme/shop").url == "https://github.com/acme/shop"
    assert store.resolve_repository(session, "ACME/shop").url == "https://github.com/acme/shop"
    with pytest.raises(UnknownService, match="no repository 'billing'"):
        store.find_repository(session, "billing")


def test_mergeset_is_stored_once_and_better_facts_win(session, engine):
    repository = store.repository_for(session, REPO, None)
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 5, "pipeline")) is True
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 5, "pipeline")) is False
    # a commit time beats a pipeline-start estimate, a PR merge time beats both
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 3, "commit")) is True
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 9, "pipeline")) is False
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 4, "merge")) is True
    assert store.upsert_mergeset(session, repository.id, facts("a" * 40, 1, "commit")) is False
    assert (
        store.upsert_mergeset(
            session, repository.id, facts("a" * 40, 1, "commit", parent_sha="b" * 40)
        )
        is True
    )
    session.commit()
    (row,) = store.mergesets_of(session, repository.id)
    assert (row.merged_at, row.merged_at_source, row.parent_sha) == (
        T0 + timedelta(minutes=4),
        "merge",
        "b" * 40,
    )
    assert count_rows(engine)["mergesets"] == 1


def test_deploy_identity_and_updates(session, engine):
    values = {
        "identity": store.deploy_identity("api", "rel-1", "shop", "production", "c" * 40, None),
        "source": "api",
        "external_id": "rel-1",
        "service": "shop",
        "environment": "production",
        "sha": "c" * 40,
        "status": "in_progress",
    }
    first, inserted, before = store.upsert_deploy(session, values)
    assert before is None  # new
    again, changed, before = store.upsert_deploy(session, values)
    assert inserted is True and changed is False and first.id == again.id
    done, changed, before = store.upsert_deploy(
        session, {**values, "status": "succeeded", "finished_at": T0}
    )
    session.commit()
    assert changed is True and done.id == first.id and done.finished_at == T0
    assert before == ("production", "c" * 40, "in_progress", None)  # what it was
    assert count_rows(engine)["deploys"] == 1
    assert store.deploy_identity("api", None, "shop", "production", "c" * 40, T0) == (
        "api:shop|production|" + "c" * 40 + "|2026-11-20T10:00:00+00:00"
    )
