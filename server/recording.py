"""Record what arrives (spans, merges, deploys, pages: one family of facts, ingest/facts.py) in
the request's transaction, then work out again what depends on it: a new mergeset or deploy can
change which deploy shipped what, and which deploy is a page's suspect. Nothing here commits:
the unit of work ends where the request or the job does (db.unit_of_work)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import people, suspects
from leadtime.server.domain.chain import deploys_move_adoption, place_mergesets
from leadtime.server.domain.deploy_rules import ruled_deploys
from leadtime.server.domain.run_join import join_runs
from leadtime.server.domain.run_summaries import summarize_runs
from leadtime.server.domain.shipping import recompute_repository, update_containment
from leadtime.server.domain.step_days import days_changed
from leadtime.server.ingest.facts import (
    ACKNOWLEDGE,
    REOPEN,
    RESOLVE,
    UNACKNOWLEDGE,
    DeployFact,
    Facts,
    MergesetFact,
    PageFact,
    RepoRef,
)
from leadtime.server.models import Deploy, Page, Repository
from leadtime.server.settings import Settings
from leadtime.server.store.deploys import DeployState
from leadtime.server.store.shipping import SUCCEEDED, DeployKey


class _Changes:
    """What a delivery changed that containment depends on, worked out once at its end: whole
    repositories, mergesets to place after the others, and environments from a deploy point on
    (domain/shipping.py)."""

    def __init__(self) -> None:
        self.repositories: set[int] = set()
        self.mergesets: dict[int, set[str]] = {}
        self.deployed: dict[int, set[str]] = {}  # the shas of successful deploys stored
        self.environments: dict[tuple[int, str], DeployKey] = {}

    def from_point(self, repository_id: int, environment: str, point: DeployKey) -> None:
        key = (repository_id, environment)
        earlier = self.environments.get(key)
        self.environments[key] = point if earlier is None else min(earlier, point)

    def deploy(self, row: Deploy, before: DeployState | None) -> None:
        """A deploy stored or changed: from its point on, and from where it was before."""
        if row.repository_id is None:
            return
        if before is not None and before.status == SUCCEEDED:
            if before.sha != row.sha or row.status != SUCCEEDED:
                self.repositories.add(row.repository_id)  # a deployed sha may stop being one
            if before.finished_at is not None:
                self.from_point(row.repository_id, before.environment, (before.finished_at, row.id))
        if row.status == SUCCEEDED and row.finished_at is not None:
            self.from_point(row.repository_id, row.environment, (row.finished_at, row.id))
            self.deployed.setdefault(row.repository_id, set()).add(row.sha)

    def apply(self, session: Session) -> None:
        for repository_id, shas in self.mergesets.items():
            if repository_id in self.repositories:
                continue
            touched = place_mergesets(session, repository_id, shas)
            if touched is None:
                self.repositories.add(repository_id)
            for environment, point in touched or ():
                self.from_point(repository_id, environment, point)
        for repository_id, shas in self.deployed.items():
            if deploys_move_adoption(session, repository_id, shas):
                self.repositories.add(repository_id)
        for repository_id in self.repositories:
            recompute_repository(session, repository_id)
        for (repository_id, environment), point in self.environments.items():
            if repository_id not in self.repositories:
                update_containment(session, repository_id, environment, point)


def _absorb_twins(session: Session, repository: Repository | None) -> bool:
    """Merge into a repository known by URL the ones made earlier from a name that names it;
    True when there were any (its containment is then worked out again)."""
    if repository is None or repository.url is None:
        return False
    twins = store.name_only_twins(session, repository)
    for twin in twins:
        store.merge_repository(session, repository, twin)
    return bool(twins)


def _repositories(
    session: Session, facts: Facts, changes: _Changes
) -> dict[RepoRef, Repository | None]:
    """The repository of every reference the facts make, created on first sight. A delivery
    that reports mergesets or deploys locks them (in id order) before anything is stored (see
    store.lock_repositories): their containment is worked out in turns. Runs and steps alone
    need no such turn (their runs' own locks join them: domain/run_join.py), so a feature
    branch's spans never wait for a merge or deploy of the repository. URLs come first, so a
    name in the same delivery finds the repository its URL named."""
    named = [item.repo for group in (facts.runs, facts.mergesets, facts.deploys) for item in group]
    named += [candidate.deploy.repo for candidate in facts.deploy_candidates]
    found: dict[RepoRef, Repository | None] = {}
    # URLs before names, each in one order: two writes that make the same new repositories
    # make them in the same order
    ordered = sorted(set(named), key=lambda ref: (ref.url is None, ref.url or "", ref.name or ""))
    for ref in ordered:
        repository: Repository | None
        if ref.url:  # the repository and its twins in one read
            repository, twins = store.repository_and_twins(session, ref.url)
            for twin in twins:
                store.merge_repository(session, repository, twin)
            if twins:
                changes.repositories.add(repository.id)
        else:
            repository = store.repository_for(session, None, ref.name)
            if repository is not None and _absorb_twins(session, repository):
                changes.repositories.add(repository.id)
        found[ref] = repository
    if facts.mergesets or facts.deploys or facts.deploy_candidates:
        store.lock_repositories(session, [row.id for row in found.values() if row])
    return found


def record_facts(session: Session, facts: Facts, settings: Settings) -> list[Page]:
    """Store one delivery's facts and what follows from them; the pages its events were on."""
    changes = _Changes()
    repositories = _repositories(session, facts, changes)
    join_runs(session, facts)  # after the repositories' locks, which it never waits for
    runs = [
        {**run.columns(), "repository_id": found.id if (found := repositories[run.repo]) else None}
        for run in facts.runs
    ]
    stored = store.run_starts(session, [run["trace_id"] for run in runs])
    changed_days = days_changed(runs, stored, datetime.now(UTC))
    store.insert_steps(session, facts.steps, store.upsert_pipeline_runs(session, runs))
    reported: dict[int, list[dict]] = {}
    for mergeset in facts.mergesets:
        found = repositories[mergeset.repo]
        if found:
            reported.setdefault(found.id, []).append(mergeset.columns())
    for repository_id, reports in reported.items():
        if shas := store.upsert_mergesets(session, repository_id, reports):
            changes.mergesets.setdefault(repository_id, set()).update(shas)
        _learn_people(session, repository_id, reports)
    # Deploys a repository's deploy rule names join the delivery's own (the caller sees them).
    facts.deploys.extend(ruled_deploys(session, facts.deploy_candidates, repositories))
    for deploy in facts.deploys:
        found = repositories[deploy.repo]
        row, changed, before = _store_deploy(session, deploy, found.id if found else None)
        if changed:
            changes.deploy(row, before)
            suspects.relink_after_deploy(session, row, settings)
    changes.apply(session)
    # Each run's step summary is kept as its steps arrive, so reports never write; the closed
    # days the runs started on (before and after this delivery) are rolled up again
    # (domain/step_days.py).
    trace_ids = [run.trace_id for run in facts.runs]
    delivered = _steps_of_new_runs(facts, stored)
    store.save_run_summaries(session, summarize_runs(session, trace_ids, delivered))
    store.mark_days_changed(session, changed_days)
    return [_record_page(session, fact, settings) for fact in facts.pages]


def _steps_of_new_runs(facts: Facts, stored: Mapping[str, object]) -> dict[str, list[dict]]:
    """The step rows of each run that was not stored before this delivery: nearly always its
    only steps (summarize_runs makes sure)."""
    new: dict[str, list[dict]] = {
        run.trace_id: [] for run in facts.runs if run.trace_id not in stored
    }
    for row in facts.steps:
        if (rows := new.get(row["trace_id"])) is not None:
            rows.append(row)
    return new


def reports_news(session: Session, deliveries: list[Facts]) -> list[bool]:
    """Whether each delivery reports a mergeset that would be news: one not stored yet, one a
    report knows better about, or one of a repository named by name only or with name-only
    twins to merge. The rest name mergesets stored as they report them, and storing their
    reports would change nothing: a stored mergeset is never removed, and a report that
    changes nothing of it now changes nothing of it later (upsert_mergesets only ever takes a
    better value, or a pull request's newer one), so this is read without the repository's
    lock. Every main-branch step's span reports its run's mergeset; all but the first find it
    stored."""
    urls = sorted({m.repo.url for facts in deliveries for m in facts.mergesets if m.repo.url})
    repositories = store.repositories_without_twins(session, urls) if urls else {}
    reports: dict[int, list[MergesetFact]] = {}
    for facts in deliveries:
        for mergeset in facts.mergesets:
            if found := repositories.get(mergeset.repo.url or ""):
                reports.setdefault(found.id, []).append(mergeset)
    known = {
        mergeset
        for repository_id, named in reports.items()
        for mergeset, stored in zip(
            named,
            store.reports_known(session, repository_id, [m.columns() for m in named]),
            strict=True,
        )
        if stored
    }
    return [any(m not in known for m in facts.mergesets) for facts in deliveries]


def _learn_people(session: Session, repository_id: int, reports: list[dict]) -> None:
    """A report naming a login or an author email may tie the two (domain/people.py)."""
    naming = {r["sha"] for r in reports if r.get("pr_author") or "@" in (r.get("author") or "")}
    if naming:
        people.learn_from_mergesets(session, repository_id, naming)


def record_deploy(
    session: Session, deploy: DeployFact, repository_reference: str | None, settings: Settings
) -> Deploy:
    """A deploy reported by an API client: its repository by URL, `owner/name` or name, or else
    the one its service was last deployed from."""
    if repository_reference:
        repository = store.resolve_repository(session, repository_reference, create=True)
    else:
        repository = store.repository_for_service(session, deploy.service)
    changes = _Changes()
    if _absorb_twins(session, repository):
        changes.repositories.add(repository.id)
    store.lock_repository(session, repository.id)
    row, changed, before = _store_deploy(session, deploy, repository.id)
    if changed:
        changes.deploy(row, before)
    changes.apply(session)
    suspects.relink_after_deploy(session, row, settings)
    return row


def _store_deploy(
    session: Session, deploy: DeployFact, repository_id: int | None
) -> tuple[Deploy, bool, DeployState | None]:
    values = {**deploy.columns(), "repository_id": repository_id}
    identity = store.deploy_identity(
        deploy.source,
        deploy.external_id,
        deploy.service,
        deploy.environment,
        deploy.sha,
        deploy.finished_at,
    )
    if not deploy.external_id and deploy.finished_at:
        waiting = store.open_deploy(session, deploy.service, deploy.environment, deploy.sha)
        if waiting is not None:
            waiting.identity = identity  # the in-progress report, now finished
            session.flush()
    return store.upsert_deploy(session, {**values, "identity": identity})


STATE_CHANGES = (ACKNOWLEDGE, UNACKNOWLEDGE, RESOLVE, REOPEN)


def _apply(page: Page, fact: PageFact) -> None:
    """One event on a page. Each is idempotent: the same delivery twice changes nothing. State
    only moves forward by the event's own time: an event older than the page's latest change of
    state (a late or replayed one) leaves the state as it is."""
    for name in ("title", "urgency", "team", "url"):
        if getattr(fact, name):
            setattr(page, name, getattr(fact, name))
    if fact.action == ACKNOWLEDGE and (
        page.acknowledged_at is None or fact.at < page.acknowledged_at
    ):
        page.acknowledged_at = fact.at
    if fact.action not in STATE_CHANGES or (page.state_at and fact.at < page.state_at):
        return
    if fact.action == ACKNOWLEDGE and page.status != "resolved":
        page.status = "acknowledged"
    elif fact.action == UNACKNOWLEDGE and page.status == "acknowledged":
        page.status = "triggered"
    elif fact.action == RESOLVE:
        page.status, page.resolved_at = "resolved", fact.at
    elif fact.action == REOPEN:
        page.status, page.resolved_at = "triggered", None
    page.state_at = fact.at


def _record_page(session: Session, fact: PageFact, settings: Settings) -> Page:
    """Store a page's event, match its service, and link it to its suspect deploy."""
    page = store.insert_page(
        session,
        {
            "source": fact.source,
            "external_id": fact.external_id,
            "pager_service": fact.pager_service or "unknown",
            "title": fact.title or "(untitled)",
            "status": "triggered",
            "triggered_at": fact.triggered_at or fact.at,
            "state_at": fact.triggered_at or fact.at,
            "link_state": suspects.AUTO,
        },
    )
    _apply(page, fact)
    if fact.pager_service and fact.pager_service != page.pager_service:
        page.pager_service = fact.pager_service
    suspects.match_service(session, page)
    session.flush()
    suspects.link_page(session, page, settings)
    return page


def record_backfill(
    session: Session, repository: Repository, facts: Facts, settings: Settings
) -> tuple[int, int]:
    """Store a repository's imported past (mergesets and deploys) in one go, so what depends on
    them is worked out once; how many mergesets and deploys were new. Idempotent: the same
    import again stores nothing new."""
    before = (
        store.count_mergesets(session, repository.id),
        store.count_deploys(session, repository.id),
    )
    record_facts(session, facts, settings)
    after = (
        store.count_mergesets(session, repository.id),
        store.count_deploys(session, repository.id),
    )
    return after[0] - before[0], after[1] - before[1]
