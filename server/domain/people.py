"""People and teams: who made a change, and who owns what.

A **person** is one identity joining what the sources know of them: git author emails (several
per person), GitHub and GitLab logins, PagerDuty and Opsgenie responders, and a Slack user id.
Identities are filled automatically where a source gives the link: a mergeset that knows both
its commit's author email (from spans or git) and its pull request's login (from the forge's
webhook), for a pull request its author merged (merged by another, a merge commit's author is
the merger), ties the two, on a person made for them ("auto") when neither is known yet. A mapping
(`leadtime people import people.yaml`, `PUT /api/people`) names people and completes them: it is
the truth, so a name it gives moves off an auto person, and an auto person left with no name
goes. A **team** (`teams.yaml`, `PUT /api/teams`) owns repositories and services, has a channel,
working hours in its time zone, and the kinds of feedback it wants (domain/feedback.py).

A mergeset's **authors** are the people its author and its pull request's author name; an
author no person holds is **unmapped**, and shown with where it appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.portfolio import short_names
from leadtime.server.errors import BadPayload
from leadtime.server.models import Mergeset, Person, Team
from leadtime.server.schemas.people import PeopleIn, PersonIn, TeamIn, TeamsIn
from leadtime.server.store import feedback as feedback_store
from leadtime.server.store import people as stored
from leadtime.server.store.people import AUTO, MAPPING

LOGINS = ("github", "gitlab")


def identities_of(person: PersonIn) -> list[tuple[str, str]]:
    named = [("email", email) for email in person.emails]
    for kind in ("github", "gitlab", "pagerduty", "opsgenie"):
        value = getattr(person, kind)
        if value:
            named.append((kind, value))
    return [(kind, value.lower()) for kind, value in named]


def _check_people(document: PeopleIn) -> None:
    names: set[str] = set()
    held: dict[tuple[str, str], str] = {}
    for person in document.people:
        if person.name in names:
            raise BadPayload(f"people: {person.name!r} is named twice")
        names.add(person.name)
        for pair in identities_of(person):
            if pair in held:
                raise BadPayload(
                    f"people: {pair[0]} {pair[1]!r} is both {held[pair]!r} and {person.name!r}"
                )
            held[pair] = person.name


def replace_people(session: Session, document: PeopleIn) -> None:
    """The mapping's people, exactly: people it no longer names go (auto people stay, minus
    the names the mapping gives to someone)."""
    _check_people(document)
    named = {person.name for person in document.people}
    gone = [p.id for p in stored.people(session) if p.source == MAPPING and p.name not in named]
    stored.delete_people(session, gone)
    for given in document.people:
        person = stored.create_person(session, given.name, None, MAPPING)
        person.source = MAPPING
        person.email = given.email or (given.emails[0] if given.emails else None)
        person.slack_user_id = given.slack
        stored.drop_identities_of(session, person.id)
        pairs = identities_of(given)
        stored.drop_identities(session, pairs)  # the mapping is the truth
        for kind, value in pairs:
            stored.add_identity(session, person.id, kind, value, MAPPING)
    session.flush()
    stored.delete_people(session, stored.people_without_identities(session, AUTO))
    _check_members(session, stored.teams(session))


def replace_teams(session: Session, document: TeamsIn) -> None:
    names = [team.name for team in document.teams]
    if len(set(names)) != len(names):
        raise BadPayload("teams: a team is named twice")
    stored.replace_teams(session, [team.model_dump() for team in document.teams])
    session.flush()
    _check_members(session, stored.teams(session))


def _check_members(session: Session, teams: list[Team]) -> None:
    known = {person.name for person in stored.people(session)}
    for team in teams:
        unknown = [name for name in team.members if name not in known]
        if unknown:
            raise BadPayload(
                f"team {team.name!r}: no person named {', '.join(map(repr, unknown))}; "
                "name them in people first"
            )


def login_kind(pr_url: str | None) -> str:
    """Which forge a pull request's login belongs to, from its URL (GitHub where unsaid)."""
    host = (urlsplit(pr_url).hostname or "") if pr_url else ""
    return "gitlab" if "gitlab" in host else "github"


def learn_from_mergesets(session: Session, repository_id: int, shas: set[str]) -> None:
    """Tie each of these mergesets' author email to its pull request's login."""
    for email, login, pr_url in stored.linkable_mergesets(session, repository_id, shas):
        kind = login_kind(pr_url)
        by_email, by_login = (
            stored.holder(session, "email", email),
            stored.holder(session, kind, login),
        )
        if by_email is not None and by_login is None:
            stored.add_identity(session, by_email.id, kind, login, AUTO)
        elif by_login is not None and by_email is None:
            stored.add_identity(session, by_login.id, "email", email, AUTO)
        elif by_email is None and by_login is None:
            person = stored.create_person(session, login, email, AUTO)
            stored.add_identity(session, person.id, kind, login, AUTO)
            stored.add_identity(session, person.id, "email", email, AUTO)


def author_names(mergeset: Mergeset) -> set[tuple[str, str]]:
    """The (kind, value) pairs a mergeset names its author by."""
    names: set[tuple[str, str]] = set()
    if mergeset.author:
        kind = "email" if "@" in mergeset.author else login_kind(mergeset.pr_url)
        names.add(
            (kind, _email_of(mergeset.author) if kind == "email" else mergeset.author.lower())
        )
    if mergeset.pr_author:
        names.add((login_kind(mergeset.pr_url), mergeset.pr_author.lower()))
    return names


def _email_of(author: str) -> str:
    """`Ada <ada@example.com>` or `ada@example.com`: the address, lower-cased."""
    inside = author.rpartition("<")[2].rstrip(">") if "<" in author else author
    return inside.strip().lower()


@dataclass(frozen=True)
class Author:
    """Who a mergeset names as its author: the person, where mapped, and the name it gives."""

    shown: str  # the person's name where known, else what the mergeset says
    person: Person | None


def authors_of(session: Session, mergesets: list[Mergeset]) -> dict[int, list[Author]]:
    """Each mergeset's authors: one per person (a person named twice is one author)."""
    every = set().union(*(author_names(m) for m in mergesets)) if mergesets else set()
    found = stored.holders(session, every)
    result: dict[int, list[Author]] = {}
    for mergeset in mergesets:
        people: dict[int, Author] = {}
        loose: list[Author] = []
        for pair in sorted(author_names(mergeset)):
            person = found.get(pair)
            if person is not None:
                people.setdefault(person.id, Author(person.name, person))
        if not people and mergeset.author:
            loose.append(Author(mergeset.author, None))
        result[mergeset.id] = [*people.values(), *loose]
    return result


def teams_owning(teams: list[Team], repository_names: set[str], service: str | None) -> list[Team]:
    """The teams that own a repository (by any of its names, letter case aside) or a service."""
    wanted = {name.lower() for name in repository_names}
    return [
        team
        for team in teams
        if wanted & {name.lower() for name in team.repositories}
        or (service is not None and service in team.services)
    ]


def repository_names(repository) -> set[str]:
    """Every name a team may own a repository by: its URL, `owner/name`, its given name."""
    names = {repository.name, repository.display_name}
    names.add(short_names([repository])[repository.id])
    return names


def people_report(session: Session) -> dict:
    """Everyone with their identities and teams, the teams, and the unmapped authors."""
    teams = stored.teams(session)
    held: dict[int, list] = {}
    for identity in stored.identities(session):
        held.setdefault(identity.person_id, []).append(identity)
    people = [
        {
            "name": person.name,
            "email": person.email,
            "slack": person.slack_user_id,
            "source": person.source,
            "identities": [
                {"kind": i.kind, "value": i.value, "source": i.source}
                for i in held.get(person.id, [])
            ],
            "teams": [team.name for team in teams if person.name in team.members],
        }
        for person in stored.people(session)
    ]
    return {
        "people": people,
        "teams": [TeamIn.model_validate(team, from_attributes=True).model_dump() for team in teams],
        "unmapped": unmapped_authors(session),
    }


def unmapped_authors(session: Session) -> list[dict]:
    """Authors no person holds, with how many mergesets they wrote and where."""
    rows = stored.authors(session)
    pairs = {(("email", _email_of(a)) if "@" in a else ("github", a.lower())) for a, *_ in rows}
    pairs |= {("github", pr.lower()) for _, pr, _, _ in rows if pr}
    found = stored.holders(session, pairs)
    names = short_names(store.repositories(session))
    unmapped: dict[str, dict] = {}
    for author, pr_author, count, repository_id in rows:
        mine = {("email", _email_of(author)) if "@" in author else ("github", author.lower())}
        if pr_author:
            mine.add(("github", pr_author.lower()))
        if any(pair in found for pair in mine):
            continue
        entry = unmapped.setdefault(author, {"author": author, "mergesets": 0, "repositories": []})
        entry["mergesets"] += count
        if names.get(repository_id) not in entry["repositories"]:
            entry["repositories"].append(names.get(repository_id, "?"))
    return sorted(unmapped.values(), key=lambda entry: (-entry["mergesets"], entry["author"]))


def short_name(session: Session, repository_id: int) -> str:
    """A repository's name as people say it (`owner/name`; the host where two hosts clash)."""
    return short_names(store.repositories(session)).get(repository_id, "?")


def feedback_log(session: Session, limit: int) -> list[dict]:
    """The feedback outbox, newest first, each message with its person's name."""
    names = {person.id: person.name for person in stored.people(session)}
    return [
        {
            "key": row.key,
            "kind": row.kind,
            "channel": row.channel,
            "team": row.team,
            "person": names.get(row.person_id) if row.person_id else None,
            "subject": row.subject,
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "next_attempt_at": row.next_attempt_at,
            "sent_at": row.sent_at,
        }
        for row in feedback_store.messages(session, limit)
    ]


def any_team(session: Session) -> bool:
    return bool(stored.teams(session))


def teams_of(session: Session, repositories: list) -> dict[int, list[str]]:
    """The names of the teams owning each repository."""
    teams = stored.teams(session)
    return {
        repository.id: [t.name for t in teams_owning(teams, repository_names(repository), None)]
        for repository in repositories
    }
