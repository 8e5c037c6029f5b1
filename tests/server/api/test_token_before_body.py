"""A write without a live token is refused before its body is read: the 401 comes back while
the body has not even been sent, and many big unauthenticated uploads at once leave the
server's memory as it was (a real `leadtime serve` process, raw sockets)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.load import Server

BIG = 32 * 1024 * 1024


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("early") / "early.db"
    server = Server(f"sqlite:///{path}", LEADTIME_AUTH="on").start()
    yield server
    server.stop()


def _answer(connection: socket.socket) -> bytes:
    """Read until the answer's JSON body is in; a timeout if it never comes."""
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        data = connection.recv(4096)
        if not data:
            break
        answer += data
    return answer


def _headers_only(server: Server, path: str, authorization: str | None) -> bytes:
    """Send a POST's headers announcing a 32 MiB body, none of the body; what comes back."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: application/json",
        f"Content-Length: {BIG}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return _answer(connection)  # times out (an error) if the server waits for the body


@pytest.mark.parametrize("path", ["/v1/traces", "/api/merges", "/webhooks/alertmanager"])
@pytest.mark.parametrize("authorization", [None, "Bearer lt_not-a-token", "Basic eDp5"])
def test_a_write_without_a_live_token_is_refused_before_its_body(
    closed_server, path, authorization
):
    answer = _headers_only(closed_server, path, authorization)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"unauthorized"' in answer


def test_a_signed_webhook_is_judged_by_its_signature_after_the_body(closed_server):
    body = b'{"zen": "ping"}'
    request = (
        f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "X-GitHub-Event: ping\r\nX-Hub-Signature-256: sha256=00\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", closed_server.port), timeout=10) as connection:
        connection.sendall(request)
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 401") and b"signature" in answer.lower()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_many_big_unauthenticated_uploads_cost_no_memory(closed_server):
    assert closed_server.process is not None
    before = _rss_mib(closed_server.process.pid)
    chunk = b" " * (1024 * 1024)

    def upload() -> None:
        try:
            with socket.create_connection(("127.0.0.1", closed_server.port), timeout=20) as conn:
                conn.sendall(
                    f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {BIG}\r\n\r\n".encode()
                )
                for _ in range(BIG // len(chunk)):
                    conn.sendall(chunk)
        except OSError:
            pass  # refused and closed before the whole body went: what should happen

    uploads = [threading.Thread(target=upload) for _ in range(20)]
    for thread in uploads:
        thread.start()
    for thread in uploads:
        thread.join(120)
    grown = _rss_mib(closed_server.process.pid) - before
    print(f"server RSS grew {grown:.1f} MiB for 20 refused 32 MiB uploads")
    assert grown < 64, f"the server grew by {grown:.0f} MiB for 20 refused 32 MiB uploads"
