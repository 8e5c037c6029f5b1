"""Where spans go: the targets the settings name, each with its own spool folder.

Light on purpose (no protobuf, no SDK): `leadtime step` picks a finished step's spool folders
with it before anything heavy is loaded.
"""

from __future__ import annotations

import json

from leadtime.tracer.config import TracerConfig
from leadtime.tracer.record_type import Record

try:  # the C module behind hashlib's sha256 (Python 3.11; 3.12 names it _sha2): hashlib itself
    # loads OpenSSL, about 7 ms
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:
    from hashlib import sha256


class Target(Record):
    kind: str
    location: str
    headers: dict[str, str] = {}  # noqa: RUF012 (copied for each record)
    gzip: bool = False
    timeout_cap: float | None = None

    @property
    def spool_key(self) -> str:
        """The spool folder of this target: its kind and a hash of where it is and of the
        credentials it is sent with, so an entry is never delivered to another target."""
        identity = json.dumps([self.kind, self.location, sorted(self.headers.items())])
        return f"{self.kind}-{sha256(identity.encode()).hexdigest()[:16]}"


def targets_from(config: TracerConfig, sampled: bool = True) -> list[Target]:
    """The configured targets. Spans of a trace the caller did not sample (TRACEPARENT `-00`)
    go to the leadtime server only: what it records (a step's duration, a deploy) is a fact,
    not a sample, while an OTLP backend or a trace file gets what sampling allows."""
    targets = []
    if config.otlp_endpoint and sampled:
        targets.append(
            Target(
                "otlp",
                config.otlp_endpoint,
                dict(config.otlp_headers),
                config.otlp_gzip,
                config.otlp_timeout,
            )
        )
    if config.leadtime_url:
        headers = (
            {"authorization": f"Bearer {config.leadtime_token}"} if config.leadtime_token else {}
        )
        targets.append(Target("leadtime", f"{config.leadtime_url}/v1/traces", headers, gzip=True))
    if config.trace_file and sampled:
        targets.append(Target("file", str(config.trace_file)))
    return targets
