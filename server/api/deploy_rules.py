"""`GET`/`PUT`/`DELETE /api/deploy-rules`: which jobs deploy where, for emitters that mark no
deploy (domain/deploy_rules.py). Changing a rule is an admin's; it applies to spans that arrive
after it."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server import store
from leadtime.server.api.deps import Admin, Reader, SessionDep
from leadtime.server.errors import NotFound
from leadtime.server.models import DeployRule, Repository
from leadtime.server.schemas import DeployRuleIn, DeployRuleOut

router = APIRouter(prefix="/api", tags=["deploys"])


def _out(repository: Repository, rule: DeployRule) -> DeployRuleOut:
    return DeployRuleOut(
        repository=repository.display_name, job=rule.job, environment=rule.environment
    )


@router.get("/deploy-rules", dependencies=[Reader], response_model=list[DeployRuleOut])
def get_deploy_rules(
    session: SessionDep,
    repo: str | None = Query(None, description="Repository URL, owner/name or name."),
) -> list[DeployRuleOut]:
    """Every repository's deploy rules (or one's), oldest first: the first that fits wins."""
    repositories = [store.find_repository(session, repo)] if repo else store.repositories(session)
    rules = store.deploy_rules_of(session, [r.id for r in repositories])
    return [_out(r, rule) for r in repositories for rule in rules.get(r.id, [])]


@router.put("/deploy-rules", dependencies=[Admin], response_model=DeployRuleOut)
def put_deploy_rule(rule: DeployRuleIn, session: SessionDep) -> DeployRuleOut:
    """Spans of this repository whose name or job name fits `job` deploy to `environment`. The
    repository may be one nobody has sent anything for yet."""
    repository = store.resolve_repository(session, rule.repository, create=True)
    return _out(
        repository, store.set_deploy_rule(session, repository.id, rule.job, rule.environment)
    )


@router.delete("/deploy-rules", dependencies=[Admin], status_code=204)
def delete_deploy_rule(
    session: SessionDep,
    repo: str = Query(description="Repository URL, owner/name or name."),
    job: str = Query(description="The rule's job glob, as it was set."),
) -> None:
    """Remove a rule; deploys it named stay."""
    repository = store.find_repository(session, repo)
    if not store.delete_deploy_rule(session, repository.id, job):
        raise NotFound(f"{repository.display_name} has no deploy rule for {job!r}")
