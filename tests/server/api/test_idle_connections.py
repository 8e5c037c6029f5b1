"""Connections that never finish their headers are closed, and cannot starve the server: 200
idle connections and 50 that trickle a byte at a time, while /healthz is probed; then each of
them is closed by the server (a real `leadtime serve` process, raw sockets)."""

from __future__ import annotations

import os
import socket
import threading
import time

import httpx

from tests.load import Server


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _closed_by_server(connection: socket.socket, seconds: float) -> bool:
    connection.settimeout(seconds)
    try:
        return connection.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:  # reset: closed too
        return True


def test_idle_and_trickling_connections_are_closed_and_probes_answer(tmp_path):
    server = Server(
        f"sqlite:///{tmp_path / 'idle.db'}", LEADTIME_HEADER_TIMEOUT_SECONDS="1"
    ).start()
    assert server.process is not None
    stop = threading.Event()
    idle: list[socket.socket] = []
    trickling: list[socket.socket] = []
    try:
        before = _open_fds(server.process.pid)
        idle += [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
        trickling += [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]

        def trickle() -> None:
            line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
            for index in range(len(line)):
                if stop.is_set():
                    return
                for connection in trickling:
                    try:
                        connection.send(line[index : index + 1])
                    except OSError:
                        pass
                time.sleep(0.2)

        threading.Thread(target=trickle, daemon=True).start()
        probes = []
        for _ in range(10):
            sent = time.perf_counter()
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
            probes.append(time.perf_counter() - sent)
            time.sleep(0.1)
        assert max(probes) < 1.0, probes
        # Each is closed once its second is up (the trickle never ends its headers).
        assert all(_closed_by_server(connection, 10) for connection in idle)
        assert all(_closed_by_server(connection, 10) for connection in trickling)
        deadline = time.monotonic() + 10
        while _open_fds(server.process.pid) > before + 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _open_fds(server.process.pid) <= before + 10
    finally:
        stop.set()
        for connection in idle + trickling:
            connection.close()
        server.stop()
