"""The shipped examples/deploy/nginx.conf, run by Debian's nginx in front of two real `leadtime
serve` replicas on PostgreSQL, one of them cut from its database: every POST still lands (nginx
sends it to the other replica), none is lost."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests import load
from tests.server.conftest import wipe
from tests.tcpproxy import TcpProxy

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def _config(directory: Path, listen: int, replicas: list[int]) -> Path:
    """The shipped file with loopback addresses for the replicas and the listener, and every path
    nginx writes inside `directory`; every other directive as shipped."""
    config = SHIPPED.read_text()
    for number, port in enumerate(replicas, start=1):
        config = config.replace(f"server leadtime-{number}:8000", f"server 127.0.0.1:{port}")
    assert config.count("server 127.0.0.1:") == len(replicas), "the upstream names changed"
    config = config.replace("listen 8000;", f"listen 127.0.0.1:{listen};")
    paths = "".join(f"  {name}_temp_path {directory / name};\n" for name in TEMP_PATHS)
    config = config.replace("http {\n", f"http {{\n  access_log off;\n{paths}", 1)
    path = directory / "nginx.conf"
    path.write_text(config)
    return path


def _start_nginx(directory: Path, config: Path, port: int) -> subprocess.Popen:
    main = f"daemon off; pid {directory / 'nginx.pid'}; error_log {directory / 'error.log'};"
    if os.geteuid() == 0:
        main += " user root;"  # workers would run as nobody, who cannot write the test's files
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(config), "-g", main],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            raise RuntimeError((directory / "error.log").read_text())
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


def _merge(n: int) -> dict:
    return {
        "repository": "acme/shop",
        "sha": f"{n + 1:040x}",
        "merged_at": f"2026-11-20T{10 + n // 60:02d}:{n % 60:02d}:00Z",
    }


@pytest.fixture
def replicas(db_url, engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a database server; SQLite is a file in each process")
    if NGINX is None:
        pytest.skip("Debian's nginx is not installed")
    real = make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).open()
    through_proxy = real.set(host="127.0.0.1", port=proxy.port)
    servers = [
        load.Server(db_url).start(),
        load.Server(through_proxy.render_as_string(hide_password=False)).start(),
    ]
    yield servers, proxy
    for server in servers:
        server.stop()
    proxy.close()
    wipe(engine)


def test_nginx_sends_a_post_refused_by_a_replica_without_its_database_to_the_other(
    replicas, engine, tmp_path
):
    servers, proxy = replicas
    listen = load.free_port()
    config = _config(tmp_path, listen, [server.port for server in servers])
    nginx = _start_nginx(tmp_path, config, listen)
    try:
        proxy.cut()  # the second replica loses its database; its process keeps running
        assert httpx.post(f"{servers[1].url}/api/merges", json=_merge(99)).status_code == 503
        answers = [
            httpx.post(f"http://127.0.0.1:{listen}/api/merges", json=_merge(n), timeout=60)
            for n in range(24)
        ]
    finally:
        nginx.terminate()
        nginx.wait(10)
    assert [answer.status_code for answer in answers] == [200] * 24
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM mergesets")).scalar()
    assert stored == 24  # 0 lost of 24
