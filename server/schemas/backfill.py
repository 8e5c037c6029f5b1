"""`POST /api/backfill`: a repository's real past, imported from a checkout by `leadtime
backfill`: mergesets of its main branch and the deploys that shipped them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from leadtime.server.schemas.deliveries import SHA_PATTERN

# Per request; the CLI sends larger histories in several. Deploys cost more each (a page may
# become a suspect of one), so fewer of them.
MAX_MERGESETS, MAX_DEPLOYS = 5000, 500


class PastMergeset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha: str = Field(pattern=SHA_PATTERN)
    merged_at: AwareDatetime = Field(description="The first-parent commit's committer time.")
    parent_sha: str | None = Field(None, pattern=SHA_PATTERN)
    author: str | None = Field(None, max_length=300)
    title: str | None = Field(None, max_length=500)
    pr_number: int | None = Field(None, ge=0, le=2**31 - 1)
    pr_title: str | None = Field(None, max_length=500)
    first_commit_at: AwareDatetime | None = Field(
        None, description="When the branch it merged began (its first commit's author time)."
    )


class PastDeployIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha: str = Field(pattern=SHA_PATTERN)
    service: str = Field(min_length=1, max_length=200)
    environment: str = Field(min_length=1, max_length=200)
    finished_at: AwareDatetime
    status: Literal["succeeded", "failed"] = "succeeded"
    id: str | None = Field(None, max_length=300, description="Sent again, it is the same deploy.")


class BackfillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=500, description="The repository's URL.")
    mergesets: list[PastMergeset] = Field(default_factory=list, max_length=MAX_MERGESETS)
    deploys: list[PastDeployIn] = Field(default_factory=list, max_length=MAX_DEPLOYS)


class BackfillOut(BaseModel):
    repository: str
    mergesets_new: int = Field(description="Mergesets leadtime did not know before.")
    deploys_new: int
    measured_since_before: datetime | None
    measured_since: datetime | None = Field(description="The adoption point after the import.")
