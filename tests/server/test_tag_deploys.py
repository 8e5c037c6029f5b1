"""A deploy triggered by a tag (GitHub's `refs/tags/...`, GitLab's CI_COMMIT_TAG ...) ships every
mergeset up to the tagged commit the first time, though no main-branch pipeline ran for them.
Truth from plain git."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import run_leadtime
from tests.gitrepos import History, first_parent_between
from tests.server.live import Pipeline, ci_env


def tag_deploy(history: History, url: str, tmp_path, tag: str) -> None:
    sha = history.repo.commit(tag).hexsha
    history.checkout(tag)
    env = ci_env(tmp_path, url, 500, sha)
    env.update(GITHUB_REF=f"refs/tags/{tag}", GITHUB_REF_NAME=tag, GITHUB_REF_TYPE="tag")
    args = ["deploy", "production", "--service", "shop", "--", "true"]
    done = run_leadtime(args, env, cwd=history.path)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def test_a_tag_deploy_ships_everything_up_to_the_tag_the_first_time(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(tmp_path / "repo", start=now - timedelta(hours=2))
    pipeline = Pipeline(history, served, tmp_path)
    first = history.merge("feature-a")
    pipeline.test(first)
    pipeline.deploy(first)
    # Five merges with no main-branch pipeline at all: only the release tag deploys them.
    history.merge("feature-b")
    history.squash("feature-c")
    history.fast_forward("feature-d")
    history.merge("feature-e")
    tagged = history.merge("feature-f")
    history.tag("v2.0.0")

    tag_deploy(history, served, tmp_path, "v2.0.0")

    latest = httpx.get(f"{served}/api/deploys").json()[0]
    assert latest["sha"] == tagged
    expected = first_parent_between(history.path, first, tagged)
    assert len(expected) == 5
    assert [m["sha"] for m in latest["mergesets"]] == expected
    assert latest["history"] == "complete"
    mergesets = httpx.get(f"{served}/api/mergesets", params={"limit": 50}).json()
    shipped = {m["sha"]: m for m in mergesets}
    assert all(shipped[sha]["lead_time_seconds"] is not None for sha in expected)
