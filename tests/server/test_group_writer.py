"""Deliveries of runs and steps waiting at once are written in one transaction (a group commit),
with the same rows as written one by one; a bad one in a group is refused alone, and the others
are kept; a database that is down fails the group at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from leadtime.server import db
from leadtime.server.group_writer import SECOND_GROUP_SPANS, GroupWriter, merged
from leadtime.server.ingest import otlp as decoder
from leadtime.server.ingest.facts import Facts
from leadtime.server.ingest.traces import facts_from_spans
from leadtime.tracer import attributes as attr
from tests.server import otlp_payloads as otlp
from tests.server.conftest import settings_for, wipe

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RUNS = 3
STEPS = 4
SENDER = "leadtime"  # the scope of a step's sender: its spans mark their own deploys


class Commits:
    """How many transactions were committed on any engine while it is open."""

    def __init__(self) -> None:
        self.count, self.lock = 0, threading.Lock()

    def __enter__(self) -> Commits:
        event.listen(Engine, "commit", self._committed)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "commit", self._committed)

    def _committed(self, _connection) -> None:
        with self.lock:
            self.count += 1


def _step(run: int, step: int, branch: str | None = None, extra: dict | None = None) -> dict:
    """One step span of a run (of a feature branch unless `branch` says): each run's steps
    overlap, start earlier the later they arrive and end differently, and the last to arrive
    fails, its run's result then (the newest report's)."""
    start = T0 + timedelta(minutes=10 * run + (STEPS - step))
    attributes = {**otlp.ci(branch or f"feature/{run}", f"{run + 1:040x}", run), **(extra or {})}
    attributes["cicd.pipeline.task.run.result"] = "failure" if step == STEPS - 1 else "success"
    attributes[attr.PIPELINE_RESULT] = "failure" if step == STEPS - 1 else "success"
    return otlp.span(
        f"{run + 1:032x}",
        f"{run + 1:08x}{step:08x}",
        f"step-{step}",
        start,
        start + timedelta(seconds=30 + 7 * step),
        attributes,
    )


def _deliveries(
    scope: str = SENDER,
    branch: str | None = None,
    extra: dict | None = None,
    runs: range = range(RUNS),
) -> list[Facts]:
    """One span to a delivery, as a step's sender posts them, the runs' spans interleaved."""
    settings = settings_for("sqlite://")
    spans = [_step(run, step, branch, extra) for step in range(STEPS) for run in runs]
    return [
        facts_from_spans(
            decoder.spans_from(
                decoder.decode_request(otlp.request([span], scope=scope), "application/json")
            ).spans,
            settings.main_branch_names,
        )
        for span in spans
    ]


def _stored(engine: Engine) -> tuple[list, list]:
    with engine.connect() as connection:
        runs = connection.execute(
            text(
                "SELECT trace_id, started_at, finished_at, result, attributes, step_summary"
                " FROM pipeline_runs ORDER BY trace_id"
            )
        ).all()
        steps = connection.execute(
            text("SELECT trace_id, span_id, name, attributes FROM steps ORDER BY span_id")
        ).all()
    return [tuple(row) for row in runs], [tuple(row) for row in steps]


def _writer(engine: Engine, db_url: str) -> GroupWriter:
    woken: list[int] = []
    return GroupWriter(
        db.session_factory(engine), settings_for(db_url), None, lambda: woken.append(1)
    )


async def _as_served(engine: Engine, db_url: str, deliveries: list[Facts]) -> list:
    """All at once to a writer made as the server makes it: on SQLite with the process's write
    turn (an asyncio lock, so made in the loop that waits on it)."""
    writer = _writer(engine, db_url)
    if db_url.startswith("sqlite"):
        writer.turns = asyncio.Lock()
    return await _all_at_once(writer, deliveries)


async def _all_at_once(writer: GroupWriter, deliveries: list[Facts]) -> list:
    """Every delivery handed over before the writer first runs (gather starts them in order)."""
    return await asyncio.gather(
        *(writer.record(facts) for facts in deliveries), return_exceptions=True
    )


def test_waiting_deliveries_are_one_transaction_with_the_rows_of_one_by_one(engine, db_url):
    writer = _writer(engine, db_url)
    try:
        with Commits() as commits:
            answers = asyncio.run(_all_at_once(writer, _deliveries()))
        assert answers == [None] * RUNS * STEPS
        assert commits.count == 1  # twelve deliveries, one transaction
        grouped = _stored(engine)
        wipe(engine)

        async def one_by_one() -> None:
            for facts in _deliveries():
                await writer.record(facts)

        with Commits() as commits:
            asyncio.run(one_by_one())
        assert commits.count == RUNS * STEPS
        assert grouped == _stored(engine)
    finally:
        wipe(engine)
    runs, steps = grouped
    assert len(steps) == RUNS * STEPS and len(runs) == RUNS
    for number, run in enumerate(runs):
        assert (_moment(run[1]), _moment(run[2])) == _extent(number)
        assert run[3] == "failure"  # the result of the last delivery, not of the first


class HeldCommit:
    """The first transaction to commit waits there, up to `patience` seconds, until another
    thread has begun writing: whether a second group is written while the first is."""

    def __init__(self, patience: float) -> None:
        self.patience, self.lock = patience, threading.Lock()
        self.first: int | None = None
        self.first_waiting, self.overlapped = threading.Event(), threading.Event()

    def __enter__(self) -> HeldCommit:
        event.listen(Engine, "commit", self._committing)
        event.listen(Engine, "before_cursor_execute", self._executing)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "commit", self._committing)
        event.remove(Engine, "before_cursor_execute", self._executing)

    def _committing(self, _connection) -> None:
        with self.lock:
            if self.first is not None:
                return
            self.first = threading.get_ident()
        self.first_waiting.set()
        self.overlapped.wait(self.patience)

    def _executing(self, *_statement) -> None:
        if self.first is not None and threading.get_ident() != self.first:
            self.overlapped.set()


async def _in_two_waves(writer: GroupWriter, held: HeldCommit, waves: list[list[Facts]]) -> list:
    """The first wave all at once; the second once the first's group waits at its commit."""
    first = [asyncio.ensure_future(writer.record(facts)) for facts in waves[0]]
    while not held.first_waiting.is_set() and not all(answer.done() for answer in first):
        await asyncio.sleep(0.01)
    second = [asyncio.ensure_future(writer.record(facts)) for facts in waves[1]]
    return await asyncio.gather(*first, *second, return_exceptions=True)


def _served_writer(engine: Engine, db_url: str) -> GroupWriter:
    writer = _writer(engine, db_url)
    if db_url.startswith("sqlite"):
        writer.turns = asyncio.Lock()  # made in the loop that waits on it, as the server does
    return writer


def _batch(runs: range, steps: range = range(STEPS)) -> Facts:
    """These spans of these runs in one delivery, as an SDK's batch exporter posts them."""
    spans = [_step(run, step) for run in runs for step in steps]
    request = decoder.decode_request(otlp.request(spans, scope=SENDER), "application/json")
    return facts_from_spans(decoder.spans_from(request).spans, ())


@pytest.mark.parametrize("second", ["batch", "one-span"])
def test_a_batch_arriving_while_a_group_is_written_is_written_at_once_on_postgresql(
    engine, db_url, second
):
    """A group's transaction mostly waits on the database: on PostgreSQL a batch of spans
    (SECOND_GROUP_SPANS or more) that arrives meanwhile is a second group, written at the same
    time; a few one-span deliveries (fewer spans than that) wait for the next group together,
    as everything does on SQLite, whose writes take one turn. Other runs than the first
    group's, so neither waits for the other."""
    later = range(RUNS, RUNS + (SECOND_GROUP_SPANS // STEPS if second == "batch" else RUNS))
    at_once = second == "batch" and not db_url.startswith("sqlite")
    waves = [_deliveries(), [_batch(later)] if second == "batch" else _deliveries(runs=later)]

    async def served() -> list:
        return await _in_two_waves(_served_writer(engine, db_url), held, waves)

    try:
        with Commits() as commits, HeldCommit(patience=60 if at_once else 1) as held:
            answers = asyncio.run(served())
        assert answers == [None] * (RUNS * STEPS + len(waves[1]))
        assert commits.count == 2  # a group each
        assert held.overlapped.is_set() is at_once
        runs, steps = _stored(engine)
        assert len(runs) == RUNS + len(later) and len(steps) == (RUNS + len(later)) * STEPS
    finally:
        wipe(engine)


def test_two_groups_of_the_same_runs_at_once_keep_the_rows_of_one_after_another(engine, db_url):
    """The second group (a batch of the runs' later spans) begins while the first (their first
    spans, one to a delivery) holds the runs: it waits for the first's commit on the runs'
    locks, then folds its spans in (times, result, step summary) as a delivery after another
    would."""
    sqlite = db_url.startswith("sqlite")
    runs = range(SECOND_GROUP_SPANS // 2)
    first = [_batch(range(run, run + 1), range(step, step + 1)) for run in runs for step in (0, 1)]
    waves = [first, [_batch(runs, range(2, STEPS))]]

    async def served() -> list:
        return await _in_two_waves(_served_writer(engine, db_url), held, waves)

    async def one_after_another() -> None:
        writer = _served_writer(engine, db_url)
        for wave in waves:
            await asyncio.gather(*(writer.record(merged([facts])) for facts in wave))

    try:
        copies = [[merged([facts]) for facts in wave] for wave in waves]
        with HeldCommit(patience=1 if sqlite else 60) as held:
            answers = asyncio.run(served())
        assert answers == [None] * (len(first) + 1)
        assert held.overlapped.is_set() is not sqlite
        at_once = _stored(engine)
        wipe(engine)
        waves = copies  # recording renames joined traces in place: the same facts again
        asyncio.run(one_after_another())
        assert at_once == _stored(engine)
    finally:
        wipe(engine)
    stored_runs, steps = at_once
    assert len(steps) == len(runs) * STEPS
    for number, run in enumerate(stored_runs):
        assert (_moment(run[1]), _moment(run[2])) == _extent(number)
        assert run[3] == "failure" and run[5] is not None  # the last step's result; a summary


COMMITTED = {attr.COMMIT_COMMITTED_AT: "2026-11-20T09:00:00+00:00"}  # each sha's commit time


def _mergesets(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sha, merged_at, merged_at_source, source FROM mergesets ORDER BY sha")
        ).all()
    return [(sha, _moment(merged), *rest) for sha, merged, *rest in rows]


def test_main_branch_spans_whose_mergeset_is_stored_join_one_group(engine, db_url):
    """Every main-branch span reports its run's mergeset; once it is stored as they report it,
    the run's later spans are written in a group, with the rows of one by one."""
    deliveries = _deliveries(branch="main", extra=COMMITTED)
    assert all(len(facts.mergesets) == 1 for facts in deliveries)
    first, rest = deliveries[:RUNS], deliveries[RUNS:]  # each run's first span, then the others
    try:
        with Commits() as commits:
            assert asyncio.run(_as_served(engine, db_url, first)) == [None] * RUNS
        # PostgreSQL: the three mergesets that are news, in one short turn of their own, then
        # their runs and steps in a group; SQLite: one group, in the one write turn
        assert commits.count == (1 if db_url.startswith("sqlite") else 2)
        with Commits() as commits:
            assert asyncio.run(_as_served(engine, db_url, rest)) == [None] * len(rest)
        assert commits.count == 1  # nine deliveries of stored mergesets: one group
        grouped = _stored(engine), _mergesets(engine)
        wipe(engine)

        for facts in _deliveries(branch="main", extra=COMMITTED):
            asyncio.run(_as_served(engine, db_url, [facts]))
        assert grouped == (_stored(engine), _mergesets(engine))
    finally:
        wipe(engine)
    committed = datetime.fromisoformat(COMMITTED[attr.COMMIT_COMMITTED_AT]).timestamp()
    assert grouped[1] == [(f"{run + 1:040x}", committed, "commit", "pipeline") for run in range(3)]


def test_a_mergeset_known_better_is_written_after_its_group_and_kept(engine, db_url):
    """A main-branch span that starts before its run's stored start knows the mergeset's
    estimated merge time better: it is news, written (on PostgreSQL) after the group of
    feature-branch spans waiting with it, in one transaction with the other news."""
    main = _deliveries(branch="main")  # no commit time: the run's start is the estimate
    try:
        asyncio.run(_as_served(engine, db_url, main[:RUNS]))  # each run's latest-starting span
        assert [row[1] for row in _mergesets(engine)] == [
            _moment_of(_step(run, 0)) for run in range(RUNS)
        ]
        later = main[RUNS:]
        assert all(facts.mergesets for facts in later)
        feature = _deliveries(runs=range(RUNS, 2 * RUNS))  # other runs
        with Commits() as commits:
            answers = asyncio.run(_as_served(engine, db_url, [*later, *feature]))
        assert answers == [None] * (len(later) + len(feature))
        # PostgreSQL: the group of feature spans, then the news together, in the repository's
        # turn, then the news' runs and steps in a group; SQLite: one group, in the one write
        # turn that every write takes
        assert commits.count == (1 if db_url.startswith("sqlite") else 3)
        assert [row[1:] for row in _mergesets(engine)] == [
            (_extent(run)[0], "pipeline", "pipeline") for run in range(RUNS)
        ]
        _, steps = _stored(engine)
        assert len(steps) == len(later) + RUNS + len(feature)
    finally:
        wipe(engine)


def test_news_whose_steps_are_refused_is_refused_and_the_rest_kept(engine, db_url):
    """A main-branch delivery whose step the database refuses is answered with the error, and
    the others of its group are kept. On PostgreSQL its mergeset, stored first in the
    repository's turn, stays (a retry finds it stored); on SQLite nothing of it is stored."""
    deliveries = _deliveries(branch="main", extra=COMMITTED)[:RUNS]  # three mergesets, news
    deliveries[1].steps[0]["trace_id"] = None  # no decoder makes this: the database refuses it
    try:
        answers = asyncio.run(_as_served(engine, db_url, deliveries))
        assert isinstance(answers[1], IntegrityError)
        assert answers[0] is None and answers[2] is None
        _, steps = _stored(engine)
        assert [step[0] for step in steps] == [f"{run + 1:032x}" for run in (0, 2)]
        shas = [row[0] for row in _mergesets(engine)]
        kept = (0, 2) if db_url.startswith("sqlite") else range(RUNS)
        assert shas == [f"{run + 1:040x}" for run in kept]
    finally:
        wipe(engine)


def test_spans_a_deploy_rule_may_name_are_written_alone(engine, db_url):
    """Another emitter's spans (one that marks no deploy) may be a repository's deploy by its
    rule: they take the repository's turn, which a group must never wait behind."""
    deliveries = _deliveries(scope="some-ci-tool")
    assert all(facts.deploy_candidates for facts in deliveries)
    writer = _writer(engine, db_url)
    try:
        with Commits() as commits:
            answers = asyncio.run(_all_at_once(writer, deliveries))
        assert answers == [None] * RUNS * STEPS
        assert commits.count == RUNS * STEPS
    finally:
        wipe(engine)


def test_a_bad_delivery_is_refused_alone_and_the_rest_of_its_group_kept(engine, db_url):
    deliveries = _deliveries()
    deliveries[4].steps[0]["trace_id"] = None  # no decoder makes this: the database refuses it
    writer = _writer(engine, db_url)
    try:
        with Commits() as commits:
            answers = asyncio.run(_all_at_once(writer, deliveries))
        assert isinstance(answers[4], IntegrityError)
        assert answers[:4] + answers[5:] == [None] * (RUNS * STEPS - 1)
        assert commits.count == RUNS * STEPS - 1  # the group failed; each was written alone
        runs, steps = _stored(engine)
        assert len(steps) == RUNS * STEPS - 1 and len(runs) == RUNS
    finally:
        wipe(engine)


def test_a_database_that_is_down_fails_the_group_once(tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("one unreachable database is enough")
    gone = db.make_engine(f"sqlite:///{tmp_path}/leadtime.db")  # never migrated: no tables
    writer = _writer(gone, db_url)
    answers = asyncio.run(_all_at_once(writer, _deliveries()))
    assert all(isinstance(answer, OperationalError) for answer in answers)
    assert all(answer is answers[0] for answer in answers)  # one attempt, not one each
    gone.dispose()


def test_one_span_posts_from_many_clients_are_all_stored(live_server, client, engine):
    """Over HTTP, eight clients posting one span each at once: every span stored once under its
    run, every run as its spans say, whatever the groups were."""
    bodies = [
        otlp.request([_step(run, step)], scope=SENDER)
        for step in range(STEPS)
        for run in range(RUNS)
    ] * 2  # each sent twice: a retry stores nothing new
    answers = otlp.post_at_once(live_server.url, bodies)
    assert answers == [200] * len(bodies)
    runs, steps = _stored(engine)
    assert len(steps) == RUNS * STEPS and len(runs) == RUNS
    for number, run in enumerate(runs):
        assert (_moment(run[1]), _moment(run[2])) == _extent(number)
        assert run[5] is not None  # its step summary, kept as its steps arrived


def _moment(value) -> float:
    """A stored time (a datetime, or SQLite's text) as seconds since the epoch."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC).timestamp()


def _moment_of(span: dict) -> float:
    return int(span["startTimeUnixNano"]) / 1e9


def _extent(run: int) -> tuple[float, float]:
    """From the spans themselves: a run starts with its first step and ends with its last."""
    spans = [_step(run, step) for step in range(STEPS)]
    return (
        min(int(span["startTimeUnixNano"]) for span in spans) / 1e9,
        max(int(span["endTimeUnixNano"]) for span in spans) / 1e9,
    )
