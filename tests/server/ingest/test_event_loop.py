"""A big OTLP/JSON request is decoded off the event loop: while a real `leadtime serve` decodes
and stores 10,000 spans sent as JSON, `/healthz` probes every 100 ms keep answering. Before,
the probes waited for the whole decoding (about 70% of the request). The bound is a share of
the request's own duration in the same run, so a slow, loaded machine passes too."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.load import Server
from tests.server.otlp_payloads import ci, request, span

SPANS = 10_000


def _probed(server: Server, path: str, body: bytes, headers: dict) -> tuple:
    """Post `body` while probing /healthz every 100 ms: the answer, the longest probe, and how
    long the post took."""
    probes: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            sent = time.perf_counter()
            assert httpx.get(f"{server.url}/healthz", timeout=120).status_code == 200
            probes.append(time.perf_counter() - sent)
            time.sleep(0.1)

    prober = threading.Thread(target=probe)
    try:
        prober.start()
        sent = time.perf_counter()
        answer = httpx.post(f"{server.url}{path}", content=body, headers=headers, timeout=300)
        took = time.perf_counter() - sent
    finally:
        done.set()
        prober.join(120)
    assert len(probes) >= 3
    return answer, max(probes), took


@pytest.mark.slow
def test_healthz_answers_while_a_10000_span_json_request_is_decoded(tmp_path):
    start = datetime.now(UTC) - timedelta(hours=1)
    body = request(
        [
            span(
                f"{i // 100:032x}",
                f"{i:016x}",
                f"step {i % 37}",
                start,
                start + timedelta(seconds=5),
                ci("feature/x", "f" * 40, i // 100),
            )
            for i in range(SPANS)
        ]
    )
    server = Server(f"sqlite:///{tmp_path / 'loop.db'}").start()
    try:
        answer, longest, took = _probed(
            server, "/v1/traces", body, {"content-type": "application/json"}
        )
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text[:200]
    print(f"longest /healthz probe {longest:.2f} s during a {took:.1f} s 10,000-span request")
    assert longest < 0.4 * took, (longest, took)
