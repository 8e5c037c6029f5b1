"""`leadtime demo`, the README's first command: a real repository with weeks of merges, a real
pipeline per mergeset, and a server whose API and dashboard show the slow step, the regression
alerts, the batched and failed deploys and the pages' suspect deploys."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import git
import httpx
import pytest

from tests import load
from tests.conftest import LEADTIME, clean_env, run_leadtime

SERVING = "serving until interrupted"


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = clean_env(tmp_path, TMPDIR=str(tmp_path))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """`leadtime demo` started once, read until it serves; interrupted at the end."""
    tmp_path = tmp_path_factory.mktemp("demo")
    port = load.free_port()
    process = subprocess.Popen(
        [*LEADTIME, "demo", "--port", str(port)],
        env=demo_env(tmp_path),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    # A demo that never gets there fails, not hangs; it takes about 60 s alone, and a loaded
    # machine has been seen at 3x that.
    timer = threading.Timer(600, process.kill)
    timer.start()
    for line in process.stderr:
        lines.append(line.rstrip())
        if SERVING in line:
            break
    timer.cancel()
    yield process, lines, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.kill()


def test_demo_shows_progress_and_what_to_look_at(serving):
    process, lines, url = serving
    assert process.poll() is None, "\n".join(lines)
    said = "\n".join(lines)
    assert f"server on {url}" in said
    assert re.search(r"git history: \d+ mergesets over 35 days by 5 authors", said)
    assert "pipelines run through leadtime step/deploy: 10/" in said  # progress while it works
    assert re.search(r"ready in \d+s", said)
    assert "slowest step this week: integration-tests" in said
    assert "regression alert" in said and "batched deploys" in said
    assert "Traceback" not in said


def test_demo_data_has_every_story_the_dashboard_tells(serving):
    _, _, url = serving
    with httpx.Client(base_url=url, timeout=30) as client:
        mergesets = client.get("/api/mergesets", params={"limit": 500}).json()
        assert len(mergesets) >= 30
        assert len({m["author"] for m in mergesets}) == 5
        deploys = client.get("/api/deploys", params={"limit": 500}).json()
        assert any(d["batched"] and len(d["mergesets"]) >= 3 for d in deploys)
        assert sum(d["status"] == "failed" for d in deploys) == 2
        repo = {"repo": "acme/shop"}
        slowest = client.get("/api/reports/slowest-steps", params={**repo, "window": "7d"})
        top = slowest.json()["steps"][0]
        assert top["name"] == "integration-tests" and top["trend"] > 0.5  # it slowed down
        alerts = client.get("/api/alerts", params={"status": "open"}).json()
        assert {(a["metric"], a["subject"]) for a in alerts} >= {
            ("lead_time", ""),
            ("step", "integration-tests"),
        }
        pages = client.get("/api/pages").json()
        assert len(pages) == 3
        for page in pages:  # each paged 14 minutes after the deploy it suspects
            assert page["suspect"]["status"] == "succeeded"
            assert page["seconds_after_deploy"] == pytest.approx(14 * 60, abs=6)
        # The spans are the tracer's own: a deploy span carries its first-parent history.
        deploy = next(d for d in deploys if d["source"] == "span" and d["mergesets"])
        run = client.get(f"/api/mergesets/{deploy['mergesets'][0]['sha']}/breakdown")
        assert run.status_code == 200
        # four of the five authors are named people; the fifth is shown unmapped, with her work
        known = client.get("/api/people").json()
        assert len(known["people"]) == 4
        (unmapped,) = known["unmapped"]
        authored = sum(m["author"] == unmapped["author"] for m in mergesets)
        assert unmapped["mergesets"] == authored > 0
        weekly = client.get("/api/reports/weekly", params={"team": "shop"}).json()
        assert weekly["repositories"][0]["repository"] == "acme/shop"


def test_demo_dashboard_in_the_browser(serving, browser):
    _, _, url = serving
    page = browser.new_page()
    try:
        page.goto(f"{url}/?repo=acme/shop")
        firing = page.locator(".alert.open")  # the regression alerts, on top
        assert {firing.nth(i).get_attribute("data-metric") for i in range(firing.count())} >= {
            "lead_time",
            "step",
        }
        assert "integration-tests" in firing.all_inner_texts()[0] + firing.all_inner_texts()[-1]
        assert page.locator("#batched").inner_text() != "0%"
        assert page.locator(".flag.batched").count() >= 1  # mergesets shipped in a batch
        page.goto(f"{url}/slowest?repo=acme/shop")
        assert "integration-tests" in page.inner_text("body")
        page.goto(f"{url}/pages")
        body = page.inner_text("body")
        assert "Checkout error rate above 5%" in body and "suspect" in body.lower()
    finally:
        page.close()


def test_every_url_the_demo_prints_answers_a_page_in_the_browser(serving, browser):
    _, lines, url = serving
    printed = sorted(set(re.findall(r"http://127\.0\.0\.1:\d+[^\s),]*", "\n".join(lines))))
    assert f"{url}/pages" in printed and any("/slowest?repo=" in link for link in printed)
    assert f"{url}/people" in printed and f"{url}/weekly?team=shop" in printed
    page = browser.new_page()
    try:
        for link in printed:
            response = page.goto(link)
            assert response is not None and response.status == 200, link
            assert response.headers["content-type"].startswith("text/html"), link
    finally:
        page.close()


def test_demo_stops_on_interrupt_and_cleans_up(serving):
    process, lines, _ = serving
    directory = re.search(r"SQLite in (\S+)\)", "\n".join(lines)).group(1)
    assert Path(directory).is_dir()
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert not Path(directory).exists()


def test_demo_no_serve_keep_leaves_a_real_repository(tmp_path):
    done = run_leadtime(["demo", "--no-serve", "--keep"], demo_env(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr
    directory = Path(re.search(r"kept: (\S+) ", done.stderr).group(1))
    assert (directory / "leadtime.db").is_file()
    repo = git.Repo(directory / "shop")
    main = list(repo.iter_commits("main", first_parent=True))
    merges = [c for c in main if len(c.parents) == 2]
    squashes = [c for c in main if len(c.parents) == 1 and c.message.rstrip().endswith(")")]
    assert len(merges) >= 10 and len(squashes) >= 5
    assert len({c.author.email for c in main}) == 5
    assert repo.remote("origin").url == "https://github.com/acme/shop.git"


def test_demo_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_leadtime(["demo", "--port", str(port)], demo_env(tmp_path))
    assert done.returncode == 1
    assert f"port {port} is in use" in done.stderr
    assert "Traceback" not in done.stderr
