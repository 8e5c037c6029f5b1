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


def test_every_component_is_configured_and_used():
    config = _config()
    assert set(config) == {"receivers", "processors", "exporters", "service"}
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    for kind in ("receivers", "processors", "exporters"):
        used = {name for pipeline in pipelines.values() for name in pipeline[kind]}
        assert used == set(config[kind]), kind


def test_both_ci_receivers_serve_a_secured_webhook_on_their_own_port():
    receivers = _config()["receivers"]
    assert {"github", "gitlab"} <= set(receivers)
    ports = set()
    for name in ("github", "gitlab"):
        receiver = receivers[name]
        webhook = receiver["webhook"]
        assert set(webhook) == WEBHOOK_KEYS
        assert webhook["secret"].startswith("${env:")  # never a secret in the file
        ports.add(webhook["endpoint"].rsplit(":", 1)[1])
    assert len(ports) == 2


def test_leadtime_s_metrics_are_scraped_back_with_a_read_token():
    config = _config()
    (scrape,) = config["receivers"]["prometheus/leadtime"]["config"]["scrape_configs"]
    assert scrape["authorization"]["credentials"].startswith("${env:")
    assert scrape.get("metrics_path", "/metrics") == "/metrics"
    assert config["service"]["pipelines"]["metrics"]["receivers"] == ["prometheus/leadtime"]


def test_leadtime_gets_the_traces_with_a_token_and_another_backend_too():
    exporters = _config()["exporters"]
    leadtime = exporters["otlphttp/leadtime"]
    assert not leadtime["endpoint"].endswith("/v1/traces")  # otlphttp appends the signal's path
    assert leadtime["headers"]["Authorization"] == "Bearer ${env:LEADTIME_TOKEN}"
    assert any(name.split("/")[0] == "otlp" for name in exporters)
