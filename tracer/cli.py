"""The `leadtime` command line: step, deploy, pipeline and flush.

A thin shell: each command parses its arguments and calls the tracer's modules. The common forms
of `step` and `deploy` never get here (see launch.py); this is where their help and errors live.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import click

from leadtime.tracer import __version__, options, warn
from leadtime.tracer import attributes as attr

# The words CI systems use for how a run ended: GitHub's job.status, GitLab's CI_JOB_STATUS,
# Buildkite's step outcome, Jenkins' currentBuild.currentResult (lower-cased).
RESULT_ALIASES = {
    "succeeded": attr.RESULT_SUCCESS,
    "passed": attr.RESULT_SUCCESS,
    "soft_failed": attr.RESULT_SUCCESS,  # allowed to fail: the run goes on
    "unstable": attr.RESULT_SUCCESS,  # Jenkins: tests failed, the build itself succeeded
    "failed": attr.RESULT_FAILURE,
    "hard_failed": attr.RESULT_FAILURE,
    "cancelled": attr.RESULT_CANCELLATION,
    "canceled": attr.RESULT_CANCELLATION,
    "aborted": attr.RESULT_CANCELLATION,
    "skipped": attr.RESULT_SKIP,
    "timed_out": attr.RESULT_TIMEOUT,
}


class _Converted(click.ParamType):
    """A click type from one of the option table's converters."""

    def __init__(self, convert: Callable[[str], object], metavar: str) -> None:
        self.convert_value, self.name = convert, metavar

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.convert_value(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _with_options(table: Sequence[options.Option]):
    def decorate(function):
        for option in reversed(table):
            kind = (
                click.Choice(option.choices)
                if option.choices
                else _Converted(option.convert, option.metavar)
            )
            function = click.option(
                option.flag,
                option.dest,
                type=kind,
                multiple=option.multiple,
                metavar=option.metavar,
                help=option.help,
            )(function)
        return function

    return decorate


def step_call(kind: str, params: dict) -> tuple[str, list[str], dict]:
    """(name, command, keyword arguments of step.run_step) from the parsed `step` or `deploy`
    parameters; the same triple launch.step_arguments builds by hand."""
    values = {key: value for key, value in params.items() if value not in (None, ())}
    command = list(values.pop("command", ()))
    if not command:
        raise click.UsageError("no command given: put it after `--`, e.g. -- make test")
    if "attrs" in values:
        values["attrs"] = list(values["attrs"])
    if kind == "deploy":
        name = values.pop("name", None) or f"deploy {values['environment']}"
    else:
        name = values.pop("name")
    return name, command, values


def _run(kind: str, params: dict) -> None:
    from leadtime.tracer.step import run_step

    name, command, values = step_call(kind, params)
    sys.exit(run_step(name, command, **values))


SERVER_PACKAGE = "leadtime.server.cli"


class LazyGroup(click.Group):
    """click's documented lazy-loading group: the server's commands are imported only when
    called, so `leadtime step` never pays for FastAPI or SQLAlchemy. Which commands the server
    has is the server's to say: its CLI package's COMMANDS table, read only when a name is not
    one of the tracer's own."""

    def _server_commands(self) -> dict[str, str]:
        import importlib

        return importlib.import_module(SERVER_PACKAGE).COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._server_commands()])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = self._server_commands().get(name)
        if target is None:
            return None
        import importlib

        module, attribute = target.split(":")
        return getattr(importlib.import_module(f"{SERVER_PACKAGE}.{module}"), attribute)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="leadtime")
def cli() -> None:
    """leadtime: every CI/CD step a span, every mergeset a lead time.

    Wrap each pipeline step with `leadtime step`, each deploy with `leadtime deploy`. Spans go to
    OTEL_EXPORTER_OTLP_ENDPOINT, to a leadtime server (LEADTIME_URL), or else to a local file
    (LEADTIME_TRACE_FILE); whatever cannot be sent waits for `leadtime flush`.
    """


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("name")
@_with_options(options.STEP_OPTIONS)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND...")
def step(**params) -> None:
    """Run COMMAND as the pipeline step NAME and record it as a span.

    The command keeps the terminal: its output streams as usual, signals reach it, and leadtime
    exits with its exit code (127 not found, 126 not executable, 128+N killed by signal N, 124
    stopped by --timeout). Sending the span never fails the step: it takes at most
    LEADTIME_EXPORT_TIMEOUT seconds (default 2) and is spooled when the endpoint is away.

    Example:

    \b
        leadtime step unit-tests --type test -- pytest -q
        leadtime step unit-tests --junit 'reports/*.xml' -- pytest --junitxml reports/unit.xml
        leadtime step install --cache-hit "$CACHE_HIT" -- npm ci
    """
    _run("step", params)


@cli.command()
@click.argument("environment", metavar="ENV")
@_with_options(options.DEPLOY_OPTIONS)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND...")
def deploy(**params) -> None:
    """Run COMMAND as a deploy to ENV and record it as a deploy span.

    A step of type `deploy` that also carries deployment.environment.name, deployment.status
    (succeeded when COMMAND exits 0, else failed), deployment.id, the deployed revision and its
    first-parent history (LEADTIME_HISTORY_LIMIT commits, default 100), from which a leadtime
    server works out which mergesets the deploy contains. Use a full clone (fetch-depth: 0) or at
    least enough history to reach the previous deploy.

    Example:

    \b
        leadtime deploy production --service shop -- ./deploy.sh
    """
    _run("deploy", params)


@cli.group()
def pipeline() -> None:
    """Mark the start and end of the pipeline run (the trace's root span).

    Steps join one trace per pipeline run without this (the trace id comes from the CI
    provider's run id and attempt); the root span adds the run's own duration and result.
    """


def _pipeline_ids_or_fail():
    import os

    from leadtime.tracer import providers
    from leadtime.tracer.facts import pipeline_ids

    ids = pipeline_ids(providers.detect(os.environ))
    if ids is None:
        raise click.UsageError(
            "no pipeline run id: outside a known CI system, start with "
            '`eval "$(leadtime pipeline start)"` or set LEADTIME_RUN_ID'
        )
    return ids


@pipeline.command("start")
def pipeline_start() -> None:
    """Note that the pipeline run starts now.

    In CI nothing else is needed. Locally, where no run id exists, it prints a line to
    evaluate so that later steps share the run:

        eval "$(leadtime pipeline start)"
    """
    import os
    import uuid

    from leadtime.tracer.config import TracerConfig
    from leadtime.tracer.spool import PipelineStarts

    if "LEADTIME_RUN_ID" not in os.environ:
        from leadtime.tracer import providers

        if providers.detect(os.environ)["provider"] == "local":
            run_id = uuid.uuid4().hex
            os.environ["LEADTIME_RUN_ID"] = run_id
            click.echo(f"export LEADTIME_RUN_ID={run_id}")
    ids = _pipeline_ids_or_fail()
    try:
        PipelineStarts(TracerConfig.from_env().spool_dir).mark(ids.trace_id, time.time_ns())
    except OSError as error:
        warn(f"could not note the pipeline start ({error}); `pipeline end` will need --started-at")


def _parse_started_at(value: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone; add Z or +00:00")
    return int(moment.timestamp() * 1e9)


@pipeline.command("end")
@click.option(
    "--result",
    required=True,
    metavar="RESULT",
    help="success, failure, cancellation, timeout, error or skip "
    "(also GitHub's, GitLab's, Buildkite's and Jenkins' words: failed, cancelled, passed, "
    "hard_failed, ABORTED ...).",
)
@click.option("--started-at", metavar="TIME", help="ISO 8601 start of the run, if known.")
@click.option("--service", metavar="NAME", help="service.name of the root span.")
def pipeline_end(result: str, started_at: str | None, service: str | None) -> None:
    """Send the pipeline run's root span with its RESULT.

    The start time is --started-at, else what `leadtime pipeline start` noted on this machine,
    else the provider's pipeline creation time (GitLab), else now. Run it also when the
    pipeline failed (GitHub: `if: always()`, GitLab: `after_script`).

    Example:

    \b
        leadtime pipeline end --result "${{ job.status }}"
    """
    from leadtime.tracer.config import TracerConfig
    from leadtime.tracer.record import record_pipeline
    from leadtime.tracer.spool import PipelineStarts

    result = RESULT_ALIASES.get(result.lower(), result.lower())
    if result not in attr.PIPELINE_RESULTS:
        raise click.BadParameter(
            f"{result!r}; use one of {', '.join(attr.PIPELINE_RESULTS)}", param_hint="--result"
        )
    ended_ns = time.time_ns()
    ids = _pipeline_ids_or_fail()
    starts = PipelineStarts(TracerConfig.from_env().spool_dir)
    started_ns = _parse_started_at(started_at) if started_at else starts.read(ids.trace_id)
    if started_ns is None:
        started_ns = _provider_created_at() or ended_ns
        if started_ns == ended_ns:
            warn("pipeline start unknown (no --started-at, no `leadtime pipeline start`)")
    record_pipeline(ids, result, started_ns, ended_ns, service)
    starts.forget(ids.trace_id)


def _provider_created_at() -> int | None:
    import os

    from leadtime.tracer import providers

    created = providers.detect(os.environ).get("pipeline_created_at")
    if not created:
        return None
    try:
        return _parse_started_at(created)
    except click.BadParameter:
        return None


@cli.command()
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=float,
    help="Seconds to spend sending before giving up (the rest stays spooled).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def flush(timeout: float, as_json: bool) -> None:
    """Send the spans that earlier steps could not deliver.

    Spooled spans (LEADTIME_SPOOL_DIR) go to the endpoints configured now, each only to the
    endpoint and token it was spooled for, oldest first; each is removed once accepted, or
    dropped with a warning when the endpoint refuses it for good (a 4xx). One that is answered
    5xx stays for the next flush without holding up the rest; an unreadable one is moved to
    .corrupt/. Parallel flushes take turns, so each entry is sent once. Exits 1 when some
    remain, so a last CI step can show it.

    Example:

    \b
        leadtime flush --timeout 60
    """
    from leadtime.tracer import export
    from leadtime.tracer.config import TracerConfig

    config = TracerConfig.from_env()
    report = export.flush(config, time.monotonic() + timeout)
    for warning in report.warnings():
        click.echo(f"leadtime: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(report.__dict__, sort_keys=True))
    else:
        _print_flush(report, config.spool_dir)
    sys.exit(1 if any(report.remaining.values()) else 0)


def _print_flush(report, spool_dir) -> None:
    labels = sorted(set(report.sent) | set(report.remaining))
    if not labels:
        click.echo(f"nothing spooled in {spool_dir}")
    for label in labels:
        line = f"{label}: sent {report.sent.get(label, 0)}, left {report.remaining.get(label, 0)}"
        if report.dropped.get(label):
            line += f", dropped {report.dropped[label]} (rejected for good)"
        if report.set_aside.get(label):
            line += f", set aside {report.set_aside[label]} (unreadable)"
        if label in report.errors:
            line += f" ({report.errors[label]})"
        click.echo(line)
