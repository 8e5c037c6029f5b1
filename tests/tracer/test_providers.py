"""CI detection from recorded environments of each provider (tests/data/env_*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadtime.tracer import context, providers

DATA = Path(__file__).parent.parent / "data"
RECORDED = sorted(DATA.glob("env_*.json"))


@pytest.mark.parametrize("recording", RECORDED, ids=lambda path: path.stem.removeprefix("env_"))
def test_recorded_environment_gives_the_expected_context(recording):
    data = json.loads(recording.read_text())
    found = context.clean_fields(providers.detect(data["environment"]))
    assert found == data["expected"]


def test_every_provider_has_a_recording():
    recorded = {json.loads(path.read_text())["expected"]["provider"] for path in RECORDED}
    assert recorded == {name for name, *_ in providers.PROVIDERS} | {"local"}


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop"),
        ("ssh://git@gitlab.com/acme/group/shop.git", "https://gitlab.com/acme/group/shop"),
        ("https://user:token@github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("http://gitea.local:3000/acme/shop/", "https://gitea.local:3000/acme/shop"),
        ("git://example.org/shop.git", "https://example.org/shop"),
        ("ssh://git@github.com:22/acme/shop.git", "https://github.com/acme/shop"),
        ("ssh://github.com/acme/shop", "https://github.com/acme/shop"),
        ("gitlab.com:acme/shop.git", "https://gitlab.com/acme/shop"),
    ],
)
def test_remote_urls_become_https_without_git_suffix(remote, url):
    assert context.normalize_repo_url(remote) == url


@pytest.mark.parametrize(
    ("raw", "change_id"),
    [
        ("refs/pull/17/merge", "17"),
        ("https://github.com/acme/shop/pull/88", "88"),
        ("42", "42"),
        ("false", None),
        ("refs/heads/main", None),
        ("refs/heads/pull-9-fix", None),
    ],
)
def test_change_id_is_a_number_or_absent(raw, change_id):
    assert context.clean_fields({"change_id": raw}).get("change_id") == change_id


def test_environment_facts_win_over_the_checkout(tmp_path, monkeypatch):
    from tests.gitrepos import History

    history = History(tmp_path / "repo")
    sha = history.merge("a")
    monkeypatch.chdir(history.path)
    env = json.loads((DATA / "env_github.json").read_text())["environment"]
    gathered = context.gather(env, main_branches=("main",))
    # The env names another commit than the checkout's HEAD: its facts, not the checkout's.
    assert gathered.sha == env["GITHUB_SHA"] != sha
    assert gathered.committed_at is None


def test_missing_facts_come_from_the_checkout(tmp_path, monkeypatch):
    from tests.gitrepos import History

    history = History(tmp_path / "repo", remote="https://gitlab.com/acme/shop.git")
    sha = history.squash("b")
    monkeypatch.chdir(history.path)
    gathered = context.gather({}, main_branches=("main",)).as_dict()
    assert (
        gathered
        | {
            "sha": sha,
            "branch": "main",
            "repo_url": "https://gitlab.com/acme/shop",
            "repo_name": "shop",
            "vcs_provider": "gitlab",
            "author": "cy@example.com",
            "committed_at": history.clock.isoformat(),
        }
        == gathered
    )


@pytest.mark.parametrize(
    ("environment", "tag"),
    [
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_REF": "refs/tags/v2.4.0",
                "GITHUB_REF_NAME": "v2.4.0",
                "GITHUB_REF_TYPE": "tag",
            },
            "v2.4.0",
        ),
        (
            {"GITLAB_CI": "true", "CI_COMMIT_TAG": "v3", "CI_COMMIT_REF_NAME": "v3"},
            "v3",
        ),
        ({"CIRCLECI": "true", "CIRCLE_TAG": "release-7"}, "release-7"),
        ({"BUILDKITE": "true", "BUILDKITE_BRANCH": "v1.0", "BUILDKITE_TAG": "v1.0"}, "v1.0"),
        ({"JENKINS_URL": "https://ci", "TAG_NAME": "v9", "BRANCH_NAME": "v9"}, "v9"),
        ({"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/tags/2026.12"}, "2026.12"),
    ],
)
def test_a_tag_build_names_the_tag_and_says_it_is_one(environment, tag):
    found = context.clean_fields(providers.detect(environment))
    assert (found["branch"], found["ref_type"]) == (tag, "tag")


def test_a_branch_build_says_it_is_a_branch_and_cleaning_twice_changes_nothing():
    found = context.clean_fields(
        providers.detect({"BUILDKITE": "true", "BUILDKITE_BRANCH": "main"})
    )
    assert (found["branch"], found["ref_type"]) == ("main", "branch")
    assert context.clean_fields(found) == found


def _push_event(tmp_path, sha: str, timestamp: str) -> str:
    event = {
        "ref": "refs/heads/main",
        "after": sha,
        "head_commit": {
            "id": sha,
            "timestamp": timestamp,
            "author": {"name": "Ada", "email": "ada@example.com"},
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_on_github_the_pushed_commit_facts_come_from_the_event_file_without_git(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no checkout: only the event file can tell
    env = json.loads((DATA / "env_github.json").read_text())["environment"]
    env["GITHUB_EVENT_PATH"] = _push_event(tmp_path, env["GITHUB_SHA"], "2026-07-01T09:30:00+02:00")
    gathered = context.gather(env, main_branches=("main",))
    assert (gathered.committed_at, gathered.author) == (
        "2026-07-01T09:30:00+02:00",
        "ada@example.com",
    )


@pytest.mark.parametrize("problem", ["another sha", "not json", "no file"])
def test_an_event_file_about_another_commit_or_unreadable_tells_nothing(tmp_path, problem):
    sha = "f" * 40
    path = _push_event(
        tmp_path, "e" * 40 if problem == "another sha" else sha, "2026-07-01T09:30:00Z"
    )
    if problem == "not json":
        (tmp_path / "event.json").write_text("{")
    if problem == "no file":
        path = str(tmp_path / "missing.json")
    assert context.github_event_facts({"GITHUB_EVENT_PATH": path}, sha) == {}
