"""Reverts are linked to what they revert: git's `Revert "..."` subjects (also squashed, with
` (#N)`), GitHub's revert pull requests (`revert-<N>-...` branches); the latest earlier match
wins; a revert of a revert is linked to the revert. End to end with real `git revert`, the truth
read from the message git wrote ("This reverts commit X.")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from leadtime.server.domain.reverts import Change, revert_links
from tests.gitrepos import History, plain_git
from tests.server.live import Pipeline


def change(sha: str, title: str, pr_title: str | None = None, pr: int | None = None) -> Change:
    return Change(sha, title, pr_title, pr)


def test_reverts_are_linked_by_quoted_title_squash_suffix_and_revert_branch():
    ordered = [
        change("a", "Add cart (#12)", "Add cart", 12),
        change("b", "Pay by card"),
        change("c", 'Revert "Add cart" (#13)', 'Revert "Add cart"', 13),
        change("d", 'Revert "Pay by card"'),
        change(
            "e", "Merge pull request #15 from acme/revert-13-revert-add-cart", "Put it back", 15
        ),
        change("f", 'Revert "Something never merged"'),
        change("g", 'Revert "Revert "Pay by card""'),
    ]
    assert revert_links(ordered) == {"c": "a", "d": "b", "e": "c", "g": "d"}


def test_the_latest_earlier_match_is_the_one_reverted_and_never_a_later_one():
    ordered = [
        change("old", "Tune cache"),
        change("new", "Tune cache"),
        change("revert", 'Revert "Tune cache"'),
        change("later", "Tune cache"),
    ]
    assert revert_links(ordered) == {"revert": "new"}
    assert revert_links([change("r", 'Revert "X"'), change("x", "X")]) == {}


def test_a_real_git_revert_is_linked_to_the_mergeset_it_reverts(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(tmp_path / "repo", start=now - timedelta(hours=1), tick=timedelta(minutes=1))
    pipeline = Pipeline(history, served, tmp_path)
    first = history.merge("feature-a")
    pipeline.test(first)
    pipeline.deploy(first)
    broken = history.squash("feature-b")
    history.merge("feature-c")
    revert = history.revert(broken)
    pipeline.deploy(revert)

    body = " ".join(plain_git(history.path, "log", "-1", "--format=%b", revert))
    assert f"This reverts commit {broken}." in body  # what git itself says
    mergesets = {m["sha"]: m for m in httpx.get(f"{served}/api/mergesets").json()}
    assert mergesets[revert]["reverts"] == broken
    assert [sha for sha, m in mergesets.items() if m["reverts"]] == [revert]
