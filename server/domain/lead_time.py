"""Lead time, batching and the budget, per mergeset and per repository.

- Lead time of a mergeset: `finished_at` of the first successful deploy to the production
  environment (LEADTIME_PRODUCTION_ENVIRONMENT, default `production`) that contains it, minus its
  `merged_at`. A mergeset no such deploy contains has none, and shows how long it has waited.
  Everywhere it is shown it says what it spans: merge -> production.
- Change lead time (DORA's): the same deploy's `finished_at` minus the first commit of the branch
  the mergeset merged (`first_commit_at`, where git told: a merge commit's second parent); none
  for squash and rebase merges, context, or a branch start after the merge (a wrong clock).
- Batched: a deploy containing more than one mergeset; each of its mergesets is flagged too.
- Over budget: lead time above the repository's budget (default 15 minutes,
  LEADTIME_BUDGET_MINUTES, or the repository's own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.stats import percentile
from leadtime.server.models import Mergeset, Repository
from leadtime.server.settings import Settings

BATCHED_ABOVE = 1  # mergesets per deploy: the target is one


@dataclass(frozen=True)
class MergesetReport:
    sha: str
    repository: str
    merged_at: datetime
    merged_at_source: str
    author: str | None
    title: str | None
    deployed_at: datetime | None
    deploy_id: int | None
    lead_time: timedelta | None
    waiting: timedelta | None
    context: bool  # history from before the adoption point: never counted
    batched: bool
    over_budget: bool
    budget: timedelta
    pr_number: int | None
    pr_title: str | None
    pr_author: str | None
    pr_url: str | None
    reverts: str | None = None  # the sha of the mergeset this one reverts
    first_commit_at: datetime | None = None  # when the branch it merged began
    # DORA's change lead time: from that first commit to production (None when either is unknown)
    change_lead_time: timedelta | None = None


@dataclass(frozen=True)
class Summary:
    window: timedelta
    deploys: int
    deploys_per_day: float
    mergesets_deployed: int
    lead_time_median: timedelta | None
    lead_time_p90: timedelta | None
    share_over_budget: float | None
    share_batched_deploys: float | None
    mergesets_waiting: int
    longest_wait: timedelta | None
    measured_since: datetime | None = None  # the adoption point
    change_lead_time_median: timedelta | None = None  # first commit -> production


def assess(
    merged_at: datetime,
    deployed_at: datetime | None,
    deploy_size: int,
    budget: timedelta,
    now: datetime,
) -> tuple[timedelta | None, timedelta | None, bool, bool]:
    """(lead time, waiting, batched, over budget) of one mergeset."""
    if deployed_at is None:
        waiting = now - merged_at
        return None, waiting, False, waiting > budget
    lead_time = deployed_at - merged_at
    return lead_time, None, deploy_size > BATCHED_ABOVE, lead_time > budget


def summarize(
    lead_times: list[timedelta],
    over_budget: list[bool],
    deploy_sizes: list[int],
    waiting: tuple[int, timedelta | None],
    window: timedelta,
) -> Summary:
    """The summary's figures; `waiting` is (how many mergesets wait, the longest wait)."""
    seconds = [lead_time.total_seconds() for lead_time in lead_times]
    median, p90 = percentile(seconds, 0.5), percentile(seconds, 0.9)
    return Summary(
        window=window,
        deploys=len(deploy_sizes),
        deploys_per_day=len(deploy_sizes) / (window.total_seconds() / 86400),
        mergesets_deployed=len(lead_times),
        lead_time_median=None if median is None else timedelta(seconds=median),
        lead_time_p90=None if p90 is None else timedelta(seconds=p90),
        share_over_budget=sum(over_budget) / len(over_budget) if over_budget else None,
        share_batched_deploys=(
            sum(size > BATCHED_ABOVE for size in deploy_sizes) / len(deploy_sizes)
            if deploy_sizes
            else None
        ),
        mergesets_waiting=waiting[0],
        longest_wait=waiting[1],
    )


def budget_of(repository: Repository, settings: Settings) -> timedelta:
    return _budget(repository.budget_seconds, settings)


def _budget(budget_seconds: float | None, settings: Settings) -> timedelta:
    """A repository's own budget where it has one, else the default."""
    if budget_seconds is not None:
        return timedelta(seconds=budget_seconds)
    return settings.default_budget


def change_lead_time(
    merged_at: datetime, first_commit_at: datetime | None, deployed_at: datetime | None
) -> timedelta | None:
    """First commit -> production, for a deployed mergeset whose branch start is known (and not
    after its merge: clocks can be wrong)."""
    start = first_commit_at
    if deployed_at is None or start is None or start > merged_at:
        return None
    return deployed_at - start


def _reports(
    session: Session, rows: list[tuple[Mergeset, Repository]], settings: Settings, now: datetime
) -> list[MergesetReport]:
    shipped = store.production_deploys_of(
        session, [m.id for m, _ in rows], settings.production_environment
    )
    reverted = store.shas_by_id(session, [m.reverts_id for m, _ in rows if m.reverts_id])
    reports = []
    for mergeset, repository in rows:
        deploy, size = shipped.get(mergeset.id, (None, 0))
        budget = budget_of(repository, settings)
        deployed_at = deploy.finished_at if deploy else None
        lead_time, waiting, batched, over = assess(
            mergeset.merged_at, deployed_at, size, budget, now
        )
        if mergeset.context:
            lead_time, waiting, batched, over = None, None, False, False
        reports.append(
            MergesetReport(
                sha=mergeset.sha,
                repository=repository.display_name,
                merged_at=mergeset.merged_at,
                merged_at_source=mergeset.merged_at_source,
                author=mergeset.author,
                title=mergeset.title,
                deployed_at=deployed_at,
                deploy_id=deploy.id if deploy else None,
                lead_time=lead_time,
                waiting=waiting,
                context=mergeset.context,
                batched=batched,
                over_budget=over,
                budget=budget,
                pr_number=mergeset.pr_number,
                pr_title=mergeset.pr_title,
                pr_author=mergeset.pr_author,
                pr_url=mergeset.pr_url,
                reverts=reverted.get(mergeset.reverts_id) if mergeset.reverts_id else None,
                first_commit_at=mergeset.first_commit_at,
                change_lead_time=(
                    None
                    if lead_time is None
                    else change_lead_time(mergeset.merged_at, mergeset.first_commit_at, deployed_at)
                ),
            )
        )
    return reports


def list_mergesets(
    session: Session,
    settings: Settings,
    now: datetime,
    repository: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    sha: str | None = None,
) -> list[MergesetReport]:
    """Mergesets newest first, with their lead time or how long they have waited."""
    repository_id = store.find_repository(session, repository).id if repository else None
    rows = store.mergesets_newest_first(session, repository_id, sha, since, until, limit)
    return _reports(session, rows, settings, now)


def repository_summary(
    session: Session,
    settings: Settings,
    now: datetime,
    window: timedelta,
    repository: str | None = None,
) -> Summary:
    """Deploy frequency, lead time median and p90, share over budget, share of batched deploys
    (production, deploys finished in the window) and mergesets still waiting."""
    since = now - window
    environment = settings.production_environment
    repository_id = store.find_repository(session, repository).id if repository else None

    shipped = store.shipped_since(session, environment, since, repository_id)
    lead_times = [row.deployed_at - row.merged_at for row in shipped]
    count, oldest = store.waiting_count_and_oldest(session, environment, repository_id)
    summary = summarize(
        lead_times,
        [
            lead_time > _budget(row.budget_seconds, settings)
            for lead_time, row in zip(lead_times, shipped, strict=True)
        ],
        store.deploy_sizes(session, environment, since, repository_id),
        (count, now - oldest if oldest is not None else None),
        window,
    )
    changes = [
        change.total_seconds()
        for row in shipped
        if (change := change_lead_time(row.merged_at, row.first_commit_at, row.deployed_at))
        is not None
    ]
    change_median = percentile(changes, 0.5)
    return replace(
        summary,
        measured_since=store.adopted_at(session, repository_id),
        change_lead_time_median=None if change_median is None else timedelta(seconds=change_median),
    )


def shipped_and_waiting(
    session: Session, settings: Settings, now: datetime
) -> tuple[list[MergesetReport], list[MergesetReport]]:
    """Every mergeset a production deploy shipped, and every one still waiting, over the whole
    history: what /metrics counts, with the same reports as /api/mergesets."""
    environment = settings.production_environment
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    shipped = _reports(
        session, store.deployed_mergesets(session, environment, epoch, None), settings, now
    )
    waiting = _reports(session, store.waiting_mergesets(session, environment, None), settings, now)
    return shipped, waiting
