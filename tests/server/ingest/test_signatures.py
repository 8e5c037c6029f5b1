"""The webhook verifiers at their edges, against a real server: GitLab's token must match
whole (not a prefix, not with more after it); a Standard Webhooks signature (GitLab's signing
token) is honoured within 5 minutes of its own timestamp, before or after, and refused outside
(a replay window, not an unlimited one); any one of the listed signatures may match, so a
secret can be rotated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.factories import load_payload
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

GITLAB_TOKEN = "gitlab-secret-token"
SIGNING_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_KEY = "whsec_b2xkIGtleSBiZWZvcmUgdGhlIHJvdGF0aW9uIQ=="
BODY = json.dumps(load_payload("gitlab_merge_request")).encode()


@pytest.fixture
def gitlab(engine, db_url):
    settings = settings_for(
        db_url, auth="off", gitlab_webhook_token=GITLAB_TOKEN, gitlab_signing_token=SIGNING_KEY
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
    wipe(engine)


def _signature(key: str, message_id: str, stamp: str) -> str:
    raw = base64.b64decode(key.removeprefix("whsec_"))
    signed = f"{message_id}.{stamp}.".encode() + BODY
    return "v1," + base64.b64encode(hmac.new(raw, signed, hashlib.sha256).digest()).decode()


def _signed(client, offset: float, signatures=None, message_id: str = "msg-1"):
    stamp = str(int(time.time() + offset))
    listed = signatures or [_signature(SIGNING_KEY, message_id, stamp)]
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": " ".join(item(stamp) if callable(item) else item for item in listed),
    }
    return client.post("/webhooks/gitlab", content=BODY, headers=headers)


@pytest.mark.parametrize("given", [GITLAB_TOKEN[:-1], GITLAB_TOKEN[:6], GITLAB_TOKEN + "x", ""])
def test_the_gitlab_token_matches_whole_or_not_at_all(gitlab, engine, given):
    headers = {"content-type": "application/json", "x-gitlab-token": given}
    refused = gitlab.post("/webhooks/gitlab", content=BODY, headers=headers)
    assert refused.status_code == 401
    assert count_rows(engine)["mergesets"] == 0
    exact = {**headers, "x-gitlab-token": GITLAB_TOKEN}
    assert gitlab.post("/webhooks/gitlab", content=BODY, headers=exact).status_code == 202


# Within 5 minutes either way of the signature's own timestamp, with 10 s to spare for a slow
# machine between signing here and checking there.
@pytest.mark.parametrize(("offset", "status"), [(-290, 202), (290, 202), (-310, 401), (310, 401)])
def test_a_signature_is_honoured_within_five_minutes_of_its_timestamp(gitlab, offset, status):
    answer = _signed(gitlab, offset)
    assert answer.status_code == status, answer.text
    if status == 401:
        assert "more than 5 minutes away" in answer.json()["error"]["message"]


@pytest.mark.parametrize("offset", [-3000, 3000, -86400 * 365, 86400 * 365])
def test_a_replay_far_outside_the_window_is_refused(gitlab, offset):
    assert _signed(gitlab, offset).status_code == 401


def test_any_listed_signature_may_match_so_a_secret_can_be_rotated(gitlab, engine):
    def new(stamp: str) -> str:
        return _signature(SIGNING_KEY, "msg-1", stamp)

    def old(stamp: str) -> str:
        return _signature(OLD_KEY, "msg-1", stamp)

    assert _signed(gitlab, 0, [old, new]).status_code == 202
    assert _signed(gitlab, 0, [new, old], message_id="msg-1").status_code == 202
    only_old = _signed(gitlab, 0, [old])
    assert only_old.status_code == 401
    assert "does not match" in only_old.json()["error"]["message"]
    assert _signed(gitlab, 0, ["v1,", "v2,abc"]).status_code == 401
