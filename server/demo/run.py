"""The demo from end to end: a server on SQLite in a fresh directory, the repository and its
history, every pipeline run and its spans sent, a few pages after deploys, then a check for
regressions, and what to look at on the dashboard."""

from __future__ import annotations

import random
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvicorn

from leadtime.server.app import create_app
from leadtime.server.demo import history, pipelines
from leadtime.server.settings import Settings

DAYS = 35  # the 28-day baseline and the 7-day window that regressions compare
PAGED_AFTER = timedelta(minutes=14)
PAGES = (  # (share of the way through the history, title); each follows the deploy before it
    (0.3, "Checkout error rate above 5%"),
    (0.8, "p99 latency of /cart over 2 s"),
    (0.95, "Payment webhook queue backing up"),
)


class Server:
    """`leadtime serve` in a thread of this process, so the demo can fill it and then serve."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings), host=settings.host, port=settings.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{settings.host}:{settings.port}"

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def serve_until_interrupted(self) -> None:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(_signal, _frame) -> None:
    raise KeyboardInterrupt


def choose_port(wanted: int | None) -> int:
    """`wanted`, or 8000 if it is free, or any free port."""
    for port in (wanted,) if wanted else (8000, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                if wanted:
                    raise OSError(f"port {port} is in use; choose another with --port") from error
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def build(client: httpx.Client, work: Path, say: Callable[[str], None], seed: int) -> None:
    """Make the history, run and send its pipelines, page after a few deploys."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    started = time.monotonic()
    mergesets = history.build(work / "shop", end, DAYS, rng)
    squashed = sum(m.squashed for m in mergesets)
    authors = len({m.author for m in mergesets})
    say(
        f"git history: {len(mergesets)} mergesets over {DAYS} days by {authors} authors "
        f"({len(mergesets) - squashed - 1} merge commits, {squashed} squash merges) "
        f"in {work / 'shop'}  [{time.monotonic() - started:.1f}s]"
    )
    planned = pipelines.plan(mergesets, end, rng)
    runs = run_all(planned, work, say)
    spans = 0
    for ran in runs:  # oldest first, as they would have arrived
        pipelines.retime(ran)
        for request in ran.requests:
            client.post("/v1/traces", json=request).raise_for_status()
            spans += sum(len(s["spans"]) for r in request["resourceSpans"] for s in r["scopeSpans"])
    pages = send_pages(client, runs)
    say(f"sent {spans} spans and {pages} pages to the server")


def run_all(planned: list[pipelines.Pipeline], work: Path, say) -> list[pipelines.Ran]:
    """Every pipeline, a few at a time (each is mostly waiting on its short commands)."""
    started, done = time.monotonic(), 0
    runs: list[pipelines.Ran] = []
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(pipelines.run, p, work / "shop", work / "runs") for p in planned]
        for future in futures:
            runs.append(future.result())
            done += 1
            if done % 10 == 0 or done == len(planned):
                say(f"pipelines run through leadtime step/deploy: {done}/{len(planned)}")
    say(f"pipelines done  [{time.monotonic() - started:.1f}s]")
    return runs


def send_pages(client: httpx.Client, runs: list[pipelines.Ran]) -> int:
    deployed = [(ran, ran.finished_at) for ran in runs if ran.deployed and ran.finished_at]
    for share, title in PAGES:
        ran, finished_at = deployed[min(int(share * len(deployed)), len(deployed) - 1)]
        triggered = finished_at + PAGED_AFTER
        page = {
            "id": f"demo-page-{ran.pipeline.mergeset.number}",
            "service": pipelines.SERVICE,
            "title": title,
            "urgency": "high",
            "triggered_at": triggered.isoformat(),
            "acknowledged_at": (triggered + timedelta(minutes=4)).isoformat(),
            "resolved_at": (triggered + timedelta(minutes=38)).isoformat(),
        }
        client.post("/api/pages", json=page).raise_for_status()
    return len(PAGES)


def map_people(client: httpx.Client) -> None:
    """Every author but the last is named, with a second address; one team owns the shop."""
    named = history.AUTHORS[:-1]
    people = [
        {"name": name, "emails": [email, email.replace("@", "+git@")]} for name, email in named
    ]
    client.put("/api/people", json={"people": people}).raise_for_status()
    team = {
        "name": "shop",
        "members": [name for name, _ in named],
        "repositories": [history.REPOSITORY_URL],
        "services": [pipelines.SERVICE],
    }
    client.put("/api/teams", json={"teams": [team]}).raise_for_status()


def highlights(client: httpx.Client, url: str) -> list[str]:
    """What the dashboard shows, in a line each, from the same API it reads."""
    repo = {"repo": history.REPOSITORY_URL}
    lines = []
    slowest = client.get("/api/reports/slowest-steps", params={**repo, "window": "7d"}).json()
    for step in slowest["steps"][:1]:
        trend = f", {step['trend']:+.0%} on the week before" if step["trend"] is not None else ""
        lines.append(
            f"slowest step this week: {step['name']}, p50 {_minutes(step['p50'])}{trend} "
            f"({url}/slowest?{urlencode(repo)})"
        )
    for alert in client.get("/api/alerts", params={"status": "open"}).json():
        lines.append(f"regression alert: {alert['message']}")
    deploys = client.get("/api/deploys", params={"limit": 500}).json()
    batched = [d for d in deploys if d["batched"]]
    failed = [d for d in deploys if d["status"] == "failed"]
    if batched:
        lines.append(
            f"batched deploys: {len(batched)}, the largest shipping "
            f"{max(len(d['mergesets']) for d in batched)} mergesets"
        )
    lines.append(f"failed deploys: {len(failed)}")
    pages = client.get("/api/pages").json()
    suspects = sum(1 for page in pages if page["suspect"])
    lines.append(f"pages: {len(pages)}, {suspects} with a suspect deploy ({url}/pages)")
    known = client.get("/api/people").json()
    lines.append(
        f"people: {len(known['people'])} named, {len(known['unmapped'])} author not mapped "
        f"yet ({url}/people); team shop's weekly review ({url}/weekly?team=shop)"
    )
    return lines


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def demo(port: int | None, serve: bool, keep: bool, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    port = choose_port(port)
    work = Path(tempfile.mkdtemp(prefix="leadtime-demo-"))
    settings = Settings(
        database_url=f"sqlite:///{work / 'leadtime.db'}", host="127.0.0.1", port=port, auth="off"
    )
    server = Server(settings).start()
    try:
        say(f"server on {server.url} (SQLite in {work})")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            build(client, work, say, seed=7)
            map_people(client)
            client.post("/api/alerts/check").raise_for_status()
            say(f"ready in {time.monotonic() - started:.0f}s. On the dashboard, {server.url}/ :")
            for line in highlights(client, server.url):
                say(f"  - {line}")
        if serve:
            say("serving until interrupted (Ctrl-C)")
            server.serve_until_interrupted()
    finally:
        server.stop()
        if keep:
            say(f"kept: {work} (leadtime serve --db sqlite:///{work / 'leadtime.db'})")
        else:
            shutil.rmtree(work, ignore_errors=True)
