"""A loopback TCP proxy of the tests' own, in front of a real service (PostgreSQL): it can be cut
(every connection dropped, new ones refused), hung (connections stay open, nothing gets through,
as with a database that stops answering without resetting anything) and restored on the same
port."""

from __future__ import annotations

import socket
import threading

from tests import load


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream, self.port = upstream, load.free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.flowing = threading.Event()
        self.flowing.set()

    def open(self) -> TcpProxy:
        self.flowing.set()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        self._drop_all()

    def hang(self) -> None:
        """Nothing gets through any more, in either direction; nothing is closed either."""
        self.flowing.clear()

    def close(self) -> None:
        """Stop for good (the end of a test): wakes hung pumps, drops everything."""
        if self.listener is not None:
            try:
                self.listener.close()
            except OSError:
                pass
        self.flowing.set()
        self._drop_all()

    def _drop_all(self) -> None:
        with self.lock:
            for connection in self.connections:
                _drop(connection)
            self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                server = socket.create_connection(self.upstream)
            except OSError:
                return
            with self.lock:
                self.connections += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                target.sendall(data)
        except OSError:
            pass
        _drop(source)
        _drop(target)


def _drop(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()
