"""The one family of facts every ingest module produces: bytes in (OTLP, a forge's webhook, a
pager's webhook, a REST body), these out. `recording` stores them; nothing below the domain sees
them (the store takes plain column values, `columns()` below).

A fact says what its source said, no more: a repository by URL or by name, times as UTC-aware
datetimes, results in the CI/CD semantic conventions' words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RepoRef:
    """A repository as a source names it: its URL, its name (`owner/name` or a bare name), or
    neither."""

    url: str | None = None
    name: str | None = None

    @property
    def known(self) -> bool:
        return bool(self.url or self.name)


NO_REPO = RepoRef()


@dataclass
class RunFact:
    """A pipeline run (one trace): its times span all its steps."""

    trace_id: str
    started_at: datetime
    finished_at: datetime
    repo: RepoRef = NO_REPO
    provider: str | None = None
    run_id: str | None = None
    attempt: str | None = None
    name: str | None = None
    branch: str | None = None
    sha: str | None = None
    url: str | None = None
    result: str | None = None
    # The run-level keys (ingest/traces.RUN_KEYS) as its first span with each gave them.
    attributes: dict = field(default_factory=dict)

    def columns(self) -> dict:
        return {name: value for name, value in vars(self).items() if name != "repo"}


@dataclass(frozen=True)
class MergesetFact:
    """One commit on a main branch's first-parent chain, with what its source knows of it; the
    pull request's fields where a forge said."""

    repo: RepoRef
    sha: str
    merged_at: datetime
    merged_at_source: str  # see MERGED_AT_QUALITY in store/mergesets.py
    source: str
    parent_sha: str | None = None
    author: str | None = None
    title: str | None = None
    first_commit_at: datetime | None = None  # when the branch it merged began
    pr_number: int | None = None
    pr_title: str | None = None
    pr_author: str | None = None
    pr_url: str | None = None
    pr_merged_by: str | None = None

    def columns(self) -> dict:
        return {name: value for name, value in vars(self).items() if name != "repo"}


@dataclass(frozen=True)
class DeployFact:
    """One report of a deploy: it may come again later with a newer status."""

    repo: RepoRef
    source: str
    service: str
    environment: str
    sha: str
    status: str
    external_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    listed_shas: list[str] | None = None  # what the reporter says it shipped, where it says
    # The history the deploy sent was cut short (a shallow clone, the limit, none at all); None:
    # the source sends no history (REST, forges).
    history_cut: bool | None = None

    def columns(self) -> dict:
        return {name: value for name, value in vars(self).items() if name != "repo"}


@dataclass(frozen=True)
class DeployCandidate:
    """A span of a run that marks no deploy: a deploy if a deploy rule of its repository names
    it (one of `names`: its span name, its job name), and no span inside it is named too."""

    names: tuple[str, ...]
    ancestors: tuple[str, ...]  # the span ids above it in its trace, nearest first
    deploy: DeployFact  # its environment is the rule's


@dataclass(frozen=True)
class PageFact:
    """One event on a page (triggered, acknowledged, resolved ...)."""

    source: str
    external_id: str
    action: str
    at: datetime  # when this happened
    triggered_at: datetime | None = None  # when the page itself triggered, where the event says
    pager_service: str | None = None
    title: str | None = None
    urgency: str | None = None
    team: str | None = None
    url: str | None = None


TRIGGER, ACKNOWLEDGE, UNACKNOWLEDGE, RESOLVE, REOPEN, UPDATE = (
    "trigger",
    "acknowledge",
    "unacknowledge",
    "resolve",
    "reopen",
    "update",
)


@dataclass
class Facts:
    """Everything one delivery told: steps are Step rows (column values) of its runs."""

    steps: list[dict] = field(default_factory=list)
    runs: list[RunFact] = field(default_factory=list)
    mergesets: list[MergesetFact] = field(default_factory=list)
    deploys: list[DeployFact] = field(default_factory=list)
    pages: list[PageFact] = field(default_factory=list)
    deploy_candidates: list[DeployCandidate] = field(default_factory=list)

    def count(self) -> int:
        """How many runs, mergesets, deploys and pages (not steps) it holds."""
        return len(self.runs) + len(self.mergesets) + len(self.deploys) + len(self.pages)
