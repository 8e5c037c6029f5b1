"""What tests of forge webhooks share: GitHub's secret, a signed delivery, and GitHub's example
of a merged pull request (octokit/webhooks, cut to what matters)."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.factories import load_payload

GITHUB_SECRET = "It's a Secret to Everybody"
MERGED = "9f2c1e0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"  # the example's merge commit
REPO = "https://github.com/octo/app"
PULL_REQUEST_MERGED = load_payload("github_pull_request_merged")


def github(client, event: str, payload: dict, delivery: str | None = None, **headers):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    sent = {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery or f"{event}-{hash(body)}",
        "x-hub-signature-256": signature,
        **headers,
    }
    return client.post("/webhooks/github", content=body, headers=sent)
