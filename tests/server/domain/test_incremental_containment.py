"""Containment kept up to date from what a report changes (domain/shipping.py) equals containment
worked out again from the whole history, delivery after delivery, on generated histories with
late, repeated and out-of-order reports; and the common reports write only what is new."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from leadtime.server.domain.shipping import recompute_repository
from leadtime.server.ingest.facts import DeployFact, Facts, MergesetFact, RepoRef
from leadtime.server.models import Deploy, DeployMergeset, Mergeset, Repository
from leadtime.server.recording import record_facts
from leadtime.server.settings import Settings

REPO = RepoRef(url="https://github.com/acme/shop")
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SETTINGS = Settings()


def sha(n: int) -> str:
    return f"{n:040x}"


def state(session) -> dict:
    """Everything containment stores, by shas and report ids rather than row ids."""
    shas = dict(session.execute(select(Mergeset.id, Mergeset.sha)).all())
    deploys = dict(session.execute(select(Deploy.id, Deploy.identity)).all())
    links = {
        (deploys[d], shas[m], env)
        for d, m, env in session.execute(
            select(DeployMergeset.deploy_id, DeployMergeset.mergeset_id, DeployMergeset.environment)
        )
    }
    kinds = {
        deploys[row.id]: (
            row.kind,
            row.history_complete,
            deploys.get(row.rolled_back_by_id) if row.rolled_back_by_id else None,
        )
        for row in session.scalars(select(Deploy).where(Deploy.status == "succeeded"))
    }
    mergesets = session.scalars(select(Mergeset).order_by(Mergeset.position)).all()
    return {
        "links": links,
        "deploys": kinds,
        "order": [m.sha for m in mergesets],
        "context": {m.sha for m in mergesets if m.context},
        "reverts": {m.sha: shas[m.reverts_id] for m in mergesets if m.reverts_id},
        "adopted_at": session.scalar(select(Repository.adopted_at)),
    }


class History:
    """A main branch growing one mergeset at a time, with the reports a team's sources send."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.merged: list[int] = []  # first-parent order
        self.deploys = 0
        self.last_finish = T0
        self.open: list[DeployFact] = []

    def merge_time(self, n: int) -> datetime:
        return T0 + timedelta(minutes=10 * n)

    def mergeset(self, n: int, source: str, with_parent: bool = True, **extra) -> MergesetFact:
        parent = sha(n - 1) if n and with_parent else None
        kind = {"history": "commit", "pipeline": "pipeline", "merge": "merge"}[source]
        title = extra.pop("title", f"change {n}")
        return MergesetFact(
            REPO, sha(n), self.merge_time(n), kind, source, parent, title=title, **extra
        )

    def deploy(self, n: int, **change) -> DeployFact:
        self.deploys += 1
        late = self.random.random() < 0.15
        if late:
            finished = self.last_finish - timedelta(minutes=self.random.randint(1, 60))
        else:
            finished = max(self.last_finish, self.merge_time(n)) + timedelta(minutes=3)
            self.last_finish = finished
        values = {
            "source": "api",
            "service": "shop",
            "environment": self.random.choice(["production"] * 4 + ["staging"]),
            "sha": sha(n),
            "status": "succeeded" if self.random.random() < 0.85 else "failed",
            "external_id": f"d{self.deploys}",
            "finished_at": finished,
            "history_cut": self.random.choice([None, False, True]),
        }
        return DeployFact(REPO, **{**values, **change})

    def step(self) -> Facts:
        """One delivery of a kind chosen at random."""
        roll = self.random.random()
        n = len(self.merged)
        if roll < 0.35 or not self.merged:
            self.merged.append(n)
            source = self.random.choice(["history", "pipeline", "merge"])
            title = f"change {n}"
            if n > 2 and self.random.random() < 0.2:
                title = f'Revert "change {self.random.randrange(n)}"'
            parent = self.random.random() < 0.85
            return Facts(mergesets=[self.mergeset(n, source, parent, title=title)])
        if roll < 0.45:  # a later, better report of a known mergeset: merge time, parent, PR
            known = self.random.choice(self.merged)
            return Facts(mergesets=[self.mergeset(known, "merge", pr_number=known, pr_title="pr")])
        if roll < 0.55 and n > 1:  # a deploy whose report carries its first-parent history
            self.merged += [n, n + 1]
            history = [self.mergeset(k, "history") for k in (n, n + 1)]
            return Facts(mergesets=history, deploys=[self.deploy(n + 1, history_cut=False)])
        if roll < 0.62 and self.open:  # a deploy reported in progress earlier finishes now
            started = self.open.pop()
            self.last_finish += timedelta(minutes=5)
            done = {"status": "succeeded", "finished_at": self.last_finish}
            return Facts(deploys=[DeployFact(**{**vars(started), **done})])
        if roll < 0.68:
            started = self.deploy(self.random.choice(self.merged), status="in_progress")
            started = DeployFact(**{**vars(started), "finished_at": None})
            self.open.append(started)
            return Facts(deploys=[started])
        if roll < 0.73:  # a deploy that lists what it shipped
            listed = [sha(k) for k in self.random.sample(self.merged, min(2, n))]
            return Facts(deploys=[self.deploy(self.random.choice(self.merged), listed_shas=listed)])
        if roll < 0.76:
            return Facts(deploys=[self.deploy(10_000 + n)])  # a sha that is no mergeset
        # Mostly the newest mergeset; now and then an older one (a rollback) or the same again.
        target = self.merged[-1] if self.random.random() < 0.7 else self.random.choice(self.merged)
        return Facts(deploys=[self.deploy(target)])


@pytest.mark.parametrize("seed", range(12))
def test_kept_up_to_date_equals_worked_out_whole(session, seed):
    history = History(seed)
    for delivery in range(45):
        record_facts(session, history.step(), SETTINGS)
        session.commit()
        kept = state(session)
        recompute_repository(session, session.scalar(select(Repository.id)))
        session.flush()
        whole = state(session)
        session.rollback()  # go on from what was kept, not from the whole
        assert kept == whole, f"delivery {delivery}"
    assert kept["links"] and kept["deploys"]  # the history did ship something


class Statements:
    """The SQL a block of work sends, with how many parameter sets each one carried."""

    def __init__(self, engine) -> None:
        self.engine, self.sent = engine, []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        rows = len(parameters) if executemany else 1
        self.sent.append((" ".join(statement.split()).upper(), rows))

    def rows_written(self, verb: str, table: str) -> int:
        return sum(rows for sql, rows in self.sent if sql.startswith(f"{verb} {table.upper()}"))


def _grow(session, mergesets: int) -> History:
    """A history of `mergesets`, each deployed on its own: every link in place."""
    history = History(0)
    facts = Facts()
    for n in range(mergesets):
        facts.mergesets.append(history.mergeset(n, "pipeline"))
        finished = history.merge_time(n) + timedelta(minutes=5)
        facts.deploys.append(
            DeployFact(
                REPO, "api", "shop", "production", sha(n), "succeeded", f"d{n}", None, finished
            )
        )
    history.merged = list(range(mergesets))
    record_facts(session, facts, SETTINGS)
    session.commit()
    return history


def test_a_new_merge_and_its_deploy_write_only_what_is_new(session, engine):
    history = _grow(session, 200)
    with Statements(engine) as merge:
        record_facts(session, Facts(mergesets=[history.mergeset(200, "merge")]), SETTINGS)
        session.commit()
    # Merged after the newest deploy's sha: no link is touched, one mergeset placed.
    assert merge.rows_written("DELETE FROM", "deploy_mergesets") == 0
    assert merge.rows_written("INSERT INTO", "deploy_mergesets") == 0
    assert merge.rows_written("UPDATE", "mergesets") == 1
    late = history.merge_time(200) + timedelta(minutes=5)
    deploy = DeployFact(
        REPO, "api", "shop", "production", sha(200), "succeeded", "d200", None, late
    )
    with Statements(engine) as shipped:
        record_facts(session, Facts(deploys=[deploy]), SETTINGS)
        session.commit()
    assert shipped.rows_written("DELETE FROM", "deploy_mergesets") == 0
    assert shipped.rows_written("INSERT INTO", "deploy_mergesets") == 1
    assert shipped.rows_written("UPDATE", "mergesets") == 0
    assert state(session)["links"] >= {("api:d200", sha(200), "production")}


def test_a_late_deploy_works_out_only_the_deploys_after_it(session, engine):
    history = _grow(session, 200)
    # Reported late: at the sha of deploy 195, it finished between deploys 189 and 190.
    earlier = history.merge_time(190) + timedelta(minutes=4)
    late = DeployFact(REPO, "api", "shop", "production", sha(195), "succeeded", "x", None, earlier)
    with Statements(engine) as sent:
        record_facts(session, Facts(deploys=[late]), SETTINGS)
        session.commit()
    # It ships 190..195 ahead of their own deploys: six links move, none other is written.
    assert sent.rows_written("DELETE FROM", "deploy_mergesets") == 6
    assert sent.rows_written("INSERT INTO", "deploy_mergesets") == 6
    found = state(session)
    assert {s for d, s, _ in found["links"] if d == "api:x"} == {sha(n) for n in range(190, 196)}
    # Deploy 190 brought back an older sha than the late one: a rollback of it.
    assert found["deploys"]["api:d190"][0] == "rollback"
    assert found["deploys"]["api:x"][2] == "api:d190"
    assert {s for d, s, _ in found["links"] if d == "api:d196"} == {sha(196)}
