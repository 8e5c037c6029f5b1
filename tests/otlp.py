"""A real OTLP/HTTP trace receiver for the tests, on a free loopback port.

Decodes what arrives with opentelemetry-proto (protobuf, gzip or not) and keeps every span as a
plain dict. Its `mode` says how it answers: "ok" (200), "error" (500), "hang" (reads the
request, never answers until it is closed); `statuses` answers a request holding a span of a
given name with that status instead (and keeps nothing of it unless the status is a 2xx);
`delay` holds each answer back that many seconds.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    start_ns: int
    end_ns: int
    attributes: dict
    resource: dict


@dataclass
class Receiver:
    mode: str = "ok"
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds each answer is held back: a slow server

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def by_name(self, name: str) -> ReceivedSpan:
        matches = [span for span in self.spans if span.name == name]
        assert len(matches) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans]}"
        return matches[0]

    def status_for(self, body: bytes, headers: dict) -> int:
        names = {
            span.name
            for resource_spans in _request(body, headers).resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        }
        return next((code for name, code in self.statuses.items() if name in names), 200)

    def accept(self, body: bytes, headers: dict) -> None:
        request = _request(body, headers)
        with self.lock:
            self._keep(request, headers)

    def _keep(self, request: ExportTraceServiceRequest, headers: dict) -> None:
        self.requests.append(headers)
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            kind=span.kind,
                            status_code=span.status.code,
                            start_ns=span.start_time_unix_nano,
                            end_ns=span.end_time_unix_nano,
                            attributes={kv.key: _value(kv.value) for kv in span.attributes},
                            resource=resource,
                        )
                    )


def _request(body: bytes, headers: dict) -> ExportTraceServiceRequest:
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return ExportTraceServiceRequest.FromString(body)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if receiver.mode == "hang":
                receiver.release.wait(30)
                return
            if receiver.mode == "error":
                self._answer(500, b"internal error")
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            time.sleep(receiver.delay)
            status = receiver.status_for(body, headers)
            if 200 <= status < 300:
                receiver.accept(body, headers)
            self._answer(status, ExportTraceServiceResponse().SerializeToString())

        def _answer(self, status: int, body: bytes) -> None:
            body = b"" if status == 204 else body  # "No Content" means none
            self.send_response(status)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


class RunningReceiver:
    """Start with `with RunningReceiver() as receiver:`; stops its server on exit."""

    def __init__(self, mode: str = "ok", port: int = 0) -> None:
        self.receiver = Receiver(mode=mode)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.receiver))
        self.server.daemon_threads = True
        self.receiver.port = self.server.server_port

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.receiver

    def __exit__(self, *exc) -> None:
        self.receiver.release.set()
        self.server.shutdown()
        self.server.server_close()
