"""People and teams: `GET /api/people` (everyone, their identities and teams, the teams, and
who is unmapped), `PUT /api/people` and `PUT /api/teams` (the mapping, replaced whole), and
`GET /api/feedback` (what was said to whom, for admins)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server.api.deps import Admin, Reader, SessionDep
from leadtime.server.domain import people
from leadtime.server.schemas.people import FeedbackOut, PeopleIn, PeopleOut, TeamsIn

router = APIRouter(prefix="/api", tags=["people"])


@router.get("/people", dependencies=[Reader], response_model=PeopleOut)
def get_people(session: SessionDep) -> PeopleOut:
    """Everyone leadtime knows (named in the mapping, or learned from a forge's webhook that
    tied a login to a commit's author email), every team, and the authors no person holds."""
    return PeopleOut.model_validate(people.people_report(session))


@router.put("/people", dependencies=[Admin], response_model=PeopleOut)
def put_people(document: PeopleIn, session: SessionDep) -> PeopleOut:
    """The people, replaced whole by these: names, emails, logins, pager ids, Slack ids."""
    people.replace_people(session, document)
    return PeopleOut.model_validate(people.people_report(session))


@router.put("/teams", dependencies=[Admin], response_model=PeopleOut)
def put_teams(document: TeamsIn, session: SessionDep) -> PeopleOut:
    """The teams, replaced whole by these; every member must be a person already named."""
    people.replace_teams(session, document)
    return PeopleOut.model_validate(people.people_report(session))


@router.get("/feedback", dependencies=[Admin], response_model=list[FeedbackOut])
def get_feedback(session: SessionDep, limit: int = Query(200, ge=1, le=1000)) -> list[FeedbackOut]:
    """The feedback messages, newest first: what was (or will be) said to whom, on which
    channel, and whether it went through."""
    return [FeedbackOut.model_validate(row) for row in people.feedback_log(session, limit)]
