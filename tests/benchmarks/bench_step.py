"""How much time `leadtime step` adds to a CI step, against bare commands in the same run.

Run:  python tests/benchmarks/bench_step.py [--runs 20]

Installs leadtime from this checkout as a wheel into a temporary virtual environment (an
editable install adds an import hook that costs every Python process ~15 ms, which users of the
wheel never pay), starts a local OTLP/HTTP sink, a refusing port and a hanging port, and prints
the median wall time of each variant and what it adds over its baseline. The variants run
interleaved (A B C, A B C, ...), so a burst of load on this noisy machine hits them all alike.
A step's detached sender is waited for between runs (not counted: the step does not wait for
it either), so one run's sender never slows the next run.

The headline row is a step on the main branch of a real checkout with GitHub Actions variables
and the push event file the runner writes (what a merge's pipeline runs). Targets (issue 22):
`true` +30 ms at most (3x `python -c pass`), +40 ms in a checkout without CI variables,
`sleep 1` +10 ms, a refusing or hanging endpoint +50 ms, `leadtime deploy` +150 ms with its
span confirmed; a job of 20 instant steps and `leadtime pipeline end` sends all 21 spans.
With valgrind installed it also prints instruction counts (callgrind), which do not depend on
load: the step's own process, its forked children not counted.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN_SHA_FILE = "main-sha"


class Sink(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with Sink.lock:
            Sink.received += spans
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def install_wheel(workdir: Path) -> Path:
    """A venv with leadtime installed from a wheel; dependencies come from this interpreter."""
    wheels = workdir / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "leadtime-deps.pth").write_text(str(deps) + "\n")
    wheel = next(wheels.glob("leadtime-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--compile",
            str(wheel),
        ],
        check=True,
    )
    return venv / "bin"


def wait_for_senders(spool: Path, timeout: float = 60.0) -> None:
    """Until no detached sender holds a lock in `spool` (each holds its folders' locks)."""
    deadline = time.monotonic() + timeout
    for lock in spool.glob("*/.lock"):
        with open(lock, "a") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"a sender still holds {lock}") from None
                    time.sleep(0.01)


def timed_ms(commands: list[list[str]], env: dict[str, str], cwd: Path) -> float:
    """Run `commands` one after another; their wall time, then wait for what they left."""
    started = time.perf_counter()
    for command in commands:
        subprocess.run(
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    took = (time.perf_counter() - started) * 1000
    if env.get("LEADTIME_SPOOL_DIR"):
        wait_for_senders(Path(env["LEADTIME_SPOOL_DIR"]))
    return took


def github_env(base: dict[str, str], workdir: Path, branch: str, sha: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("OTEL_", "LEADTIME_", "GITHUB_"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="9753949763",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_WORKFLOW="ci",
        GITHUB_JOB="test",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_REF=f"refs/heads/{branch}",
        GITHUB_REF_NAME=branch,
        GITHUB_SHA=sha,
        GITHUB_EVENT_PATH=str(push_event(workdir, sha)),
        LEADTIME_SPOOL_DIR=str(workdir / "spool"),
    )
    return env


def push_event(workdir: Path, sha: str) -> Path:
    """The event file a GitHub runner writes for a push: the pushed commit's time and author,
    which a main-branch step reads from it instead of from git."""
    path = workdir / "event.json"
    head = {"id": sha, "timestamp": "2026-12-01T10:00:00Z", "author": {"email": "a@example.com"}}
    path.write_text(json.dumps({"head_commit": head}))
    return path


def make_checkout(path: Path) -> str:
    """A real repository with a few commits on main and an origin; its head sha."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for index in range(5):
        subprocess.run(
            [
                *("git", "-C", str(path), "-c", "user.name=a", "-c", "user.email=a@example.com"),
                *("commit", "-q", "--allow-empty", "-m", f"change {index}"),
            ],
            check=True,
        )
    subprocess.run(
        ["git", "-C", str(path), "remote", "add", "origin", "https://github.com/acme/shop.git"],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return head.stdout.strip()


def instructions(command: list[str], env: dict[str, str], cwd: Path) -> int | None:
    """The instructions callgrind counts for `command`'s own process (children not traced)."""
    if not shutil.which("valgrind"):
        return None
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if env.get("LEADTIME_SPOOL_DIR"):
        wait_for_senders(Path(env["LEADTIME_SPOOL_DIR"]))
    # The step forks once to start its sender; that child exits at once and reports what it
    # inherited: the largest count is the step's own process.
    counts = [int(count) for count in re.findall(r"Collected : (\d+)", done.stderr)]
    return max(counts) if counts else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bin_dir = install_wheel(workdir)
        leadtime, python = str(bin_dir / "leadtime"), str(bin_dir / "python")
        sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        refusing = socket.socket()
        refusing.bind(("127.0.0.1", 0))
        refused_port = refusing.getsockname()[1]
        refusing.close()  # nothing listens there now: connection refused
        hanging = socket.socket()
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(1000)  # accepts connections in the backlog, never answers

        checkout = workdir / "checkout"
        sha = make_checkout(checkout)
        main_ci = github_env(dict(os.environ), workdir, "main", sha)
        to_sink = {**main_ci, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_port}"}
        # A short export bound keeps the senders given up on a hanging endpoint short-lived.
        refused = {**to_sink, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{refused_port}"}
        hung = {
            **to_sink,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hanging.getsockname()[1]}",
            "LEADTIME_EXPORT_TIMEOUT": "0.5",
        }
        local = {k: v for k, v in to_sink.items() if not k.startswith("GITHUB_")}
        job = {**to_sink, "LEADTIME_RUN_ID": "bench-job"}

        step = [leadtime, "step", "x", "--"]
        twenty = [[*step, "true"] for _ in range(20)]
        rows = [
            ("true", [["true"]], main_ci, None),
            ("python -c pass", [[python, "-c", "pass"]], main_ci, None),
            ("leadtime step x -- true (main, GitHub vars)", [[*step, "true"]], to_sink, "true"),
            ("  same, in a checkout, no CI variables", [[*step, "true"]], local, "true"),
            ("  same, endpoint refusing", [[*step, "true"]], refused, "true"),
            ("  same, endpoint hanging", [[*step, "true"]], hung, "true"),
            ("leadtime deploy production -- true", [[leadtime, "deploy", "production", "--",
                                                     "true"]], to_sink, "true"),
            ("20 x true", [["true"]] * 20, main_ci, None),
            ("20 steps + leadtime pipeline end", [*twenty, [leadtime, "pipeline", "end",
                                                            "--result", "success"]], job,
             "20 x true"),
            ("sleep 1", [["sleep", "1"]], main_ci, None),
            ("leadtime step x -- sleep 1", [[*step, "sleep", "1"]], to_sink, "sleep 1"),
        ]  # fmt: skip
        slow = {"  same, endpoint hanging", "sleep 1", "leadtime step x -- sleep 1",
                "20 x true", "20 steps + leadtime pipeline end"}  # fmt: skip
        for _, commands, env, _ in rows:  # warm the page cache and .pyc files once
            timed_ms(commands[:2], env, checkout)
        times: dict[str, list[float]] = {label: [] for label, *_ in rows}
        received_before = Sink.received
        job_spans = []
        for round_number in range(args.runs):
            for label, commands, env, _ in rows:
                if label in slow and round_number >= max(3, args.runs // 2):
                    continue
                before = Sink.received
                times[label].append(timed_ms(commands, env, checkout))
                if env is job:
                    job_spans.append(Sink.received - before)
        report(rows, times)
        print(f"spans received by the sink in the timed runs: {Sink.received - received_before}")
        spool = workdir / "spool"
        waiting = [*spool.rglob("*.step.json"), *spool.rglob("*.otlp")]
        print(f"span entries left in the spool (refusing and hanging endpoints): {len(waiting)}")
        print(f"spans each job of 20 steps + pipeline end delivered (21 each): {job_spans}")
        counted = {
            "python -c pass": instructions([python, "-c", "pass"], main_ci, checkout),
            "leadtime step x -- true": instructions([*step, "true"], to_sink, checkout),
        }
        if all(counted.values()):
            base, ours = counted["python -c pass"], counted["leadtime step x -- true"]
            print(
                f"instructions (callgrind): python -c pass {base / 1e6:.0f} M, "
                f"leadtime step x -- true {ours / 1e6:.0f} M ({ours / base:.1f}x)"
            )
        sink.shutdown()
        hanging.close()


def report(rows, times: dict[str, list[float]]) -> None:
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"{'variant':52} {'runs':>5} {'median ms':>10} {'added ms':>9} {'ratio':>6}")
    for label, _, _, baseline in rows:
        added = ratio = ""
        if baseline:
            added = f"{medians[label] - medians[baseline]:+.1f}"
            ratio = f"{medians[label] / medians[baseline]:.2f}"
        print(f"{label:52} {len(times[label]):>5} {medians[label]:>10.1f} {added:>9} {ratio:>6}")
    floor = medians["python -c pass"] - medians["true"]
    headline = medians["leadtime step x -- true (main, GitHub vars)"] - medians["true"]
    print(f"step -- true adds {headline / medians['python -c pass']:.1f}x `python -c pass`")
    beyond = medians["leadtime step x -- sleep 1"] - medians["sleep 1"] - floor
    print(f"added to `sleep 1` beyond the interpreter start ({floor:.1f} ms): {beyond:+.1f} ms")


if __name__ == "__main__":
    main()
