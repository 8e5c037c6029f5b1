"""W3C trace context for a pipeline run.

Every job of one pipeline run must land in one trace without passing state between machines, so
the trace id is derived from what every job can read: the CI provider, its run id and the attempt
(as honeycomb's buildevents does). The root span id is derived from the trace id, so steps can name
their parent before, or without, `leadtime pipeline end` ever sending the root span.
Format: https://www.w3.org/TR/trace-context/#traceparent-header
"""

from __future__ import annotations

import os

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
