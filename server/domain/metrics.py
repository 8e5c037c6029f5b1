"""What leadtime knows, as metrics: `GET /metrics` in the Prometheus text format, for Prometheus,
Grafana or an OpenTelemetry Collector's prometheus receiver.

The CI/CD conventions define `cicd.pipeline.run.duration` and no lead time; the rest are
leadtime's own, named in the conventions' style. Names and labels follow OpenTelemetry's
Prometheus compatibility rules (dots become underscores, the unit a suffix, counters end in
`_total`):

- `cicd_pipeline_run_duration_seconds{cicd_pipeline_name, cicd_pipeline_result}`: histogram of
  every run whose result is known;
- `leadtime_lead_time_seconds{vcs_repository_name, deployment_environment_name}`: histogram of
  each mergeset's lead time, merge -> production, as /api/mergesets gives it (context never
  counted);
- `leadtime_deploys_total` and `leadtime_deploys_failed_total{vcs_repository_name,
  deployment_environment_name}`: finished deploys, and those that failed;
- `leadtime_mergesets_waiting{vcs_repository_name}`: mergesets no production deploy contains yet;
- `leadtime_step_duration_seconds{vcs_repository_name, cicd_pipeline_task_name}`: histogram of
  every step (queues, stages and roots are not steps).

Everything is worked out from the database at each scrape, over the whole history, so counts
only grow and a restart loses nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.lead_time import shipped_and_waiting
from leadtime.server.settings import Settings

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
RUN_BUCKETS = (
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
)
LEAD_TIME_BUCKETS = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 4 * HOUR, DAY, 7 * DAY, 30 * DAY)
STEP_BUCKETS = (5.0, 15.0, 30.0, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, HOUR)
FAILED = "failed"
REPOSITORY, ENVIRONMENT = "vcs_repository_name", "deployment_environment_name"


class _Histograms:
    """Observations per label values, as cumulative bucket counts and a sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * (len(bounds) + 1))
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        self.counts[labels][bisect_left(self.bounds, seconds)] += 1
        self.sums[labels] += seconds

    def family(self, name: str, documentation: str, label_names: list[str]) -> Metric:
        family = HistogramMetricFamily(name, documentation, labels=label_names, unit="seconds")
        edges = [*(f"{bound:g}" for bound in self.bounds), "+Inf"]
        for labels, counts in sorted(self.counts.items()):
            cumulative, running = [], 0
            for edge, count in zip(edges, counts, strict=True):
                running += count
                cumulative.append((edge, running))
            family.add_metric(list(labels), cumulative, self.sums[labels])
        return family


def _seconds(started: datetime, finished: datetime) -> float:
    return max((finished - started).total_seconds(), 0.0)


class LeadtimeCollector(Collector):
    """One scrape's metrics, read in one session."""

    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session, self.settings, self.now = session, settings, now

    def collect(self) -> Iterator[Metric]:
        names = {r.id: r.display_name for r in store.repositories(self.session)}
        yield self._runs()
        yield from self._lead_times()
        yield from self._deploys(names)
        yield self._steps(names)

    def _runs(self) -> Metric:
        runs = _Histograms(RUN_BUCKETS)
        for name, result, started, finished in store.finished_runs(self.session):
            runs.observe((name or "", result), _seconds(started, finished))
        return runs.family(
            "cicd_pipeline_run_duration",
            "Duration of a pipeline run (cicd.pipeline.run.duration).",
            ["cicd_pipeline_name", "cicd_pipeline_result"],
        )

    def _lead_times(self) -> Iterable[Metric]:
        shipped, waiting = shipped_and_waiting(self.session, self.settings, self.now)
        lead = _Histograms(LEAD_TIME_BUCKETS)
        environment = self.settings.production_environment
        for report in shipped:
            if report.lead_time is not None:
                lead.observe((report.repository, environment), report.lead_time.total_seconds())
        yield lead.family(
            "leadtime_lead_time",
            "Lead time of a mergeset: merge -> its first successful production deploy.",
            [REPOSITORY, ENVIRONMENT],
        )
        counted: dict[str, int] = defaultdict(int)
        for report in waiting:
            counted[report.repository] += 1
        gauge = GaugeMetricFamily(
            "leadtime_mergesets_waiting",
            "Mergesets no production deploy contains yet.",
            labels=[REPOSITORY],
        )
        for repository, count in sorted(counted.items()):
            gauge.add_metric([repository], count)
        yield gauge

    def _deploys(self, names: dict[int, str]) -> Iterable[Metric]:
        total = CounterMetricFamily(
            "leadtime_deploys", "Finished deploys.", labels=[REPOSITORY, ENVIRONMENT]
        )
        failed = CounterMetricFamily(
            "leadtime_deploys_failed",
            "Finished deploys that failed.",
            labels=[REPOSITORY, ENVIRONMENT],
        )
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for repository_id, environment, status, count in store.deploy_counts(self.session):
            key = (names.get(repository_id, "") if repository_id else "", environment)
            sums[key][0] += count
            sums[key][1] += count if status == FAILED else 0
        for labels, (all_deploys, failures) in sorted(sums.items()):
            total.add_metric(list(labels), all_deploys)
            failed.add_metric(list(labels), failures)
        yield total
        yield failed

    def _steps(self, names: dict[int, str]) -> Metric:
        steps = _Histograms(STEP_BUCKETS)
        for repository_id, name, started, finished in store.step_times(self.session):
            repository = names.get(repository_id, "") if repository_id else ""
            steps.observe((repository, name), _seconds(started, finished))
        return steps.family(
            "leadtime_step_duration",
            "Duration of a CI step (a span whose role is step).",
            [REPOSITORY, "cicd_pipeline_task_name"],
        )


def render(session: Session, settings: Settings, now: datetime) -> bytes:
    """The Prometheus text exposition of everything above."""
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(LeadtimeCollector(session, settings, now))
    return generate_latest(registry)
