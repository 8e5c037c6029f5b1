"""One repository where there were two: a repository first known only by a name (`acme/shop`,
from an API client or a span without a URL) is merged into the one its URL names when that URL
shows up. Its mergesets (with their pull request facts), deploys, pipeline runs, pages, alerts
and deploy rules move over; a mergeset both know is kept once, with the better facts. The caller
works out the survivor's containment again."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from leadtime.server.models import (
    Alert,
    Deploy,
    DeployMergeset,
    Mergeset,
    Page,
    PipelineRun,
    Repository,
)
from leadtime.server.store.deploy_rules import move_deploy_rules
from leadtime.server.store.mergesets import upsert_mergeset
from leadtime.server.store.repositories import lock_repositories
from leadtime.server.store.step_days import move_step_days

MERGESET_FACTS = (
    "sha",
    "parent_sha",
    "merged_at",
    "merged_at_source",
    "source",
    "author",
    "title",
    "pr_number",
    "pr_title",
    "pr_author",
    "pr_url",
    "pr_merged_by",
)
OWN_SETTINGS = ("budget_seconds", "target_seconds", "alerting")


def merge_repository(session: Session, survivor: Repository, gone: Repository) -> None:
    """Move everything of `gone` to `survivor`, then delete `gone`."""
    lock_repositories(session, [survivor.id, gone.id])
    _merge_mergesets(session, survivor.id, gone.id)
    for model in (Deploy, PipelineRun, Page):
        session.execute(
            update(model)
            .where(model.repository_id == gone.id)
            .values(repository_id=survivor.id)
            .execution_options(synchronize_session=False)
        )
    # An open alert's key names its repository: the next evaluation opens it on the survivor.
    session.execute(
        update(Alert)
        .where(Alert.repository_id == gone.id)
        .values(repository_id=survivor.id, open_key=None, status="resolved")
        .execution_options(synchronize_session=False)
    )
    move_deploy_rules(session, survivor.id, gone.id)
    move_step_days(session, survivor.id, gone.id)
    for name in OWN_SETTINGS:
        if getattr(survivor, name) is None:
            setattr(survivor, name, getattr(gone, name))
    if gone.adopted_at and (survivor.adopted_at is None or gone.adopted_at < survivor.adopted_at):
        survivor.adopted_at = gone.adopted_at
    session.flush()
    session.execute(delete(Repository).where(Repository.id == gone.id))
    session.expunge(gone)


def _merge_mergesets(session: Session, survivor_id: int, gone_id: int) -> None:
    known = set(session.scalars(select(Mergeset.sha).where(Mergeset.repository_id == survivor_id)))
    moving = list(session.scalars(select(Mergeset).where(Mergeset.repository_id == gone_id)))
    # Containment is worked out again for the survivor: the old links go.
    session.execute(
        delete(DeployMergeset).where(DeployMergeset.mergeset_id.in_([m.id for m in moving]))
    )
    for mergeset in moving:
        if mergeset.sha in known:
            upsert_mergeset(
                session, survivor_id, {name: getattr(mergeset, name) for name in MERGESET_FACTS}
            )
            session.delete(mergeset)
        else:
            mergeset.repository_id = survivor_id
    session.flush()
