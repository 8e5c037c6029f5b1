"""examples/collector/otelcol.yaml against the collector's documented configuration structure
(receivers, processors, exporters, service.pipelines; the GitHub and GitLab receivers' `webhook`
block with endpoint, path, health_path and secret; otlphttp appending /v1/traces itself)."""

from __future__ import annotations

from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "collector" / "otelcol.yaml"
WEBHOOK_KEYS = {"endpoint", "path", "health_path", "secret"}


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_every_component_a_pipeline_names_is_configured():
    config = _config()
    assert set(config) == {"receivers", "processors", "exporters", "service"}
    (pipeline_name,) = config["service"]["pipelines"]
    assert pipeline_name == "traces"
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) == set(config[kind]), kind


def test_both_receivers_serve_a_secured_webhook_on_their_own_port():
    receivers = _config()["receivers"]
    assert set(receivers) == {"github", "gitlab"}
    ports = set()
    for receiver in receivers.values():
        webhook = receiver["webhook"]
        assert set(webhook) == WEBHOOK_KEYS
        assert webhook["secret"].startswith("${env:")  # never a secret in the file
        ports.add(webhook["endpoint"].rsplit(":", 1)[1])
    assert len(ports) == 2


def test_leadtime_gets_the_traces_with_a_token_and_another_backend_too():
    exporters = _config()["exporters"]
    leadtime = exporters["otlphttp/leadtime"]
    assert not leadtime["endpoint"].endswith("/v1/traces")  # otlphttp appends the signal's path
    assert leadtime["headers"]["Authorization"] == "Bearer ${env:LEADTIME_TOKEN}"
    assert any(name.split("/")[0] == "otlp" for name in exporters)
