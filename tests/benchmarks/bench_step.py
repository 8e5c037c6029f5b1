"""How much time `leadtime step` adds to a CI step, against bare commands in the same run.

Run:  python tests/benchmarks/bench_step.py [--runs 20]

Installs leadtime from this checkout as a wheel into a temporary virtual environment (an
editable install adds an import hook that costs every Python process ~15 ms, which users of the
wheel never pay), starts a local OTLP/HTTP sink, a refusing port and a hanging port, and prints
the median wall time of each variant and what it adds over its baseline. Targets (issue 2):
`sleep 1` +25 ms at most, `true` +200 ms at most, a dead endpoint within the export bound (2 s).
The environment is a GitHub Actions job on a feature branch, outside any checkout, so no git
read is needed; one more row runs inside a real checkout with no CI variables (git read).
"""

from __future__ import annotations

import argparse
import os
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


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Sink.received += 1
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


def run_quietly(command: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )


def median_ms(command: list[str], runs: int, env: dict[str, str], cwd: Path) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run_quietly(command, env, cwd)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def github_env(base: dict[str, str], workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("OTEL_", "LEADTIME_", "GITHUB_"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="9753949763",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_WORKFLOW="ci",
        GITHUB_JOB="test",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_REF="refs/heads/feature/x",
        GITHUB_REF_NAME="feature/x",
        GITHUB_SHA="8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d",
        LEADTIME_SPOOL_DIR=str(workdir / "spool"),
    )
    return env


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

        ci = github_env(dict(os.environ), workdir)
        to_sink = {**ci, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_port}"}
        refused = {**ci, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{refused_port}"}
        hung = {**ci, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hanging.getsockname()[1]}"}
        checkout = workdir / "checkout"
        subprocess.run(["git", "init", "-q", "-b", "main", str(checkout)], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(checkout),
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "first",
            ],
            check=True,
        )
        local = {k: v for k, v in to_sink.items() if not k.startswith("GITHUB_")}

        runs, slow_runs = args.runs, max(3, args.runs // 2)
        rows = [
            ("true", ["true"], runs, ci, workdir, None),
            ("python -c pass", [python, "-c", "pass"], runs, ci, workdir, None),
            (
                "leadtime step x -- true",
                [leadtime, "step", "x", "--", "true"],
                runs,
                to_sink,
                workdir,
                "true",
            ),
            (
                "  same, in a checkout, no CI variables (git read)",
                [leadtime, "step", "x", "--", "true"],
                runs,
                local,
                checkout,
                "true",
            ),
            (
                "  same, endpoint refusing",
                [leadtime, "step", "x", "--", "true"],
                runs,
                refused,
                workdir,
                "true",
            ),
            (
                "  same, endpoint hanging",
                [leadtime, "step", "x", "--", "true"],
                slow_runs,
                hung,
                workdir,
                "true",
            ),
            ("sleep 1", ["sleep", "1"], slow_runs, ci, workdir, None),
            (
                "leadtime step x -- sleep 1",
                [leadtime, "step", "x", "--", "sleep", "1"],
                slow_runs,
                to_sink,
                workdir,
                "sleep 1",
            ),
            (
                "  same, endpoint refusing",
                [leadtime, "step", "x", "--", "sleep", "1"],
                slow_runs,
                refused,
                workdir,
                "sleep 1",
            ),
            (
                "  same, endpoint hanging",
                [leadtime, "step", "x", "--", "sleep", "1"],
                slow_runs,
                hung,
                workdir,
                "sleep 1",
            ),
        ]
        for _, command, _, env, cwd, _ in rows:  # warm the page cache and .pyc files once
            run_quietly(command, env, cwd)
        medians: dict[str, float] = {}
        print(f"{'variant':56} {'runs':>5} {'median ms':>10} {'added ms':>9} {'ratio':>6}")
        for label, command, count, env, cwd, baseline in rows:
            medians[label] = median_ms(command, count, env, cwd)
            added = ratio = ""
            if baseline:
                added = f"{medians[label] - medians[baseline]:+.1f}"
                ratio = f"{medians[label] / medians[baseline]:.2f}"
            print(f"{label:56} {count:>5} {medians[label]:>10.1f} {added:>9} {ratio:>6}")
        floor = medians["python -c pass"] - medians["true"]
        beyond = medians["leadtime step x -- sleep 1"] - medians["sleep 1"] - floor
        print(f"added to `sleep 1` beyond the interpreter start ({floor:.1f} ms): {beyond:+.1f} ms")
        print(f"spans received by the sink: {Sink.received}")
        spooled = sum(1 for _ in (workdir / "spool").rglob("*.otlp"))
        print(f"spans spooled while the endpoint was refusing or hanging: {spooled}")
        sink.shutdown()
        hanging.close()


if __name__ == "__main__":
    main()
