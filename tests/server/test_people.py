"""People against a live server: a merged pull request's webhook and a main-branch span of its
merge commit tie the PR's login to the commit's author email (in either order), a mapping names
people and takes what was learned, teams must name known people, and bad input is a clear 4xx
that stores nothing."""

from __future__ import annotations

import copy
from datetime import datetime

import httpx
import pytest
from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.server.conftest import LiveServer, settings_for, wipe
from tests.server.forges import GITHUB_SECRET, MERGED, PULL_REQUEST_MERGED, REPO, github
from tests.server.otlp_payloads import post_run

SPAN_AUTHOR = "Alice.Liddell@Example.com"  # as git wrote it: letter case kept
# merged by its author: the merge commit's author is hers too
MERGED_BY_ALICE = copy.deepcopy(PULL_REQUEST_MERGED)
MERGED_BY_ALICE["pull_request"]["merged_by"] = {"login": "alice"}


@pytest.fixture
def forge(engine, db_url):
    settings = settings_for(db_url, auth="off", github_webhook_secret=GITHUB_SECRET)
    with LiveServer(settings) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
        wipe(engine)


def span_of_the_merge(client, run: int = 1, sha: str = MERGED, author: str = SPAN_AUTHOR) -> None:
    extra = {"build": {"vcs.repository.url.full": REPO, "leadtime.commit.author": author}}
    start = datetime.fromisoformat("2026-11-20T10:30:00+00:00")
    post_run(client, run, start, [("build", 60, "success")], branch="main", sha=sha, extra=extra)


def person(client, name: str) -> dict:
    (found,) = [p for p in client.get("/api/people").json()["people"] if p["name"] == name]
    return found


def identities(found: dict) -> set[tuple[str, str, str]]:
    return {(i["kind"], i["value"], i["source"]) for i in found["identities"]}


@pytest.mark.parametrize("webhook_first", [True, False])
def test_a_prs_login_and_its_commits_author_email_become_one_person(forge, webhook_first):
    if webhook_first:
        assert github(forge, "pull_request", MERGED_BY_ALICE).status_code == 202
        span_of_the_merge(forge)
    else:
        span_of_the_merge(forge)
        assert github(forge, "pull_request", MERGED_BY_ALICE).status_code == 202
    learned = person(forge, "alice")
    assert learned["source"] == "auto"
    assert identities(learned) == {
        ("github", "alice", "auto"),
        ("email", "alice.liddell@example.com", "auto"),
    }
    assert forge.get("/api/people").json()["unmapped"] == []
    (mergeset,) = forge.get("/api/mergesets").json()
    assert mergeset["author"] == SPAN_AUTHOR  # the email names the person better than the login


def test_a_mapping_names_people_takes_what_was_learned_and_shows_who_is_unmapped(forge):
    github(forge, "pull_request", MERGED_BY_ALICE)
    span_of_the_merge(forge)
    span_of_the_merge(forge, run=2, sha="b" * 40, author="bob@example.com")
    mapping = {
        "people": [
            {
                "name": "Alice Liddell",
                "emails": ["alice.liddell@example.com", "alice@users.noreply.github.com"],
                "github": "Alice",
                "slack": "U0ALICE1",
            }
        ]
    }
    answer = forge.put("/api/people", json=mapping)
    assert answer.status_code == 200, answer.text
    names = [p["name"] for p in answer.json()["people"]]
    assert names == ["Alice Liddell"]  # the auto person lost every name and went
    alice = person(forge, "Alice Liddell")
    assert alice["email"] == "alice.liddell@example.com" and alice["slack"] == "U0ALICE1"
    assert ("github", "alice", "mapping") in identities(alice)
    assert answer.json()["unmapped"] == [
        {"author": "bob@example.com", "mergesets": 1, "repositories": ["octo/app"]}
    ]


def test_teams_name_known_people_and_bad_input_stores_nothing(forge):
    people = {"people": [{"name": "Ada", "emails": ["ada@example.com"]}]}
    assert forge.put("/api/people", json=people).status_code == 200
    team = {"name": "payments", "members": ["Ada"], "repositories": ["octo/app"]}
    assert forge.put("/api/teams", json={"teams": [team]}).status_code == 200

    unknown = forge.put("/api/teams", json={"teams": [{**team, "members": ["Ada", "Grace"]}]})
    assert unknown.status_code == 400 and "'Grace'" in unknown.json()["error"]["message"]
    twice = {
        "people": [
            {"name": "A", "emails": ["x@example.com"]},
            {"name": "B", "emails": ["X@example.com"]},
        ]
    }
    clash = forge.put("/api/people", json=twice)
    assert clash.status_code == 400 and "x@example.com" in clash.json()["error"]["message"]
    for bad in (
        {"teams": [{**team, "working_hours": "9-5"}]},
        {"teams": [{**team, "slack_webhook_url": "file:///etc/passwd"}]},
        {"teams": [{**team, "channel": "#payments"}]},  # misspelled: refused, never ignored
    ):
        assert forge.put("/api/teams", json=bad).status_code in (400, 422)
    dropping_ada = forge.put("/api/people", json={"people": []})
    assert dropping_ada.status_code == 400  # payments still names her
    after = forge.get("/api/people").json()
    assert [p["name"] for p in after["people"]] == ["Ada"]
    assert [(t["name"], t["members"]) for t in after["teams"]] == [("payments", ["Ada"])]


def test_people_import_reads_one_yaml_file_with_people_and_teams(forge, tmp_path, monkeypatch):
    path = tmp_path / "people.yaml"
    path.write_text(
        "people:\n"
        "  - name: Ada\n"
        "    emails: [ada@example.com]\n"
        "    github: ada\n"
        "teams:\n"
        "  - name: payments\n"
        "    members: [Ada]\n"
        "    services: [shop]\n"
        "    time_zone: Europe/Berlin\n"
        '    working_hours: "08:00-16:00"\n'
    )
    monkeypatch.setenv("LEADTIME_URL", str(forge.base_url).rstrip("/"))
    printed = CliRunner().invoke(cli, ["people", "import", str(path)])
    assert printed.exit_code == 0, printed.output
    assert "1 people, 1 teams" in printed.output
    listed = CliRunner().invoke(cli, ["people", "list", "--json"])
    assert '"github"' in listed.output and '"payments"' in listed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("persons: []\n")
    refused = CliRunner().invoke(cli, ["people", "import", str(broken)])
    assert refused.exit_code != 0 and "people:" in refused.output


def test_a_second_pr_by_the_same_login_adds_its_commits_email_to_the_same_person(forge):
    # a second PR by the same login with another commit email joins the same auto person
    github(forge, "pull_request", MERGED_BY_ALICE)
    span_of_the_merge(forge)
    second = copy.deepcopy(MERGED_BY_ALICE)
    second["pull_request"]["number"] = 43
    second["pull_request"]["merge_commit_sha"] = "c" * 40
    github(forge, "pull_request", second)
    span_of_the_merge(forge, run=3, sha="c" * 40, author="alice@work.example.org")
    emails = {v for kind, v, _ in identities(person(forge, "alice")) if kind == "email"}
    assert emails == {"alice.liddell@example.com", "alice@work.example.org"}


def test_report_weekly_prints_a_teams_review_and_names_a_missing_team(forge, monkeypatch):
    span_of_the_merge(forge)
    people = {"people": [{"name": "Alice", "emails": ["alice.liddell@example.com"]}]}
    assert forge.put("/api/people", json=people).status_code == 200
    team = {"name": "app", "members": ["Alice"], "repositories": [REPO]}
    assert forge.put("/api/teams", json={"teams": [team]}).status_code == 200
    monkeypatch.setenv("LEADTIME_URL", str(forge.base_url).rstrip("/"))
    printed = CliRunner().invoke(cli, ["report", "weekly", "--team", "app"])
    assert printed.exit_code == 0, printed.output
    assert "Weekly review of team app" in printed.output
    assert "octo/app: lead time p50 -" in printed.output  # merged, never deployed
    missing = CliRunner().invoke(cli, ["report", "weekly", "--team", "nobody"])
    assert missing.exit_code != 0 and "no team named 'nobody'" in missing.output


def test_a_pr_merged_by_someone_else_ties_nobody(forge):
    # GitHub's example: alice's PR merged by bob, whose name a merge commit would carry
    github(forge, "pull_request", PULL_REQUEST_MERGED)
    span_of_the_merge(forge)
    known = forge.get("/api/people").json()
    assert known["people"] == []
    assert [u["author"] for u in known["unmapped"]] == [SPAN_AUTHOR]
