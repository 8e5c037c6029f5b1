"""Feedback end to end: a generated history of three teams, people with two emails each, a PR
webhook that links a login, a page after a deploy, a failed deploy and a stuck mergeset. Real
local receivers stand in for Slack's incoming webhooks and chat API and for the JSON webhook;
a real SMTP server (aiosmtpd) takes the mail. Rounds are run with the time passed in, as the
server's feedback thread runs them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from leadtime.server import db
from leadtime.server.domain import regression
from leadtime.server.feedback_worker import run_round
from leadtime.server.hours import DAYS
from leadtime.server.models import FeedbackMessage
from tests.server.conftest import LiveServer, settings_for, wipe
from tests.server.forges import GITHUB_SECRET, PULL_REQUEST_MERGED, github
from tests.server.hooks import HookReceiver
from tests.server.mail import mail_server
from tests.server.otlp_payloads import post_run

# The history's clock, set again as each test starts (the `world` fixture): a module's import
# time would be stale by the time a long suite reaches it, and the stuck rule counts from when
# a mergeset was stored.
NOW = datetime.now(UTC).replace(microsecond=0)
SHOP, SEARCH, BILLING = (
    f"https://github.com/acme/{name}" for name in ("shop", "search", "billing")
)
EVALUATED = NOW + timedelta(minutes=2)  # past the stuck rule's grace for what was just stored
OFF_DAY = DAYS[(EVALUATED.weekday() + 2) % 7]  # billing works only on the day after tomorrow


@pytest.fixture
def world(engine, db_url):
    """A server with a GitHub secret, the stand-ins, and the settings feedback runs with."""
    global NOW, EVALUATED, OFF_DAY
    NOW = datetime.now(UTC).replace(microsecond=0)
    EVALUATED = NOW + timedelta(minutes=2)
    OFF_DAY = DAYS[(EVALUATED.weekday() + 2) % 7]
    chat_reply = b'{"ok": true, "ts": "1.2"}'
    with (
        HookReceiver(reply=chat_reply) as slack,
        HookReceiver() as hook,
        mail_server() as (inbox, port),
    ):
        settings = settings_for(
            db_url,
            auth="off",
            github_webhook_secret=GITHUB_SECRET,
            slack_bot_token="xoxb-test-token",
            slack_api_url=slack.url + "/api",
            slack_webhook_url=slack.url + "/services/server",
            alert_webhook_url=hook.url + "/hooks/leadtime",
            smtp_host="127.0.0.1",
            smtp_port=port,
            notify_allowed_hosts="127.0.0.1",
            public_url="https://leadtime.example.com",
        )
        with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as api:
            try:
                yield SimpleNamespace(
                    api=api, settings=settings, slack=slack, hook=hook, inbox=inbox
                )
            finally:
                wipe(engine)


def post(api, path: str, body: dict) -> dict:
    response = api.request(
        "PUT" if path in ("/api/people", "/api/teams") else "POST", path, json=body
    )
    assert response.status_code == 200, response.text
    return response.json()


def merge(api, repo: str, sha: str, at: datetime, author: str, parent: str | None, **pr) -> None:
    body = {"repository": repo, "sha": sha, "merged_at": at.isoformat(), "author": author, **pr}
    post(api, "/api/merges", body | ({"parent_sha": parent} if parent else {}))


def deploy(api, repo: str, service: str, sha: str, at: datetime, status: str = "succeeded") -> int:
    body = {
        "service": service,
        "repository": repo,
        "environment": "production",
        "sha": sha,
        "status": status,
        "finished_at": at.isoformat(),
    }
    return post(api, "/api/deploys", body)["id"]


def mapping(slack_url: str) -> tuple[dict, dict]:
    people = [
        {
            "name": "Ada",
            "emails": ["ada@work.example", "ada@home.example"],
            "github": "ada",
            "slack": "U0ADA",
        },
        {"name": "Bob", "emails": ["bob@work.example", "bob@home.example"], "slack": "U0BOB"},
        {"name": "Cy", "emails": ["cy@work.example", "cy@home.example"]},
    ]
    always = {"working_hours": "00:00-23:59:59.999", "working_days": "mon-sun"}
    teams = [
        {
            "name": "payments",
            "members": ["Ada", "Bob"],
            "repositories": ["acme/shop"],
            "services": ["shop"],
            "slack_webhook_url": slack_url + "/services/payments",
            "email": "payments@team.example",
            **always,
        },
        {
            "name": "search",
            "members": ["Bob"],
            "repositories": [SEARCH],
            "services": ["search"],
            "slack_channel": "C0SEARCH",
            **always,
        },
        {
            "name": "billing",
            "members": ["Cy"],
            "repositories": ["ACME/Billing"],
            "services": ["billing"],
            "slack_webhook_url": slack_url + "/services/billing",
            "working_hours": "09:00-17:00",
            "working_days": OFF_DAY,
            "feedback": {"regression": False},
        },
    ]
    # The digests fall on a day none of these tests' moments reach (today, tomorrow and the
    # day after): only the digest tests ask for one.
    for team in teams:
        team["digest_day"] = DAYS[(EVALUATED.weekday() + 4) % 7]
    return {"people": people}, {"teams": teams}


def build_history(api, settings, slack_url: str, engine) -> dict:
    """The history; what each event's answer depends on."""
    people, teams = mapping(slack_url)
    post(api, "/api/people", people)
    post(api, "/api/teams", teams)
    # shop: Ada's #412 and an unmapped author's change, shipped together; a page an hour later
    merge(
        api,
        SHOP,
        "a1" * 20,
        NOW - timedelta(hours=3),
        "Ada <ada@home.example>",
        None,
        pr_number=412,
        pr_title="Faster checkout",
    )
    merge(
        api,
        SHOP,
        "a2" * 20,
        NOW - timedelta(hours=2, minutes=50),
        "dee@elsewhere.example",
        "a1" * 20,
    )
    shipped = deploy(api, SHOP, "shop", "a2" * 20, NOW - timedelta(hours=2))
    page = post(
        api,
        "/api/pages",
        {
            "id": "P1",
            "service": "shop",
            "title": "checkout 500s",
            "triggered_at": (NOW - timedelta(hours=1)).isoformat(),
        },
    )
    # search: Bob's change, whose production deploy failed
    merge(api, SEARCH, "b1" * 20, NOW - timedelta(minutes=50), "bob@home.example", None)
    failed = deploy(api, SEARCH, "search", "b1" * 20, NOW - timedelta(minutes=40), "failed")
    # billing: shipped once; then a PR by login cy-gh, its commit by cy@home.example, waits 3h
    merge(api, BILLING, "c1" * 20, NOW - timedelta(hours=6), "cy@work.example", None)
    deploy(api, BILLING, "billing", "c1" * 20, NOW - timedelta(hours=5))
    pr = {
        **PULL_REQUEST_MERGED,
        "repository": {"full_name": "acme/billing", "html_url": BILLING, "default_branch": "main"},
    }
    pr["pull_request"] = {
        **pr["pull_request"],
        "merge_commit_sha": "c2" * 20,
        "merged_at": (NOW - timedelta(hours=3)).isoformat(),
        "user": {"login": "cy-gh"},
        "merged_by": {"login": "cy-gh"},
        "html_url": "https://github.com/acme/billing/pull/7",
        "number": 7,
    }
    assert github(api, "pull_request", pr).status_code == 202
    merge(api, BILLING, "c2" * 20, NOW - timedelta(hours=3), "cy@home.example", "c1" * 20)
    sessions = db.session_factory(engine)
    for repository in ("shop", "search", "billing"):
        with db.unit_of_work(sessions) as session:
            found = db_repository(session, repository)
            regression.evaluate_repository(session, found, settings, EVALUATED, [])
    return {"page": page["id"], "shipped": shipped, "failed": failed}


def db_repository(session, name: str):
    from leadtime.server import store

    return store.find_repository(session, f"acme/{name}")


def slack_posts(slack: HookReceiver, path: str) -> list[dict]:
    return [d.json() for d in slack.deliveries if d.path == path]


def as_two_replicas(db_url: str, settings, moments: list[datetime]) -> None:
    """Run rounds at `moments` in two threads at once, each a replica with its own engine."""
    replicas = [db.make_engine(db_url), db.make_engine(db_url)]
    errors: list[BaseException] = []

    def replica(own_engine) -> None:
        try:
            for moment in moments:
                run_round(db.session_factory(own_engine), settings, moment)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(e,)) for e in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for own in replicas:
        own.dispose()
    assert errors == []


def test_each_person_and_team_hears_what_they_made_once_and_why(world, engine):
    api, settings, slack, hook, inbox = (
        world.api,
        world.settings,
        world.slack,
        world.hook,
        world.inbox,
    )
    facts = build_history(api, settings, slack.url, engine)
    sessions = db.session_factory(engine)
    run_round(sessions, settings, EVALUATED)
    run_round(sessions, settings, EVALUATED)  # a second round finds nothing new

    # the page: Ada by mail (her first address) and by direct message, her team's channel
    # mentioning her and naming the unmapped author, the team's list; never Bob or Cy
    (ada_mail,) = [m for m in inbox.to("ada@work.example") if "Page #" in m["Subject"]]
    text = ada_mail.get_content()
    assert (
        f"Why you: you merged #412 (Faster checkout), shipped in deploy {facts['shipped']}" in text
    )
    assert "the last deploy of shop before this page" in text
    assert f"https://leadtime.example.com/pages/{facts['page']}" in text
    chats = {post["channel"]: post["text"] for post in slack_posts(slack, "/api/chat.postMessage")}
    assert "checkout 500s" in chats["U0ADA"]
    (channel,) = slack_posts(slack, "/services/payments")
    assert "<@U0ADA>" in channel["text"] and "dee@elsewhere.example" in channel["text"]
    assert "team payments owns shop" in channel["text"]
    assert len(inbox.to("payments@team.example")) == 1
    assert not inbox.to("cy@work.example") and not slack_posts(slack, "/services/server")

    # the failed deploy: Bob by mail and direct message, search's channel through the chat API
    (bob_mail,) = inbox.to("bob@work.example")
    assert f"which deploy {facts['failed']} of search" in bob_mail.get_content()
    assert "Deploy failed" in chats["U0BOB"] and "Deploy failed" in chats["C0SEARCH"]

    # one JSON webhook message per event, naming who was told
    kinds = sorted(d.json()["type"] for d in hook.deliveries)
    assert kinds == ["leadtime.feedback.failure", "leadtime.feedback.page"]
    page_hook = next(d.json() for d in hook.deliveries if d.json()["type"].endswith("page"))
    assert [r["person"] for r in page_hook["data"]["recipients"]] == ["Ada"]
    assert len(slack.deliveries) == 4  # Ada, Bob, #search, payments: nothing twice
    told = api.get("/api/feedback").json()
    assert {row["status"] for row in told if row["kind"] in ("page", "failure")} == {"sent"}
    assert {row["person"] for row in told if row["kind"] == "page"} == {"Ada", None}
    held = [row for row in told if row["kind"] == "waiting"]
    assert held and {row["status"] for row in held} == {"pending"}  # billing's quiet hours


def test_quiet_hours_hold_what_is_not_a_page_until_the_team_is_at_work(world, engine):
    api, settings, slack, inbox = world.api, world.settings, world.slack, world.inbox
    build_history(api, settings, slack.url, engine)
    sessions = db.session_factory(engine)
    run_round(sessions, settings, EVALUATED)
    # Cy's stuck mergeset; his PR's login was tied to him through his commit's email
    (cy,) = [p for p in api.get("/api/people").json()["people"] if p["name"] == "Cy"]
    assert {"kind": "github", "value": "cy-gh", "source": "auto"} in cy["identities"]
    assert not inbox.to("cy@work.example") and not slack_posts(slack, "/services/billing")
    with db.session_factory(engine)() as session:
        held = session.query(FeedbackMessage).filter(FeedbackMessage.kind == "waiting").all()
    morning = datetime.combine(
        (EVALUATED + timedelta(days=2)).date(), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=9)
    assert {row.next_attempt_at for row in held} == {morning}
    run_round(sessions, settings, morning + timedelta(minutes=1))
    (cy_mail,) = inbox.to("cy@work.example")
    assert "no production deploy has shipped it" in cy_mail.get_content()
    (billing,) = slack_posts(slack, "/services/billing")
    assert "Cy" in billing["text"] and "#7" in billing["text"]


def test_two_replicas_send_each_message_once(world, engine, db_url):
    api, settings, slack, hook, inbox = (
        world.api,
        world.settings,
        world.slack,
        world.hook,
        world.inbox,
    )
    build_history(api, settings, slack.url, engine)
    as_two_replicas(db_url, world.settings, [EVALUATED] * 3)
    with db.session_factory(engine)() as session:
        rows = session.query(FeedbackMessage).all()
    due = [row for row in rows if row.next_attempt_at <= EVALUATED]
    assert all(row.status == "sent" and row.attempts == 1 for row in due)
    sent_mail = len(inbox.mails)
    sent_http = len(slack.deliveries) + len(hook.deliveries)
    assert sent_mail + sent_http == len(due)  # each message once, by one of the two


def test_a_cleared_suspect_is_said_in_a_follow_up_to_the_same_people(world, engine):
    api, settings, slack, inbox = world.api, world.settings, world.slack, world.inbox
    facts = build_history(api, settings, slack.url, engine)
    sessions = db.session_factory(engine)
    run_round(sessions, settings, EVALUATED)
    cleared = api.post(f"/api/pages/{facts['page']}/link", json={"action": "clear"})
    assert cleared.status_code == 200, cleared.text
    run_round(sessions, settings, EVALUATED + timedelta(minutes=1))
    run_round(sessions, settings, EVALUATED + timedelta(minutes=2))
    subjects = [m["Subject"] for m in inbox.to("ada@work.example")]
    assert len(subjects) == 2 and "no longer the suspect" in subjects[1]
    (follow_up,) = [m for m in inbox.to("ada@work.example") if "no longer" in m["Subject"]]
    assert "a person said no deploy caused it" in follow_up.get_content()
    assert len(slack_posts(slack, "/services/payments")) == 2  # the page, then the follow-up


def test_the_weekly_digest_is_sent_once_by_two_replicas_with_the_apis_numbers(
    world, engine, db_url
):
    api, settings, slack = world.api, world.settings, world.slack
    build_history(api, settings, slack.url, engine)
    _, teams = mapping(slack.url)
    today = DAYS[EVALUATED.weekday()]
    for team in teams["teams"]:
        team["digest_day"] = (
            today if team["name"] == "payments" else DAYS[(EVALUATED.weekday() + 3) % 7]
        )
    post(api, "/api/teams", teams)
    as_two_replicas(db_url, settings, [EVALUATED, EVALUATED + timedelta(hours=1)])
    digests = [p for p in slack_posts(slack, "/services/payments") if "Weekly review" in p["text"]]
    assert len(digests) == 1  # one team's day, one week, two replicas: one digest
    assert not [p for p in slack.deliveries if b"Weekly review of team search" in p.body]
    text = digests[0]["text"]
    # independently: #412 waited 1h, the other change 50m; p50 55m, p90 59m
    assert "acme/shop: lead time p50 55m00s, p90 59m00s; 1 deploys" in text
    weekly = api.get("/api/reports/weekly", params={"team": "payments"}).json()
    (shop,) = weekly["repositories"]
    assert (shop["lead_time_p50_seconds"], shop["lead_time_p90_seconds"]) == (3300, 3540)
    (service,) = weekly["services"]
    assert service["pages"] == 1 and service["change_failure_rate"] == 1.0
    assert "shop: change failure rate 100% of 1 deploys" in text
    assert "Authors not mapped to anyone: dee@elsewhere.example" in text
    assert weekly["unmapped"][0]["author"] == "dee@elsewhere.example"


def test_the_digest_is_due_on_the_teams_day_once_its_working_day_began(world, engine):
    api, settings, slack = world.api, world.settings, world.slack
    people, _ = mapping(slack.url)
    post(api, "/api/people", people)
    berlin = {
        "name": "payments",
        "members": ["Ada"],
        "time_zone": "Europe/Berlin",
        "working_hours": "09:00-17:00",
        "slack_webhook_url": slack.url + "/services/p",
    }
    post(api, "/api/teams", {"teams": [berlin]})
    sessions = db.session_factory(engine)
    monday = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # 08:30 in Berlin: not yet
    from leadtime.server.feedback_worker import plan_round

    assert plan_round(sessions, settings, monday) == 0
    assert plan_round(sessions, settings, monday - timedelta(days=1, hours=-2)) == 0  # Sunday
    assert plan_round(sessions, settings, monday + timedelta(minutes=31)) == 2  # 09:01: hook+JSON
    assert plan_round(sessions, settings, monday + timedelta(hours=5)) == 0  # once a week
    assert plan_round(sessions, settings, monday + timedelta(days=7, minutes=31)) == 2


def test_a_failed_main_run_tells_its_author_and_a_team_can_turn_a_kind_off(world, engine):
    api, settings, slack, inbox = world.api, world.settings, world.slack, world.inbox
    build_history(api, settings, slack.url, engine)
    _, teams = mapping(slack.url)
    for team in teams["teams"]:
        if team["name"] == "search":
            team["feedback"] = {"failure": False}  # search wants no word of failures
    post(api, "/api/teams", teams)
    failing = {"build": {"cicd.pipeline.result": "failure"}}  # the run's own result
    steps = [("build", 60, "failure")]
    post_run(api, 9, NOW - timedelta(minutes=30), steps, "main", "a1" * 20, extra=failing)
    run_round(db.session_factory(engine), settings, EVALUATED)
    failed = [m for m in inbox.to("ada@work.example") if "Main-branch pipeline" in m["Subject"]]
    assert len(failed) == 1
    assert "you merged #412 (Faster checkout); its main-branch pipeline ci failed" in (
        failed[0].get_content()
    )
    assert inbox.to("bob@work.example") == []  # the failed search deploy: turned off
    assert "C0SEARCH" not in {p["channel"] for p in slack_posts(slack, "/api/chat.postMessage")}


def test_a_step_regression_goes_to_the_teams_channel_only(world, engine):
    api, settings, slack, inbox = world.api, world.settings, world.slack, world.inbox
    people, teams = mapping(slack.url)
    post(api, "/api/people", people)
    post(api, "/api/teams", teams)
    for run in range(1, 9):  # four weeks of integration tests at 3 minutes, then a week at 7
        steps = [("integration-tests", 180, "success")]
        post_run(api, run, NOW - timedelta(days=10 + run), steps, "main", f"{run:040x}")
    for run in range(9, 15):
        steps = [("integration-tests", 420, "success")]
        post_run(api, run, NOW - timedelta(days=run - 8), steps, "main", f"{run:040x}")
    sessions = db.session_factory(engine)
    with db.unit_of_work(sessions) as session:
        regression.evaluate_repository(
            session, db_repository(session, "shop"), settings, EVALUATED, []
        )
    run_round(sessions, settings, EVALUATED)
    (posted,) = slack_posts(slack, "/services/payments")
    assert "step integration-tests slowed down" in posted["text"]
    assert "3m00s -&gt; 7m00s" in posted["text"]  # Slack's markup escaped, as Slack asks
    # no author owns a slow step: nobody's direct message or mail, only the team's own list
    assert slack_posts(slack, "/api/chat.postMessage") == []
    assert [recipients for recipients, _ in inbox.mails] == [["payments@team.example"]]
