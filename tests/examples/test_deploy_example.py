"""examples/deploy: what cannot run here (containers, systemd, nginx, the collector) is still
checked. The compose file against the Compose specification's schema, the collector config
against the collector's documented structure (and its leadtime exporter against a real server,
sending as that exporter sends), the units with `systemd-analyze verify`, and every setting
against the server's own Settings."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from leadtime.server.cli.serve import serve
from leadtime.server.settings import Settings
from tests import load

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def collector() -> dict:
    return yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())


def test_compose_file_follows_the_compose_specification():
    done = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_services_fit_together():
    services = compose()["services"]
    replicas = [name for name in services if name.startswith("leadtime-")]
    assert len(replicas) >= 2
    for name in replicas:
        assert services[name]["command"][:2] == ["leadtime", "serve"]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"] == ["leadtime", "db", "upgrade"]
    upstream = re.findall(r"server (\S+):8000", (DEPLOY / "nginx.conf").read_text())
    assert sorted(upstream) == sorted(replicas)  # the load balancer knows every replica
    leadtime_exporter = collector()["exporters"]["otlphttp/leadtime"]["endpoint"]
    assert httpx.URL(leadtime_exporter).host in services  # the collector reaches the balancer
    assert (DEPLOY / services["leadtime-1"]["env_file"]).is_file()


def test_env_file_holds_only_real_settings_and_they_load():
    names = []
    for line in (DEPLOY / "leadtime.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            names.append(line.split("=", 1)[0])
    known = {f"LEADTIME_{field.upper()}" for field in Settings.model_fields}
    assert set(names) <= known, set(names) - known
    settings = Settings(_env_file=DEPLOY / "leadtime.env")
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.writes_need_token and settings.migrate_on_start is False


# The collector's documented configuration: top-level sections, `type[/name]` component ids,
# pipelines naming defined components, and the settings of the components used here.
COMPONENT_SETTINGS = {
    ("receivers", "otlp"): {"protocols"},
    ("processors", "memory_limiter"): {
        "check_interval",
        "limit_mib",
        "spike_limit_mib",
        "limit_percentage",
        "spike_limit_percentage",
    },
    ("processors", "batch"): {"send_batch_size", "send_batch_max_size", "timeout"},
    ("exporters", "otlphttp"): {
        "endpoint",
        "traces_endpoint",
        "headers",
        "compression",
        "encoding",
        "timeout",
        "tls",
        "retry_on_failure",
        "sending_queue",
    },
    ("exporters", "otlp"): {
        "endpoint",
        "headers",
        "compression",
        "timeout",
        "tls",
        "retry_on_failure",
        "sending_queue",
    },
}


def test_collector_config_has_the_documented_structure():
    config = collector()
    assert set(config) <= {
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
        "service",
    }
    for section in ("receivers", "processors", "exporters"):
        for component, settings in config[section].items():
            kind = component.split("/", 1)[0]
            assert (section, kind) in COMPONENT_SETTINGS, component
            assert set(settings) <= COMPONENT_SETTINGS[(section, kind)], component
    assert set(config["receivers"]["otlp"]["protocols"]) <= {"grpc", "http"}
    for name, pipeline in config["service"]["pipelines"].items():
        assert name.split("/", 1)[0] in {"traces", "metrics", "logs"}
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(section, [])) <= set(config[section]), (name, section)
    exporters = config["service"]["pipelines"]["traces"]["exporters"]
    assert "otlphttp/leadtime" in exporters and len(exporters) >= 2  # fanned out


def test_the_collectors_leadtime_exporter_is_what_leadtime_takes(tmp_path):
    """Send as the otlphttp exporter configured there sends: protobuf to endpoint + /v1/traces,
    gzipped, with its Authorization header; leadtime stores the span."""
    exporter = collector()["exporters"]["otlphttp/leadtime"]
    database = f"sqlite:///{tmp_path / 'leadtime.db'}"
    server = load.Server(database, LEADTIME_AUTH="on").start()
    try:
        token = subprocess.run(
            [
                sys.executable,
                "-m",
                "leadtime.tracer",
                "token",
                "create",
                "collector",
                "--db",
                database,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        header = exporter["headers"]["Authorization"].replace("${env:LEADTIME_TOKEN}", token)
        span = Span(
            trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
            span_id=bytes.fromhex("eee19b7ec3c1b174"),
            name="build",
            start_time_unix_nano=1_763_632_800_000_000_000,
            end_time_unix_nano=1_763_632_860_000_000_000,
        )
        body = ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
        ).SerializeToString()
        assert exporter["compression"] == "gzip"
        url = httpx.URL(exporter["endpoint"]).copy_with(host="127.0.0.1", port=server.port)
        answer = httpx.post(
            f"{url}/v1/traces",
            content=gzip.compress(body),
            headers={
                "content-type": "application/x-protobuf",
                "content-encoding": "gzip",
                "authorization": header,
            },
        )
        assert answer.status_code == 200, answer.text
        refused = httpx.post(
            f"{url}/v1/traces",
            content=body,
            headers={"content-type": "application/x-protobuf"},
        )
        assert refused.status_code == 401  # the header is what lets it in
        steps = httpx.get(f"{server.url}/api/pipelines/5b8efff798038103d269b633813fc60c")
        assert "build" in steps.text
    finally:
        server.stop()


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    """`systemd-analyze verify` on the units, with their ExecStart pointed at this machine's
    leadtime (the only thing it would complain of: /opt/leadtime is not installed here)."""
    leadtime = Path(sys.executable).parent / "leadtime"
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/opt/leadtime/bin/leadtime", str(leadtime))
        text = text.replace("/usr/bin/otelcol-contrib", "/bin/true")
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(text)
    for unit in tmp_path.iterdir():
        done = subprocess.run(
            [SYSTEMD_ANALYZE, "verify", "--man=no", str(unit)], capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stderr == "", f"{unit.name}: {done.stderr}"


def test_unit_commands_are_leadtimes_own():
    """Each ExecStart's leadtime command line parses with the real CLI."""
    instance = (DEPLOY / "systemd" / "leadtime@.service").read_text()
    line = re.search(r"ExecStart=\S+/leadtime serve (.*)", instance).group(1)
    arguments = line.replace("%i", "8001").split()
    parsed = serve.make_context("serve", arguments)
    assert parsed.params["port"] == 8001 and parsed.params["host"] == "127.0.0.1"
    migrate = (DEPLOY / "systemd" / "leadtime-migrate.service").read_text()
    assert re.search(r"ExecStart=\S+/leadtime db upgrade$", migrate, re.M)
    # Enough descriptors for many clients: systemd's default 1,024 ran out at ~1,000 idle ones.
    assert int(re.search(r"^LimitNOFILE=(\d+)$", instance, re.M).group(1)) >= 16384
    help_text = CliRunner().invoke(serve, ["--help"]).output
    assert "--host" in help_text and "--port" in help_text
