"""What `leadtime backfill` reads from a checkout's messages and deploy logs, and the clear
errors a bad deploy log gets (file, line, field)."""

from __future__ import annotations

import json

import pytest

from leadtime.server.ingest.checkout import deploy_log, pull_request


@pytest.mark.parametrize(
    ("subject", "body", "found"),
    [
        ("Merge pull request #412 from acme/cart", "Add the cart\n\nmore", (412, "Add the cart")),
        ("Fix the total (#42)", "", (42, "Fix the total")),
        (
            "Merge branch 'cart' into 'main'",
            "Add cart\n\nSee merge request acme/shop!17",
            (17, "Add cart"),
        ),
        ("Merge branch 'cart'", "", (None, None)),
        ("Bump (#x)", "", (None, None)),
        ("Release (#12) notes", "", (None, None)),
    ],
)
def test_pull_requests_are_read_as_the_forges_write_them(subject, body, found):
    assert pull_request(subject, body) == found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sha,when\nabc1234,2026-11-01T00:00:00Z\n", "the CSV header lacks finished_at"),
        ("sha,finished_at\nnot-a-sha,2026-11-01T00:00:00Z\n", "line 2: sha 'not-a-sha'"),
        ("sha,finished_at,status\nabc1234,2026-11-01T00:00:00Z,maybe\n", "line 2: status 'maybe'"),
        ("[1, 2]", "expected a JSON list of objects"),
        ("[{", "not JSON"),
    ],
)
def test_a_bad_deploy_log_says_where_and_what(tmp_path, text, message):
    log = tmp_path / "log.csv"
    log.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        deploy_log(log, "production")


def test_a_deploy_log_entry_without_environment_or_status_takes_the_defaults(tmp_path):
    log = tmp_path / "log.json"
    log.write_text(json.dumps([{"sha": "ABC1234", "finished_at": 1764000000}]))
    (entry,) = deploy_log(log, "staging")
    assert (entry.sha, entry.environment, entry.status) == ("abc1234", "staging", "succeeded")
    assert entry.finished_at.timestamp() == 1764000000
