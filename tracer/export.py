"""Send encoded spans to every configured target within one time bound, spooling what fails.

Targets: the OTLP/HTTP endpoint of the standard OTEL_EXPORTER_OTLP_* variables, the leadtime
server (`LEADTIME_URL` + `/v1/traces`, `LEADTIME_TOKEN` as bearer token), and a file of OTLP/JSON
lines (`LEADTIME_TRACE_FILE`, the default when no endpoint is set). Encoding uses the official
OTLP encoder; sending is one HTTP attempt per target, all targets at once, so a hung endpoint
costs at most the bound (`LEADTIME_EXPORT_TIMEOUT`, default 2 s) and never the step. What a
target did not accept goes to the spool, in the target's own folder. Retry rules follow the OTLP
spec: a 4xx other than 408 and 429 is permanent (the data is dropped with a warning), anything
else is kept for the next try; a spooled entry answered 5xx waits for a later try without
holding up the entries behind it. A step's document in the spool (facts.py) is built into its
request when it is sent (replay.py).
This module knows nothing of attributes; `send` returns a result instead of raising.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from leadtime.tracer import __version__, replay
from leadtime.tracer.config import TracerConfig
from leadtime.tracer.spool import DOCUMENT_SUFFIX, Spool
from leadtime.tracer.targets import Target, targets_from

RETRYABLE_CLIENT_ERRORS = (408, 429)  # a 4xx worth sending again (OTLP/HTTP's rules)
MAX_RESPONSE_BYTES = 64 * 1024
GROUP_BYTES = 1024 * 1024  # spooled requests sent in one body, well under a server's body limit


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    retryable: bool = True
    message: str = ""
    status: int | None = None  # the HTTP status, when the target answered at all

    @property
    def target_away(self) -> bool:
        """No answer at all: every other entry for the target would fail the same way now."""
        return not self.accepted and self.retryable and self.status is None


@dataclass
class FlushReport:
    sent: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)
    set_aside: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def count(self, counts: dict[str, int], label: str) -> None:
        counts[label] = counts.get(label, 0) + 1

    def warnings(self) -> list[str]:
        """One phrase per target whose entries were dropped or set aside."""
        phrases = []
        for label, dropped in sorted(self.dropped.items()):
            phrases.append(f"{label} rejected {dropped} spooled request(s) for good, dropped")
        for label, aside in sorted(self.set_aside.items()):
            phrases.append(f"{aside} unreadable spooled request(s) for {label} moved to .corrupt/")
        return phrases


def to_otlp_json(body: bytes) -> str:
    """Protobuf request bytes as one line of OTLP/JSON (hex ids, integer enums)."""
    request = ExportTraceServiceRequest.FromString(body)
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(_ids_to_hex(document), separators=(",", ":"))


def _ids_to_hex(node: object) -> object:
    # OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping uses base64.
    if isinstance(node, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str)
            else _ids_to_hex(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_hex(item) for item in node]
    return node


def send(target: Target, body: bytes, timeout: float) -> SendResult:
    """One attempt to hand `body` to `target` within `timeout` seconds. Never raises."""
    if timeout <= 0:
        return SendResult(False, message="no time left")
    try:
        if target.kind == "file":
            return _append_line(Path(target.location), to_otlp_json(body))
        return _post(target, body, min(timeout, target.timeout_cap or timeout))
    except Exception as error:  # a telemetry failure must never reach the step's outcome
        return SendResult(False, message=f"{type(error).__name__}: {error}")


def _append_line(path: Path, line: str) -> SendResult:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of a whole line with O_APPEND, so parallel steps never interleave lines.
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return SendResult(True)


def _post(target: Target, body: bytes, timeout: float) -> SendResult:
    url = urlsplit(target.location)
    if url.scheme not in ("http", "https") or not url.hostname:
        return SendResult(False, retryable=False, message=f"not an http(s) URL: {target.location}")
    connection_class = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(url.hostname, url.port, timeout=timeout)
    headers = {
        "content-type": "application/x-protobuf",
        "user-agent": f"leadtime/{__version__}",
        **target.headers,
    }
    if target.gzip:
        body = gzip.compress(body, compresslevel=5)
        headers["content-encoding"] = "gzip"
    try:
        connection.request("POST", url.path or "/v1/traces", body=body, headers=headers)
        response = connection.getresponse()
        reply = response.read(MAX_RESPONSE_BYTES)
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return SendResult(True, status=response.status)
    detail = reply.decode("utf-8", "replace").strip()[:200]
    permanent = 400 <= response.status < 500 and response.status not in RETRYABLE_CLIENT_ERRORS
    return SendResult(
        False,
        retryable=not permanent,
        message=f"HTTP {response.status}" + (f": {detail}" if detail else ""),
        status=response.status,
    )


def _send_all(targets: Sequence[Target], body: bytes, deadline: float) -> list[SendResult]:
    """Send to every target at once; a target still busy at `deadline` counts as failed."""
    results: list[SendResult | None] = [None] * len(targets)

    def attempt(index: int) -> None:
        results[index] = send(targets[index], body, deadline - time.monotonic())

    threads = [
        threading.Thread(target=attempt, args=(i,), daemon=True) for i in range(len(targets))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [result or SendResult(False, message="timed out") for result in results]


def deliver(body: bytes, config: TracerConfig, deadline: float, sampled: bool = True) -> list[str]:
    """Export `body` to every target by `deadline`; spool what was not accepted, then use any
    time left to send older spooled entries to the targets that just worked. Returns problems,
    each one short phrase, for the caller's single warning line. An unsampled trace goes to
    the leadtime server only (targets.targets_from)."""
    targets = targets_from(config, sampled)
    spool = Spool(config.spool_dir)
    problems = []
    working = []
    for target, result in zip(targets, _send_all(targets, body, deadline), strict=True):
        if result.accepted:
            working.append(target)
        elif result.retryable:
            problems.append(_spool_or_say(spool, target, body, result))
        else:
            problems.append(f"{target.kind} rejected the spans for good ({result.message})")
    report = FlushReport()
    for target in working:
        # Another step or flush sending this target's spool now: leave it to that one.
        flush_target(spool, target, deadline, report, wait=False)
    return problems + report.warnings()


def _spool_or_say(spool: Spool, target: Target, body: bytes, result: SendResult) -> str:
    try:
        spool.put(target.spool_key, body)
    except OSError as error:
        return f"{target.kind} failed ({result.message}) and the spool is not writable ({error})"
    return f"{target.kind} failed ({result.message}); spooled for `leadtime flush`"


def _request_of(entry: Path, raw: bytes) -> bytes | None:
    """The OTLP request an entry holds (a step's document is built into one); None when it
    cannot be read as one."""
    try:
        if entry.name.endswith(DOCUMENT_SUFFIX):
            return replay.request_of(json.loads(raw))
        return raw if ExportTraceServiceRequest.FromString(raw).resource_spans else None
    except Exception:  # protobuf's DecodeError, bad JSON, or anything a damaged file provokes
        return None


def flush_target(
    spool: Spool,
    target: Target,
    deadline: float,
    report: FlushReport,
    label: str | None = None,
    wait: bool = True,
    held: int | None = None,
) -> None:
    """Send `target`'s spooled entries oldest first, under its lock, until time runs out or the
    target does not answer at all. `held`: the descriptor of the lock, already taken (closed
    once the first round is sent).

    A step writes its entry before it tries the lock, and gives up at once when another
    process holds it; so whoever holds it looks again after letting go, and takes another
    round for entries that arrived meanwhile, unless the lock is someone else's by then."""
    label, key = label or target.kind, target.spool_key
    tried: set[str] = set()
    waiting = deadline if wait else None
    while True:
        if held is not None:
            away = _send_entries(spool, target, deadline, report, label, tried)
            os.close(held)
            held = None
        else:
            with spool.locked(key, waiting) as mine:
                if not mine:
                    if not tried:
                        report.errors[label] = "another leadtime is sending them"
                    break
                away = _send_entries(spool, target, deadline, report, label, tried)
        waiting = None
        if away or time.monotonic() >= deadline:
            break
        if all(entry.name in tried for entry in spool.pending(key)):
            break
    left = len(spool.pending(key))
    report.remaining[label] = report.remaining.get(label, 0) + left
    if tried or not left:
        spool.note_problem(key, _problem(report, label, target.kind, left))


def _problem(report: FlushReport, label: str, kind: str, left: int) -> str | None:
    """What the next step should say about this try (spool.note_problem); None: all went."""
    phrases = []
    error = report.errors.get(label)
    if report.dropped.get(label):
        phrases.append(
            f"{kind} rejected {report.dropped[label]} span request(s) for good ({error}), dropped"
        )
    if left and error:
        phrases.append(
            f"{left} span request(s) wait in the spool for {kind}: the last try failed ({error})"
            "; the next step or `leadtime flush` sends them"
        )
    return "; ".join(phrases) or None


def _send_entries(
    spool: Spool,
    target: Target,
    deadline: float,
    report: FlushReport,
    label: str,
    tried: set[str],
) -> bool:
    """The entries not tried yet, oldest first, several to a request (up to GROUP_BYTES): a
    backlog goes over a few connections, not one per entry. True when the target is away."""
    group: list[tuple[Path, bytes]] = []
    size = 0
    for entry in spool.pending(target.spool_key):
        if entry.name in tried:
            continue
        tried.add(entry.name)
        try:
            raw = entry.read_bytes()
        except OSError:
            continue  # gone (removed by hand) or unreadable now: the next run looks again
        body = _request_of(entry, raw)
        if body is None:
            spool.set_aside(entry)
            report.count(report.set_aside, label)
            continue
        if group and size + len(body) > GROUP_BYTES:
            if not _send_group(spool, target, group, deadline, report, label):
                return True
            group, size = [], 0
        group.append((entry, body))
        size += len(body)
    return bool(group) and not _send_group(spool, target, group, deadline, report, label)


def _send_group(
    spool: Spool,
    target: Target,
    group: list[tuple[Path, bytes]],
    deadline: float,
    report: FlushReport,
    label: str,
) -> bool:
    """Send spooled entries as one request: serialized OTLP requests concatenate into one whose
    resource spans are all of theirs. False when the target is away (stop for now)."""
    result = send(target, b"".join(body for _, body in group), deadline - time.monotonic())
    if result.accepted:
        for entry, _ in group:
            report.count(report.sent, label)
            spool.remove(entry)
        return True
    if not result.retryable and len(group) > 1:
        # One entry the target refuses must not take the others with it: find it alone.
        return all(_send_group(spool, target, [item], deadline, report, label) for item in group)
    report.errors[label] = result.message
    if not result.retryable:
        report.count(report.dropped, label)
        spool.remove(group[0][0])
        return True
    return not result.target_away  # kept; an entry answered 5xx is kept without blocking the rest


def flush(config: TracerConfig, deadline: float) -> FlushReport:
    """Send every spooled entry whose target is configured now; report what is left. Entries of
    a target not configured now (another endpoint, another token) stay where they are."""
    spool = Spool(config.spool_dir)
    report = FlushReport()
    configured = {target.spool_key: target for target in targets_from(config)}
    for key in spool.folders():
        if key in configured:
            flush_target(spool, configured[key], deadline, report)
            continue
        left = len(spool.pending(key))
        if left:
            label = f"{key.split('-', 1)[0]} (another endpoint or token)"
            report.remaining[label] = report.remaining.get(label, 0) + left
            report.errors[label] = "its endpoint is not configured now"
    return report
