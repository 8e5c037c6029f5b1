"""The checkout's facts as the tracer reads them with `git` itself, against plain git's own
answers in real repositories (tests/gitrepos.py): on a branch, detached as CI checks out, at a
revision other than HEAD, one the clone lacks, a new repository, no repository, and no git."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

from leadtime.tracer import gitinfo
from tests.gitrepos import History, plain_git


def _plain_facts(path, revision: str) -> dict[str, str]:
    sha, seconds, email = plain_git(path, "log", "-1", "--format=%H %ct %ae", revision)
    return {
        "sha": sha,
        "committed_at": datetime.fromtimestamp(int(seconds), UTC).isoformat(),
        "author": email,
    }


def test_on_a_branch_every_fact_is_plain_git_s(tmp_path):
    history = History(tmp_path / "repo", remote="https://github.com/acme/shop.git")
    history.merge("feature-a", email="bo@example.com")
    (branch,) = plain_git(history.path, "symbolic-ref", "--short", "HEAD")
    (url,) = plain_git(history.path, "config", "remote.origin.url")
    expected = {**_plain_facts(history.path, "HEAD"), "branch": branch, "repo_url": url}
    assert gitinfo.read_checkout(str(history.path)) == expected


def test_from_a_subdirectory_the_repository_above_answers(tmp_path):
    history = History(tmp_path / "repo")
    (history.path / "src").mkdir()
    assert gitinfo.read_checkout(str(history.path / "src"))["sha"] == history.first_parent()[0]


def test_detached_as_ci_checks_out_there_is_no_branch(tmp_path):
    history = History(tmp_path / "repo")
    history.merge("feature-a")
    history.checkout(history.first_parent()[1])
    facts = gitinfo.read_checkout(str(history.path))
    assert "branch" not in facts
    assert facts["sha"] == history.first_parent()[1]
    assert facts["repo_url"] == "git@github.com:acme/shop.git"


def test_another_revision_gives_its_facts_and_head_s_branch(tmp_path):
    history = History(tmp_path / "repo")
    history.merge("feature-a", email="bo@example.com")
    older = history.first_parent()[1]
    facts = gitinfo.read_checkout(str(history.path), revision=older)
    assert {k: facts[k] for k in ("sha", "committed_at", "author")} == _plain_facts(
        history.path, older
    )
    assert facts["branch"] == "main"


def test_a_revision_the_clone_lacks_keeps_the_branch_and_the_remote(tmp_path):
    history = History(tmp_path / "repo")
    facts = gitinfo.read_checkout(str(history.path), revision="f" * 40)
    assert facts == {"branch": "main", "repo_url": "git@github.com:acme/shop.git"}


def test_a_new_repository_has_a_branch_and_no_commit(tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(tmp_path / "new")], check=True)
    assert gitinfo.read_checkout(str(tmp_path / "new")) == {"branch": "trunk"}


def test_no_repository_or_no_git_means_no_facts(tmp_path, monkeypatch):
    assert gitinfo.read_checkout(str(tmp_path)) == {}
    history = History(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert gitinfo.read_checkout(str(history.path)) == {}
    assert gitinfo.first_parent_history("HEAD", 10, str(history.path)) == ([], False, False)


def test_the_first_parent_history_is_plain_git_s(tmp_path):
    history = History(tmp_path / "repo")
    history.merge("feature-a", email="bo@example.com")
    history.squash("feature-b", title="Add the cart (#12)")
    commits, truncated, shallow = gitinfo.first_parent_history("HEAD", 100, str(history.path))
    assert [c["sha"] for c in commits] == plain_git(
        history.path, "rev-list", "--first-parent", "HEAD"
    )
    subjects = subprocess.run(
        ["git", "log", "--first-parent", "--format=%s"],
        cwd=history.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert [c["subject"] for c in commits] == subjects
    authors = plain_git(history.path, "log", "--first-parent", "--format=%ae")
    assert [c["author"] for c in commits] == authors
    assert (truncated, shallow) == (False, False)
