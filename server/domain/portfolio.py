"""Every repository on one page: per repository its delivery numbers over a window, DORA's keys
with their tiers (domain/dora.py), and the weekly p50 of its lead time over the last weeks,
sorted by what needs attention first: most keys in the low tier, then the largest share of
mergesets over budget, then the most mergesets waiting, then by name.

Names are as people say them: `owner/name` from a URL (without `.git`), with the host in front
only where two repositories of different hosts would read the same; a repository known only by
a name keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.dora import DoraReport, dora_report
from leadtime.server.domain.dora_tiers import LOW
from leadtime.server.domain.lead_time import Summary, repository_summary
from leadtime.server.domain.stats import percentile
from leadtime.server.domain.trends import WEEK, WEEKS_SHOWN, weekly_lead_times
from leadtime.server.models import Repository
from leadtime.server.settings import Settings


@dataclass(frozen=True)
class RepositoryRow:
    repository: Repository
    name: str  # as people say it (short_names)
    summary: Summary
    dora: DoraReport
    weekly_p50: list[float | None]  # lead time p50 (seconds) per week, oldest first

    @property
    def low_keys(self) -> int:
        return sum(key.tier == LOW for key in self.dora.keys)


def _path_and_host(repository: Repository) -> tuple[str, str | None]:
    if not repository.url:
        return repository.name, None
    parts = urlsplit(repository.url)
    return parts.path.strip("/").removesuffix(".git"), parts.hostname


def short_names(repositories: list[Repository]) -> dict[int, str]:
    """Each repository's name as people say it: `owner/name`, `host/owner/name` where two hosts
    hold the same `owner/name`."""
    paths = {r.id: _path_and_host(r) for r in repositories}
    hosts: dict[str, set[str | None]] = {}
    for path, host in paths.values():
        hosts.setdefault(path.lower(), set()).add(host)
    return {
        repository_id: f"{host}/{path}" if host and len(hosts[path.lower()]) > 1 else path
        for repository_id, (path, host) in paths.items()
    }


def weekly_lead_time_p50(
    session: Session, repository_id: int, environment: str, now: datetime, weeks: int
) -> list[float | None]:
    """The p50 of merge -> production of the mergesets each week's deploys shipped, for the
    last `weeks` weeks ending now, oldest first; None for a week that shipped nothing."""
    pairs = store.lead_time_pairs(session, repository_id, environment, now - weeks * WEEK, now)
    return [percentile(values, 0.5) for values in weekly_lead_times(pairs, now, weeks)]


def _attention(row: RepositoryRow) -> tuple:
    return (
        -row.low_keys,
        -(row.summary.share_over_budget or 0.0),
        -row.summary.mergesets_waiting,
        row.name.lower(),
    )


def repository_rows(
    session: Session, settings: Settings, now: datetime, window: timedelta
) -> list[RepositoryRow]:
    repositories = store.repositories(session)
    names = short_names(repositories)
    rows = [
        RepositoryRow(
            repository=repository,
            name=names[repository.id],
            summary=repository_summary(
                session, settings, now, window, repository=repository.display_name
            ),
            dora=dora_report(session, settings, now, window, repository=repository.display_name),
            weekly_p50=weekly_lead_time_p50(
                session, repository.id, settings.production_environment, now, WEEKS_SHOWN
            ),
        )
        for repository in repositories
    ]
    return sorted(rows, key=_attention)
