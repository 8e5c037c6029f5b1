"""The tracer's settings: flags > LEADTIME_* > OTEL_* > defaults.

Every setting here is read after the step's command has started, and none of them can fail the
step: a value that does not parse gives one warning line and the default.
"""

from __future__ import annotations

import os
import sys
from _collections_abc import Mapping
from pathlib import Path

from leadtime.tracer import warn
from leadtime.tracer.record_type import Record

DEFAULT_EXPORT_TIMEOUT_SECONDS = 2.0
DEFAULT_HISTORY_LIMIT = 100
DEFAULT_MAIN_BRANCHES = ("main", "master")
DEFAULT_JUNIT_MAX_TESTS = 200


class TracerConfig(Record):
    export_timeout: float = DEFAULT_EXPORT_TIMEOUT_SECONDS
    leadtime_url: str | None = None
    leadtime_token: str | None = None
    otlp_endpoint: str | None = None
    otlp_headers: dict[str, str] = {}  # noqa: RUF012 (copied for each record)
    otlp_timeout: float | None = None
    otlp_gzip: bool = False
    trace_file: Path | None = None
    spool_dir: Path = Path(".leadtime-spool")
    service_name: str | None = None
    history_limit: int = DEFAULT_HISTORY_LIMIT
    main_branches: tuple[str, ...] = DEFAULT_MAIN_BRANCHES
    junit_max_tests: int = DEFAULT_JUNIT_MAX_TESTS

    # Every LEADTIME_ variable the tracer reads (the server tells a misspelled one by them).
    VARIABLES = (
        "LEADTIME_URL",
        "LEADTIME_TOKEN",
        "LEADTIME_TRACE_FILE",
        "LEADTIME_EXPORT_TIMEOUT",
        "LEADTIME_SPOOL_DIR",
        "LEADTIME_SERVICE",
        "LEADTIME_HISTORY_LIMIT",
        "LEADTIME_MAIN_BRANCHES",
        "LEADTIME_RUN_ID",
        "LEADTIME_TRACE_IDS",
        "LEADTIME_GITHUB_CHECK_RUN_ID",
        "LEADTIME_JUNIT_MAX_TESTS",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TracerConfig:
        env = os.environ if env is None else env
        otlp_endpoint = _otlp_traces_endpoint(env)
        leadtime_url = env.get("LEADTIME_URL") or None
        trace_file = env.get("LEADTIME_TRACE_FILE")
        if not trace_file and not otlp_endpoint and not leadtime_url:
            trace_file = str(user_dir("XDG_DATA_HOME", ".local/share", env) / "spans.jsonl")
        return cls(
            export_timeout=_positive_float(env, "LEADTIME_EXPORT_TIMEOUT")
            or DEFAULT_EXPORT_TIMEOUT_SECONDS,
            leadtime_url=leadtime_url.rstrip("/") if leadtime_url else None,
            leadtime_token=env.get("LEADTIME_TOKEN") or None,
            otlp_endpoint=otlp_endpoint,
            otlp_headers=_otlp_headers(env),
            otlp_timeout=_positive_float(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            or _positive_float(env, "OTEL_EXPORTER_OTLP_TIMEOUT"),
            otlp_gzip=_otlp_setting(env, "COMPRESSION").lower() == "gzip",
            trace_file=Path(trace_file).expanduser() if trace_file else None,
            spool_dir=Path(env["LEADTIME_SPOOL_DIR"]).expanduser()
            if env.get("LEADTIME_SPOOL_DIR")
            else user_dir("XDG_CACHE_HOME", ".cache", env) / "spool",
            service_name=env.get("LEADTIME_SERVICE") or None,
            history_limit=int(
                _positive_float(env, "LEADTIME_HISTORY_LIMIT") or DEFAULT_HISTORY_LIMIT
            ),
            main_branches=tuple(
                branch.strip()
                for branch in env.get(
                    "LEADTIME_MAIN_BRANCHES", ",".join(DEFAULT_MAIN_BRANCHES)
                ).split(",")
                if branch.strip()
            ),
            junit_max_tests=int(
                _positive_float(env, "LEADTIME_JUNIT_MAX_TESTS") or DEFAULT_JUNIT_MAX_TESTS
            ),
        )


def user_dir(xdg_variable: str, fallback: str, env: Mapping[str, str] | None = None) -> Path:
    # The XDG base directories (macOS: ~/Library/Caches). platformdirs does this too, but costs
    # 20 ms of import on every step for two paths.
    env = os.environ if env is None else env
    if env.get(xdg_variable):
        return Path(env[xdg_variable]) / "leadtime"
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "leadtime"
    return home / fallback / "leadtime"


def _otlp_setting(env: Mapping[str, str], name: str) -> str:
    """The signal-specific OTEL_EXPORTER_OTLP_TRACES_* value wins over the general one."""
    return (
        env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or env.get(f"OTEL_EXPORTER_OTLP_{name}") or ""
    )


def _otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    # OTLP exporter spec: the per-signal endpoint is used as is; the general one gets the
    # signal's path appended (https://opentelemetry.io/docs/specs/otel/protocol/exporter/).
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    return None


def _otlp_headers(env: Mapping[str, str]) -> dict[str, str]:
    # W3C Baggage-like list: key1=value1,key2=value2 with percent-encoded values.
    headers: dict[str, str] = {}
    if not _otlp_setting(env, "HEADERS"):
        return headers
    from urllib.parse import unquote  # 3 ms of import that most steps have no use for

    for item in _otlp_setting(env, "HEADERS").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip()).lower()] = unquote(value.strip())
        elif item.strip():
            warn(f"OTEL_EXPORTER_OTLP_HEADERS: ignoring {item.strip()!r}, expected key=value")
    return headers


def _positive_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value > 0:
        return value
    warn(f"{name}={raw!r} is not a positive number; using the default")
    return None
