"""A real HTTP receiver on loopback for the alert notifiers: records every delivery and answers
with the statuses it is told to, in order (the last one repeats)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class HookReceiver:
    def __init__(self, statuses: list[int] | None = None, reply: bytes | None = None) -> None:
        self.statuses = list(statuses or [200])
        self.reply = reply  # the body of a 200 (Slack's chat API answers JSON)
        self.deliveries: list[Delivery] = []
        self.arrived = threading.Condition()
        self.hold = threading.Event()  # cleared: requests wait until it is set again
        self.hold.set()
        self.knocked = threading.Event()  # a request has arrived (held or not)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.knocked.set()
                receiver.hold.wait(30)
                with receiver.arrived:
                    receiver.deliveries.append(
                        Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answered = min(len(receiver.deliveries), len(receiver.statuses))
                    status = receiver.statuses[answered - 1]
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                if status == 200:
                    self.wfile.write(receiver.reply or b"ok")
                else:
                    self.wfile.write(b"rollup_error")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Delivery]:
        """The deliveries once there are at least `count` (fails the test after `timeout`)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise AssertionError(f"{len(self.deliveries)} deliveries arrived, not {count}")
            return list(self.deliveries)

    def __enter__(self) -> HookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
