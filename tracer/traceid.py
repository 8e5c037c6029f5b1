"""W3C trace context for a pipeline run.

Every job of one pipeline run must land in one trace without passing state between machines, so
the trace id is derived from what every job can read: the CI provider, its run id and the attempt
(as honeycomb's buildevents does). The root span id is derived from the trace id, so steps can name
their parent before, or without, `leadtime pipeline end` ever sending the root span.
Format: https://www.w3.org/TR/trace-context/#traceparent-header

With `LEADTIME_TRACE_IDS=github-receiver` on GitHub Actions, the ids are the OpenTelemetry
Collector GitHub receiver's instead (its `trace_event_handling.go`), so leadtime's steps nest
under the receiver's job spans in one trace: trace id = sha256(run id, attempt, "t") [:32 hex],
root span = sha256(run id, attempt, "s") [16:32], a job's span = sha256(check run id, "-j")
[16:32] (the receiver's default since v0.151; the check run id is `${{ job.check_run_id }}`,
given as LEADTIME_GITHUB_CHECK_RUN_ID), or sha256(run id, attempt, job name) [16:32] for older
receivers when no check run id is given.
"""

from __future__ import annotations

import os

# The module behind collections.abc, which `os` has loaded already.
from _collections_abc import Mapping

try:
    # The C module behind hashlib.blake2b: importing hashlib itself loads OpenSSL (about 6 ms),
    # and this runs before the step's command starts.
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - interpreters without the builtin module
    from hashlib import blake2b

_HEX = frozenset("0123456789abcdef")
# Field widths of version-trace_id-parent_id-flags; later versions may append fields.
_FIELD_WIDTHS = (2, 32, 16, 2)


class TraceParent:
    """A parsed `traceparent`: ids as integers, as the OpenTelemetry SDK holds them."""

    __slots__ = ("sampled", "span_id", "trace_id")

    def __init__(self, trace_id: int, span_id: int, sampled: bool = True) -> None:
        self.trace_id, self.span_id, self.sampled = trace_id, span_id, sampled


def _digest(*parts: str) -> bytes:
    return blake2b("\x1f".join(parts).encode(), digest_size=32).digest()


def _nonzero(value: int) -> int:
    # All-zero ids are invalid in W3C trace context; a digest hitting zero is astronomically
    # unlikely, but the fallback keeps the id valid rather than silently dropping the span.
    return value or 1


def pipeline_trace_id(provider: str, run_id: str, attempt: str | None) -> int:
    """The trace id shared by every job of one pipeline run attempt."""
    digest = _digest("leadtime.trace", provider, run_id, attempt or "1")
    return _nonzero(int.from_bytes(digest[:16], "big"))


def pipeline_root_span_id(trace_id: int) -> int:
    """The span id of the pipeline run's root span, known to every job in advance."""
    digest = _digest("leadtime.root", f"{trace_id:032x}")
    return _nonzero(int.from_bytes(digest[:8], "big"))


GITHUB_RECEIVER = "github-receiver"  # LEADTIME_TRACE_IDS: whose ids to derive
_GITHUB = "github"


def _sha256_hex(text: str) -> str:
    # The C module alone: hashlib loads OpenSSL (about 6 ms), before the step's command starts.
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12+
    except ImportError:
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.11
    return sha256(text.encode()).hexdigest()


def _receiver_ids(env: Mapping[str, str], found: Mapping[str, str]) -> tuple[int, int, int]:
    """(trace id, root span id, job span id) as the GitHub receiver derives them."""
    run, attempt = found["run_id"], found.get("attempt") or "1"
    trace_id = int(_sha256_hex(f"{run}{attempt}t")[:32], 16)
    root = int(_sha256_hex(f"{run}{attempt}s")[16:32], 16)
    check_run = env.get("LEADTIME_GITHUB_CHECK_RUN_ID")
    if check_run:
        job = int(_sha256_hex(f"{check_run}-j")[16:32], 16)
    elif found.get("job_name"):
        job = int(_sha256_hex(f"{run}{attempt}{found['job_name']}")[16:32], 16)
    else:
        job = root
    return _nonzero(trace_id), _nonzero(root), _nonzero(job)


def _receiver_derived(env: Mapping[str, str], found: Mapping[str, str]) -> bool:
    chosen = env.get("LEADTIME_TRACE_IDS", "").strip().lower()
    if chosen and chosen != GITHUB_RECEIVER:
        # A misspelled mode must not pass silently: the spans would land in another trace.
        from leadtime.tracer import warn

        warn(f"LEADTIME_TRACE_IDS={chosen!r} is not {GITHUB_RECEIVER!r}: using leadtime's own ids")
        return False
    if chosen and found.get("provider") != _GITHUB:
        return False  # the receiver's ids exist on GitHub Actions only
    return bool(chosen)


def run_ids(env: Mapping[str, str], found: Mapping[str, str]) -> tuple[int, int, int]:
    """(trace id, root span id, the parent of a step) of the pipeline run `found` names (it has
    a run id): leadtime's own, or the GitHub receiver's (see the module)."""
    if _receiver_derived(env, found):
        return _receiver_ids(env, found)
    trace_id = pipeline_trace_id(found["provider"], found["run_id"], found.get("attempt"))
    root = pipeline_root_span_id(trace_id)
    return trace_id, root, root


def random_trace_id() -> int:
    return _nonzero(int.from_bytes(os.urandom(16), "big"))


def random_span_id() -> int:
    return _nonzero(int.from_bytes(os.urandom(8), "big"))


def parse_traceparent(value: str | None) -> TraceParent | None:
    """Parse a `traceparent` value; None when absent or not valid (the spec says: ignore it)."""
    # Parsed by hand: the regular expression module costs milliseconds to import, and this runs
    # before the step's command starts.
    if not value:
        return None
    parts = value.strip().lower().split("-")
    if len(parts) < 4 or any(
        len(part) != width or not _HEX.issuperset(part)
        for part, width in zip(parts, _FIELD_WIDTHS, strict=False)
    ):
        return None
    version, trace_hex, span_hex, flags_hex = parts[:4]
    if version == "ff" or (version == "00" and len(parts) > 4):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return TraceParent(trace_id, span_id, sampled=bool(int(flags_hex, 16) & 1))


def format_traceparent(trace_id: int, span_id: int, sampled: bool = True) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"
