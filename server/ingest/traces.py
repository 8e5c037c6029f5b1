"""What spans say about pipelines, deploys and mergesets, as plain facts for the store.

- Spans from the emitters that exist (the collector's GitHub and GitLab receivers, the Jenkins
  plugin, otel-cicd-action) are first read in the conventions' words and given a role
  (ingest/emitters): the span without a parent is the run's root, whatever its kind; queue spans
  are waiting; stages and phases are groups; everything else is a step. Every span is stored
  with its role; every trace is a pipeline run (times span all its spans; the result is the
  root's `cicd.pipeline.result`, on the span or its resource, when the root arrived).
- A span with `deployment.environment.name` is a deploy (from `leadtime deploy`, GitLab's
  environment jobs, anything that follows the deployment conventions), and so is one with
  `cicd.pipeline.task.type` = deploy whose resource names the environment; a skipped one never
  is. Where an emitter marks no deploy, a repository's deploy rules (a job-name glob and an
  environment, recording.py) name them.
- A span that does not say its repository, revision or branch is in its run's: the first span
  of the trace that says it (a deploy's revision excepted, which may be another commit). So a
  Jenkins deploy stage is a deploy of the revision its root names and the repository its
  checkout step names.
- Mergesets: the commit of a span on a main branch (`vcs.ref.head.name`), merged at its committer
  time (`leadtime.commit.committed_at`, else the run's start as an estimate), and every commit of
  a deploy's first-parent history (`leadtime.deploy.history.*`), which also gives their order,
  when the deploy was built from a main branch or a tag (`vcs.ref.head.type`).
- Where the conventions put a key: semantic conventions v1.43+ carry the run's and the
  repository's identity on the resource (entities `cicd.pipeline`, `cicd.pipeline.run`,
  `vcs.repository`, `vcs.ref`), older emitters and leadtime's own tracer on the span. Those keys
  (RUN_LEVEL) are read from the span, then from its resource; task-level keys (a step's result,
  a deploy's environment) from the span only.
"""

from __future__ import annotations

from dataclasses import replace

from leadtime.server.ingest import deploy_spans, emitters, results
from leadtime.server.ingest.deploy_spans import repo_of
from leadtime.server.ingest.emitters.common import ROOT
from leadtime.server.ingest.facts import Facts, MergesetFact, RepoRef, RunFact
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.server.timeparse import parse_time
from leadtime.tracer import attributes as attr

HISTORY_PREFIX = "leadtime.deploy.history."
RUN_LEVEL = (
    attr.PIPELINE_NAME,
    attr.PIPELINE_RUN_ID,
    attr.PIPELINE_RUN_URL,
    attr.PIPELINE_RUN_ATTEMPT,
    attr.CI_PROVIDER,
    attr.REPOSITORY_URL,
    attr.REPOSITORY_NAME,
    attr.REF_HEAD_NAME,
    attr.REF_HEAD_REVISION,
    attr.REF_HEAD_TYPE,
    attr.COMMIT_COMMITTED_AT,
    attr.COMMIT_AUTHOR,
)


# Held once on the run (pipeline_runs.attributes); a step keeps them only where its value is
# another (store/runs.own_attributes), and is read back with its run's beneath its own.
RUN_KEYS = (*RUN_LEVEL, attr.VCS_PROVIDER, attr.CHANGE_ID)


def _with_resource(span: SpanRecord, role: str) -> dict:
    """The span's attributes with the run-level keys its resource carries and it does not; the
    root also takes the run's result from there."""
    keys = RUN_LEVEL + results.RUN_ALIASES if role == ROOT else RUN_LEVEL
    inherited = {
        key: span.resource[key]
        for key in keys
        if key in span.resource and key not in span.attributes
    }
    return {**span.attributes, **inherited} if inherited else span.attributes


def _step_result(span: SpanRecord) -> str:
    attributes = span.attributes
    raw = results.first(attributes, results.TASK_ALIASES) or results.first(
        attributes, results.RUN_ALIASES
    )
    result = results.normalized(raw)
    if result:
        return result
    return attr.RESULT_FAILURE if span.status_code == 2 else attr.RESULT_SUCCESS


def _step_row(span: SpanRecord, result: str) -> dict:
    attributes = {k: v for k, v in span.attributes.items() if not k.startswith(HISTORY_PREFIX)}
    raw = results.first(span.attributes, results.TASK_ALIASES + results.RUN_ALIASES)
    if raw is not None and results.normalized(raw) != raw:
        attributes[results.RAW] = raw
    exit_code = span.attributes.get(attr.PROCESS_EXIT_CODE)
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "service": span.resource.get(attr.SERVICE_NAME),
        "result": result,
        "exit_code": exit_code if isinstance(exit_code, int) else None,
        "task_type": span.attributes.get(attr.TASK_TYPE),
        "role": span.role,
        "cache_hit": _cache_hit(span.attributes.get(attr.CACHE_HIT)),
        "started_at": span.started_at,
        "finished_at": span.finished_at,
        "attributes": attributes,
    }


def _cache_hit(value: object) -> bool | None:
    """`leadtime.cache.hit` as a bool; a string true/false from emitters that only send strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _merge_run(runs: dict[str, RunFact], span: SpanRecord) -> None:
    run = runs.get(span.trace_id)
    if run is None:
        run = runs[span.trace_id] = RunFact(span.trace_id, span.started_at, span.finished_at)
    run.started_at = min(run.started_at, span.started_at)
    run.finished_at = max(run.finished_at, span.finished_at)
    a = span.attributes
    is_deploy = attr.DEPLOYMENT_ENVIRONMENT in a
    if not run.repo.known:
        run.repo = repo_of(span)
    run.provider = run.provider or a.get(attr.CI_PROVIDER)
    run.run_id = run.run_id or _text(a.get(attr.PIPELINE_RUN_ID))
    run.attempt = run.attempt or _text(a.get(attr.PIPELINE_RUN_ATTEMPT))
    run.name = run.name or a.get(attr.PIPELINE_NAME)
    run.branch = run.branch or a.get(attr.REF_HEAD_NAME)
    if not is_deploy:  # a deploy's revision may be another commit than the run's
        run.sha = run.sha or a.get(attr.REF_HEAD_REVISION)
    run.url = run.url or a.get(attr.PIPELINE_RUN_URL)
    run_result = results.normalized(results.first(a, results.RUN_ALIASES))
    if run_result:
        run.result = run_result
    for key in RUN_KEYS:
        own_revision = is_deploy and key in _OF_THE_REVISION
        if key not in run.attributes and a.get(key) not in (None, "") and not own_revision:
            run.attributes[key] = a[key]


def _text(value) -> str | None:
    return None if value is None else str(value)


def _history(span: SpanRecord, repo: RepoRef) -> list[MergesetFact]:
    a = span.attributes
    revisions, times, authors, subjects, starts = (
        value if isinstance(value := a.get(name), list) else []
        for name in (
            attr.HISTORY_REVISIONS,
            attr.HISTORY_COMMITTED_AT,
            attr.HISTORY_AUTHORS,
            attr.HISTORY_SUBJECTS,
            attr.HISTORY_FIRST_COMMIT_AT,
        )
    )
    found = []
    for index, sha in enumerate(revisions):
        merged_at = parse_time(times[index]) if index < len(times) else None
        if not sha or merged_at is None:
            continue
        found.append(
            MergesetFact(
                repo=repo,
                sha=str(sha),
                merged_at=merged_at,
                merged_at_source="commit",
                source="history",
                parent_sha=str(revisions[index + 1]) if index + 1 < len(revisions) else None,
                author=authors[index] if index < len(authors) else None,
                title=subjects[index] if index < len(subjects) else None,
                first_commit_at=parse_time(starts[index]) if index < len(starts) else None,
            )
        )
    return found


def _pipeline_mergeset(span: SpanRecord, run: RunFact) -> MergesetFact | None:
    a = span.attributes
    sha, repo = a.get(attr.REF_HEAD_REVISION), repo_of(span)
    if not sha or not repo.known:
        return None
    committed_at = parse_time(a.get(attr.COMMIT_COMMITTED_AT))
    return MergesetFact(
        repo=repo,
        sha=str(sha),
        merged_at=committed_at or run.started_at,
        merged_at_source="commit" if committed_at else "pipeline",
        source="pipeline",
        author=a.get(attr.COMMIT_AUTHOR),
    )


def _from_tag(span: SpanRecord) -> bool:
    return span.attributes.get(attr.REF_HEAD_TYPE) == attr.REF_TAG


# What a span that does not say it takes from its run (see the module's docstring).
CONTEXT = (
    attr.REPOSITORY_URL,
    attr.REPOSITORY_NAME,
    attr.REF_HEAD_NAME,
    attr.REF_HEAD_TYPE,
    attr.REF_HEAD_REVISION,
    attr.COMMIT_COMMITTED_AT,
    attr.COMMIT_AUTHOR,
)
_OF_THE_REVISION = (attr.REF_HEAD_REVISION, attr.COMMIT_COMMITTED_AT, attr.COMMIT_AUTHOR)


def _run_contexts(spans: list[tuple[SpanRecord, dict]]) -> dict[str, dict]:
    """Per trace, the first value its spans give of each CONTEXT key; a deploy's revision (and
    its commit's time and author) are its own."""
    contexts: dict[str, dict] = {}
    for span, attributes in spans:
        context = contexts.setdefault(span.trace_id, {})
        own_revision = attr.DEPLOYMENT_ENVIRONMENT in attributes
        for key in CONTEXT:
            value = attributes.get(key)
            if key in context or value in (None, "") or (own_revision and key in _OF_THE_REVISION):
                continue
            context[key] = value
    return contexts


def _in_context(attributes: dict, context: dict) -> dict:
    other_revision = attributes.get(attr.REF_HEAD_REVISION) not in (
        None,
        context.get(attr.REF_HEAD_REVISION),
    )
    missing = {
        key: value
        for key, value in context.items()
        if attributes.get(key) in (None, "") and not (other_revision and key in _OF_THE_REVISION)
    }
    return {**attributes, **missing} if missing else attributes


def _prepared(spans: list[SpanRecord]) -> list[SpanRecord]:
    """The spans in the conventions' words, with their roles, their resource's and their run's
    keys (see the module's docstring)."""
    read = [
        (span, role, deploy_spans.with_environment(span, _with_resource(span, role)))
        for span, role in emitters.adapt(spans)
    ]
    contexts = _run_contexts([(span, attributes) for span, _, attributes in read])
    prepared = []
    for span, role, attributes in read:
        attributes = _in_context(attributes, contexts[span.trace_id])
        if attributes is not span.attributes or role != span.role:
            span = replace(span, attributes=attributes, role=role)
        prepared.append(span)
    return prepared


def facts_from_spans(spans: list[SpanRecord], main_branches: tuple[str, ...]) -> Facts:
    spans = _prepared(spans)
    facts, runs = Facts(), dict[str, RunFact]()
    judged = [(span, _step_result(span)) for span in spans]
    for span, result in judged:
        facts.steps.append(_step_row(span, result))
        _merge_run(runs, span)
    facts.runs = list(runs.values())
    for span, result in judged:
        on_main = span.attributes.get(attr.REF_HEAD_NAME) in main_branches
        if deploy_spans.is_deploy(span, result):
            environment = str(span.attributes[attr.DEPLOYMENT_ENVIRONMENT])
            deploy = deploy_spans.deploy_of(span, repo_of(span), result, environment)
            if deploy:
                facts.deploys.append(deploy)
            # A deploy's history names mergesets only when it was built from a main branch or
            # a tag (tags are cut from the main branch: a tag-triggered deploy ships up to it).
            if on_main or _from_tag(span) or attr.REF_HEAD_NAME not in span.attributes:
                facts.mergesets.extend(_history(span, repo_of(span)))
        elif on_main:
            mergeset = _pipeline_mergeset(span, runs[span.trace_id])
            if mergeset:
                facts.mergesets.append(mergeset)
    # Every span of a main-branch run names its mergeset alike: one report of each is enough
    # (each further one cost the store a read and a write of its own).
    facts.mergesets = list(dict.fromkeys(facts.mergesets))
    facts.deploy_candidates = deploy_spans.candidates(judged)
    return facts
