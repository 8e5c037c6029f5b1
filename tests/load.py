"""A mixed load for one or more real `leadtime serve` processes sharing one database: OTLP
batches, merges, deploys, GitHub and PagerDuty webhooks, each sent to every server at the same
moment (deliberate duplicates), retried on 503 as clients do. Used by the suite (small) and by
tests/benchmarks/bench_load.py (larger, with figures)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.server import otlp_payloads

REPO = "https://github.com/acme/load"
GITHUB_SECRET = "load-github-secret"
PAGERDUTY_SECRET = "load-pagerduty-secret"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `leadtime serve` process on a loopback port."""

    def __init__(
        self,
        database_url: str,
        port: int | None = None,
        args: tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.database_url, self.port, self.args = database_url, port or free_port(), args
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server's logging.
        self.log = tempfile.NamedTemporaryFile("w+", prefix="leadtime-serve-", suffix=".log")  # noqa: SIM115 (open while the server runs)

    def start(self) -> Server:
        env = {
            **os.environ,
            "LEADTIME_AUTH": "off",
            "LEADTIME_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "LEADTIME_PAGERDUTY_WEBHOOK_SECRET": PAGERDUTY_SECRET,
            "LEADTIME_ALERTS_ENABLED": "false",
            "LEADTIME_HOUSEKEEPING_ENABLED": "false",  # as settings_for: a test asks for it
            **self.settings,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadtime.tracer",
                "serve",
                "--port",
                str(self.port),
                "--db",
                self.database_url,
                *self.args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"leadtime serve exited: {self.logged()}")
            time.sleep(0.1)
        raise RuntimeError("leadtime serve did not become ready")

    def logged(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Request:
    kind: str  # "spans", "merge", "deploy", "github", "pagerduty"
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Tally:
    sent: Counter = field(default_factory=Counter)  # per kind, unique requests
    deliveries: int = 0  # requests made, duplicates and retries included
    retried: int = 0
    answers: Counter = field(default_factory=Counter)  # status codes
    failures: list[str] = field(default_factory=list)  # 5xx other than 503, or gave up

    def lock(self) -> threading.Lock:
        if not hasattr(self, "_lock"):
            self._lock = threading.Lock()
        return self._lock


def sha(n: int) -> str:
    return hashlib.sha1(f"load-{n}".encode()).hexdigest()


def workload(mergesets: int, runs: int, pages: int) -> list[list[Request]]:
    """Rounds of requests, each round sent before the next: first the merges (each mergeset's
    parent is the one before), then deploys (one per mergeset, 9 minutes after its merge),
    GitHub PR webhooks (the true merge time), pipeline runs as OTLP batches, and pages."""
    json_headers = {"content-type": "application/json"}
    merges, deploys, prs, spans, paged = [], [], [], [], []
    for n in range(mergesets):
        merged = T0 + timedelta(hours=n)
        body = {"repository": REPO, "sha": sha(n), "merged_at": merged.isoformat()}
        if n:
            body["parent_sha"] = sha(n - 1)
        merges.append(Request("merge", "/api/merges", json.dumps(body).encode(), json_headers))
        deploy = {
            "service": "load",
            "repository": REPO,
            "environment": "production",
            "sha": sha(n),
            "status": "succeeded",
            "id": f"release-{n}",
            "finished_at": (merged + timedelta(minutes=9)).isoformat(),
        }
        deploys.append(Request("deploy", "/api/deploys", json.dumps(deploy).encode(), json_headers))
        prs.append(github_pr(n, merged))
    for run in range(runs):
        steps = [
            otlp_payloads.span(
                f"{run + 1:032x}",
                f"{run + 1:08x}{index:08x}",
                name,
                T0 + timedelta(minutes=run, seconds=10 * index),
                T0 + timedelta(minutes=run, seconds=10 * index + 9),
                otlp_payloads.ci("main", sha(run % max(mergesets, 1)), run)
                | {"vcs.repository.url.full": REPO},
            )
            for index, name in enumerate(("checkout", "build", "unit", "lint", "package"))
        ]
        spans.append(
            Request("spans", "/v1/traces", otlp_payloads.request(steps, "load"), json_headers)
        )
    for n in range(pages):
        paged.append(pagerduty_page(n))
    return [merges, deploys + prs, spans + paged]


def github_pr(n: int, merged: datetime) -> Request:
    payload = {
        "action": "closed",
        "number": n + 1,
        "pull_request": {
            "number": n + 1,
            "title": f"Change {n}",
            "html_url": f"{REPO}/pull/{n + 1}",
            "merged": True,
            "merged_at": merged.isoformat().replace("+00:00", "Z"),
            "merge_commit_sha": sha(n),
            "user": {"login": f"dev{n % 5}"},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": "acme/load", "html_url": REPO, "default_branch": "main"},
    }
    body = json.dumps(payload).encode()
    signature = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": f"delivery-{n}",
        "x-hub-signature-256": f"sha256={signature}",
    }
    return Request("github", "/webhooks/github", body, headers)


def pagerduty_page(n: int) -> Request:
    triggered = (T0 + timedelta(hours=n, minutes=15)).isoformat().replace("+00:00", "Z")
    payload = {
        "event": {
            "id": f"event-{n}",
            "event_type": "incident.triggered",
            "occurred_at": triggered,
            "data": {
                "id": f"INCIDENT{n}",
                "type": "incident",
                "title": f"load page {n}",
                "created_at": triggered,
                "urgency": "high",
                "service": {"summary": "load"},
            },
        }
    }
    body = json.dumps(payload).encode()
    signature = hmac.new(PAGERDUTY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-pagerduty-signature": f"v1={signature}",
        "x-webhook-id": f"pd-delivery-{n}",
    }
    return Request("pagerduty", "/webhooks/pagerduty", body, headers)


def deliver(url: str, request: Request, tally: Tally, attempts: int = 30) -> None:
    """Send until accepted, retrying 503 (with its Retry-After, capped) as clients do."""
    for _ in range(attempts):
        try:
            response = httpx.post(
                url + request.path, content=request.body, headers=request.headers, timeout=20
            )
        except httpx.HTTPError as error:
            with tally.lock():
                tally.retried += 1
                tally.answers[type(error).__name__] += 1
            time.sleep(0.2)
            continue
        with tally.lock():
            tally.deliveries += 1
            tally.answers[response.status_code] += 1
        if response.status_code == 503:
            with tally.lock():
                tally.retried += 1
            time.sleep(min(float(response.headers.get("retry-after", "1")), 0.5))
            continue
        if response.status_code >= 400:
            with tally.lock():
                tally.failures.append(
                    f"{request.kind} {response.status_code} {response.text[:200]}"
                )
        return
    with tally.lock():
        tally.failures.append(f"{request.kind}: gave up after {attempts} attempts")


def run(
    urls: list[str], rounds: list[list[Request]], threads: int = 8, attempts: int = 30
) -> Tally:
    """Every request to every server at once (a barrier per request), rounds in order."""
    tally = Tally()
    with ThreadPoolExecutor(threads * len(urls)) as pool:
        for requests in rounds:
            futures = []
            for request in requests:
                tally.sent[request.kind] += 1
                for url in urls:
                    futures.append(pool.submit(deliver, url, request, tally, attempts))
            for future in futures:
                future.result()
    return tally


def stored(engine) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in (
                "steps",
                "mergesets",
                "deploys",
                "deploy_mergesets",
                "pages",
                "webhook_deliveries",
            )
        }


def report(tally: Tally, counts: dict[str, int], seconds: float, servers: int) -> str:
    sent = sum(tally.sent.values())
    return (
        f"{servers} server(s): {sent} requests sent to each ({dict(tally.sent)}), "
        f"{tally.deliveries} deliveries in {seconds:.1f}s ({tally.deliveries / seconds:.0f}/s), "
        f"{tally.deliveries - sent * servers} extra from retries, {tally.retried} retried, "
        f"answers {dict(tally.answers)}; stored {counts}; rejected {len(tally.failures)}"
    )
