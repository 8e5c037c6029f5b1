"""Deploy rules: where an emitter marks no deploy (the collector's GitHub receiver, a Jenkins
pipeline without `deployment.environment.name`), a repository says which jobs deploy where.

A rule is a job-name glob (`deploy-prod*`, shell-style, letter case ignored) and an
environment. A span of a run that marks no deploy is a deploy to that environment when its span
name or its job name (`cicd.pipeline.task.name`) fits the glob and no span inside it fits one
too: the innermost match is the deploy, so a `deploy-production` job and its `Deploy` step are
one deploy, not two. The first rule (oldest) that fits wins.
"""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.ingest.facts import DeployCandidate, DeployFact, RepoRef
from leadtime.server.models import DeployRule, Repository


def fits(rule: DeployRule, names: tuple[str, ...]) -> bool:
    pattern = rule.job.lower()
    return any(fnmatchcase(name.lower(), pattern) for name in names)


def _environment(rules: list[DeployRule], names: tuple[str, ...]) -> str | None:
    return next((rule.environment for rule in rules if fits(rule, names)), None)


def ruled_deploys(
    session: Session,
    candidates: list[DeployCandidate],
    repositories: dict[RepoRef, Repository | None],
) -> list[DeployFact]:
    """The candidates a deploy rule of their repository names, innermost only."""
    if not candidates:
        return []
    ids = {row.id for ref in {c.deploy.repo for c in candidates} if (row := repositories[ref])}
    rules = store.deploy_rules_of(session, sorted(ids))
    if not rules:
        return []
    matched: list[tuple[DeployCandidate, str]] = []
    for candidate in candidates:
        repository = repositories[candidate.deploy.repo]
        environment = repository and _environment(rules.get(repository.id, []), candidate.names)
        if environment:
            matched.append((candidate, environment))
    outer = {(c.deploy.trace_id, above) for c, _ in matched for above in c.ancestors}
    return [
        replace(candidate.deploy, environment=environment)
        for candidate, environment in matched
        if (candidate.deploy.trace_id, candidate.deploy.span_id) not in outer
    ]
