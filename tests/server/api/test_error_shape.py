"""One error shape everywhere, `{"error": {"code", "message"}}`, and never a 500 for what a
client sends: routing's own 404 and 405, a time out of any calendar in UTC, JSON nested deeper
than any document leadtime reads (on OTLP and on a webhook)."""

from __future__ import annotations

import pytest

DEEP = b"[" * 100_000 + b"]" * 100_000


def error_of(answer) -> dict:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def test_routing_errors_come_in_the_one_shape(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert "no such path: /api/nothing-here" in error_of(missing)["message"]
    wrong = client.delete("/api/mergesets")
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "not-a-time"]
)
def test_a_time_out_of_range_is_a_400_not_a_500(client, since):
    answer = client.get("/api/mergesets", params={"since": since})
    assert answer.status_code == 400
    assert "is not an ISO 8601 time" in error_of(answer)["message"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/traces", {"content-type": "application/json"}),
        ("/webhooks/alertmanager", {"content-type": "application/json"}),
    ],
)
def test_json_nested_too_deeply_is_a_400(client, path, headers):
    answer = client.post(path, content=DEEP, headers=headers)
    assert answer.status_code == 400, answer.text[:200]
    assert "nested too deeply" in error_of(answer)["message"]
