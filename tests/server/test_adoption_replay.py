"""Adoption replayed as a team lives it, through the real CLI in a real checkout with the
variables a GitHub Actions runner sets: 300 commits of history before leadtime, then 40
mergesets of every kind (merge commits, squash and rebase merges, direct pushes) deployed to
staging and production, with a REST merge by `Owner/Name` in another letter case before any
span, a failed deploy and its re-run, a redeploy of the same sha, a rollback, a tag-triggered
deploy, a deploy from a shallow clone and one outside any checkout.

The truth comes from plain git alone: a successful deploy to an environment ships every commit
on its sha's first-parent chain (`git rev-list --first-parent`) after the adoption point that no
earlier successful deploy to that environment shipped; a lead time is the deploy's finish minus
the commit's committer time (`git log --format=%ct`)."""

from __future__ import annotations

import statistics
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import run_leadtime
from tests.gitrepos import History, plain_committed_at, plain_git
from tests.server.conftest import count_rows
from tests.server.live import ci_env

PAST_COMMITS = 300
REPO = "https://github.com/acme/shop"


class Team:
    """One repository's CI, run for real: tests on main, deploys from a full checkout, a tag,
    a shallow clone or no checkout at all."""

    def __init__(self, history: History, url: str, tmp_path) -> None:
        self.history, self.url, self.tmp_path, self.runs = history, url, tmp_path, 0
        self.deploys: list[tuple[str, str, bool]] = []  # (environment, sha, succeeded)

    def _run(self, args: list[str], sha: str, cwd, **variables: str) -> int:
        self.runs += 1
        env = ci_env(self.tmp_path, self.url, self.runs, sha) | variables
        done = run_leadtime(args, env, cwd=cwd)
        return done.returncode

    def test(self, sha: str) -> None:
        self.history.checkout(sha)
        assert self._run(["step", "test", "--", "true"], sha, self.history.path) == 0

    def deploy(self, sha: str, environment: str = "production", succeed: bool = True, **how):
        cwd = how.pop("cwd", None)
        if cwd is None:
            self.history.checkout(how.pop("tag", sha))
        args = ["deploy", environment, "--service", "shop", "--", "true" if succeed else "false"]
        code = self._run(args, sha, cwd or self.history.path, **how)
        assert code == (0 if succeed else 1)
        self.deploys.append((environment, sha, succeed))


def merge_now(history: History, kind: str, name: str) -> str:
    """One mergeset of `kind`, committed seconds ago (so lead times are minutes) and after the
    one before."""
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    history.clock = max(recent, history.clock + timedelta(seconds=1))  # never two at one time
    history.repo.git.checkout("main")
    if kind == "merge":
        return history.merge(name)
    if kind == "squash":
        return history.squash(name)
    if kind == "rebase":
        return history.fast_forward(name)
    return history.direct_pushes(1)[0]


def truth(history: History, deploys: list[tuple[str, str, bool]], past: set[str]):
    """Plain git's answer: what each successful deploy ships, in order, per environment."""
    shipped: dict[str, set[str]] = {}
    contents = []
    for environment, sha, succeeded in deploys:
        if not succeeded:
            contents.append([])
            continue
        chain = plain_git(history.path, "rev-list", "--first-parent", "--reverse", sha)
        done = shipped.setdefault(environment, set())
        new = [c for c in chain if c not in past and c not in done]
        done.update(new)
        contents.append(new)
    return contents


def test_a_year_of_adoption_replayed_matches_plain_git(served, engine, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(tmp_path / "shop", start=now - timedelta(days=300), tick=timedelta(hours=6))
    history.tick = timedelta(hours=6)
    history.direct_pushes(PAST_COMMITS)
    past = set(plain_git(history.path, "rev-list", "main"))
    history.tick = timedelta(seconds=1)
    team = Team(history, served, tmp_path)
    client = httpx.Client(base_url=served, timeout=30)
    kinds = ["merge", "squash", "rebase", "push"]
    made: list[str] = []

    def merges(count: int, tested: bool = True) -> list[str]:
        shas = [merge_now(history, kinds[len(made) % 4], f"f{len(made) + i}") for i in range(count)]
        for sha in shas:
            made.append(sha)
            if tested:
                team.test(sha)
        return shas

    # Before any span: the first merge reported by a bot, as `Owner/Name` in another case.
    first = merge_now(history, "merge", "f-first")
    made.append(first)
    merged_at = plain_committed_at(history.path, first).isoformat()
    body = {"repository": "Acme/Shop", "sha": first, "merged_at": merged_at, "pr_number": 1}
    assert client.post("/api/merges", json=body).status_code == 200
    team.test(first)
    team.deploy(first, "staging")
    team.deploy(first)

    team.deploy(merges(3)[-1], succeed=False)  # a failed deploy ships nothing
    team.deploy(made[-1])  # its re-run ships the three
    team.deploy(made[-1])  # the same sha again: a redeploy
    before_rollback = made[-1]
    team.deploy(merges(2)[-1], "staging")
    team.deploy(made[-1])
    rolled_back = made[-1]
    team.deploy(before_rollback)  # a rollback to the previous sha

    tagged = merges(5, tested=False)[-1]  # released by a tag, no main-branch pipeline
    history.tag("v2.0.0")
    team.deploy(
        tagged,
        tag="v2.0.0",
        GITHUB_REF="refs/tags/v2.0.0",
        GITHUB_REF_NAME="v2.0.0",
        GITHUB_REF_TYPE="tag",
    )

    shallow = tmp_path / "shallow"
    head = merges(2)[-1]
    history.repo.git.checkout("main")
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", f"file://{history.path}", str(shallow)], check=True
    )
    team.deploy(head, cwd=shallow)
    outside = tmp_path / "outside"
    outside.mkdir()
    team.deploy(merges(1)[-1], cwd=outside)
    # Neither one's own history reaches the previous deploy, and nothing known links them yet.
    latest = client.get("/api/deploys", params={"limit": 2}).json()
    assert [d["history"] for d in latest] == ["incomplete", "incomplete"]

    while len(made) < 40:  # the rest of the month: small batches, each deployed
        team.deploy(merges(min(2, 40 - len(made)))[-1])
    team.deploy(made[-1], "staging")

    deploys = client.get("/api/deploys", params={"limit": 100}).json()[::-1]
    assert [(d["environment"], d["sha"]) for d in deploys] == [(e, s) for e, s, _ in team.deploys]
    expected = truth(history, team.deploys, past)
    for deploy, shas in zip(deploys, expected, strict=True):
        assert [m["sha"] for m in deploy["mergesets"]] == shas, deploy["id"]
    kinds_seen = [d["kind"] for d in deploys if d["environment"] == "production"]
    assert kinds_seen.count("redeploy") == 1 and kinds_seen.count("rollback") == 1
    rolled = [d for d in deploys if d["rolled_back_by"]]
    assert [(d["environment"], d["sha"]) for d in rolled] == [("production", rolled_back)]
    assert [d["status"] for d in deploys].count("failed") == 1
    # Later deploys' history linked them to what came before: established now.
    assert all(d["history"] == "complete" for d in deploys)

    # One repository, whatever name and letter case it was first known by.
    assert count_rows(engine)["repositories"] == 1
    mergesets = {m["sha"]: m for m in client.get("/api/mergesets", params={"limit": 1000}).json()}
    assert mergesets[first]["pr_number"] == 1 and mergesets[first]["repository"] == REPO
    lead_times = []
    for deploy, shas in zip(deploys, expected, strict=True):
        if deploy["environment"] != "production":
            continue
        finished = datetime.fromisoformat(deploy["finished_at"])
        for sha in shas:
            true = (finished - plain_committed_at(history.path, sha)).total_seconds()
            assert mergesets[sha]["lead_time_seconds"] == pytest.approx(true, abs=1e-3), sha
            lead_times.append(true)
    assert len(lead_times) == 40 and set(made) == {m for shas in expected for m in shas}
    assert all(mergesets[sha]["context"] for sha in mergesets if sha in past)

    summary = client.get("/api/summary", params={"repo": "ACME/shop", "window": "365d"}).json()
    assert summary["mergesets_deployed"] == 40 and summary["mergesets_waiting"] == 0
    assert summary["lead_time_median_seconds"] == pytest.approx(
        statistics.median(lead_times), abs=1e-3
    )
    assert datetime.fromisoformat(summary["measured_since"]) == plain_committed_at(
        history.path, first
    )
    target = {"repository": "acme/shop", "target_seconds": 900}
    assert client.post("/api/targets", json=target).status_code == 200
    check = client.post("/api/alerts/check").json()
    assert (check["fired"], check["firing"]) == (0, [])
