"""Everything known about where a step runs: the CI provider's variables first (and on GitHub
Actions the pushed commit's time and author from its event file), then the checkout.

Commit facts (committed time, author) cost a git read on most providers, so they are gathered
only where the server needs them: deploys, pipeline roots, and steps on a main branch
(`LEADTIME_MAIN_BRANCHES`, default main and master), whose commits are mergesets.
"""

from __future__ import annotations

import re
from _collections_abc import Mapping

from leadtime.tracer import gitinfo, providers
from leadtime.tracer.record_type import Record

CHECKOUT_FACTS = ("sha", "branch", "repo_url")
COMMIT_FACTS = ("committed_at", "author")
# scp-like `user@host:path`, and `ssh://user@host[:port]/path` (the port is ssh's, not the web's)
_SSH_REMOTE = re.compile(
    r"^(?:ssh://(?:[^@/]+@)?([^:/]+)(?::\d+)?/|(?:[^@/]+@)?([^:/]+):)(?!/)(.+)$"
)
_CHANGE_REF = re.compile(r"^(?:refs/pull/|https?://\S+/pull/)(\d+)(?:/merge|/head)?/?$")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_KNOWN_FORGES = ("github", "gitlab", "bitbucket", "gitea")


class CIContext(Record):
    provider: str = "local"
    run_id: str | None = None
    attempt: str | None = None
    pipeline_name: str | None = None
    pipeline_url: str | None = None
    pipeline_created_at: str | None = None
    job_name: str | None = None
    job_id: str | None = None
    job_url: str | None = None
    repo_url: str | None = None
    repo_name: str | None = None
    vcs_provider: str | None = None
    branch: str | None = None
    ref_type: str | None = None  # "branch" or "tag": what `branch` names
    sha: str | None = None
    change_id: str | None = None
    committed_at: str | None = None
    author: str | None = None


def normalize_repo_url(url: str) -> str:
    """An https URL without credentials or `.git`, from any remote URL form git accepts."""
    url = url.strip()
    if "://" in url and not url.startswith("ssh://"):
        scheme, rest = url.split("://", 1)
        host_part, slash, path = rest.partition("/")
        host_part = host_part.rsplit("@", 1)[-1]
        url = f"{'https' if scheme in ('git', 'http', 'https') else scheme}://{host_part}{slash}{path}"
    else:
        match = _SSH_REMOTE.match(url)
        if match:
            ssh_host, scp_host, path = match.groups()
            url = f"https://{ssh_host or scp_host}/{path.lstrip('/')}"
    url = url.rstrip("/")
    return url.removesuffix(".git")


def _vcs_provider_from(*candidates: str | None) -> str | None:
    for candidate in candidates:
        lowered = (candidate or "").lower()
        for forge in _KNOWN_FORGES:
            if forge in lowered:
                return forge
    return None


def _clean_ref(cleaned: dict[str, str]) -> None:
    """`branch` as a plain name and `ref_type` saying whether it is a branch or a tag, from a
    provider's tag variable, a full ref (`refs/tags/v1.2`) or the branch itself."""
    tag, ref = cleaned.pop("tag", None), cleaned.pop("ref", "")
    branch = cleaned.get("branch", "")
    if not tag and (ref.startswith("refs/tags/") or branch.startswith("refs/tags/")):
        tag = (ref if ref.startswith("refs/tags/") else branch).removeprefix("refs/tags/")
    if tag:
        cleaned["branch"], cleaned["ref_type"] = tag, "tag"
    elif branch:
        cleaned["branch"] = branch.removeprefix("refs/heads/").removeprefix("origin/")
        cleaned.setdefault("ref_type", "branch")


def clean_fields(found: Mapping[str, str]) -> dict[str, str]:
    """Turn raw variable values into attribute values, the same way for every provider."""
    cleaned = dict(found)
    if "repo_url" in cleaned:
        cleaned["repo_url"] = normalize_repo_url(cleaned["repo_url"])
    if "repo_name" in cleaned or "repo_url" in cleaned:
        # semconv: vcs.repository.name is the repository's own name, without owner or group.
        name = cleaned.get("repo_name") or cleaned["repo_url"]
        cleaned["repo_name"] = name.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    _clean_ref(cleaned)
    if "change_id" in cleaned:
        # A PR number from `refs/pull/12/merge`, a PR URL or a plain number; "false" means none.
        match = _CHANGE_REF.match(cleaned["change_id"])
        if match:
            cleaned["change_id"] = match.group(1)
        elif not cleaned["change_id"].isdigit():
            del cleaned["change_id"]
    if "sha" in cleaned and not _SHA.fullmatch(cleaned["sha"]):
        del cleaned["sha"]  # Buildkite may say "HEAD" before the checkout resolves it.
    forge = _vcs_provider_from(cleaned.get("vcs_provider"), cleaned.get("repo_url"))
    if forge:
        cleaned["vcs_provider"] = forge
    else:
        cleaned.pop("vcs_provider", None)
    return cleaned


def github_event_facts(env: Mapping[str, str], sha: str | None) -> dict[str, str]:
    """The pushed commit's time and author from the event file a GitHub Actions runner writes
    (GITHUB_EVENT_PATH, `head_commit` of a push), when it is the commit being built: no git
    needed, also outside a checkout. Empty for any other event or a file that cannot be read."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path or not sha:
        return {}
    try:
        import json

        with open(path, encoding="utf-8") as event_file:
            head = json.load(event_file).get("head_commit") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(head, dict) or head.get("id") != sha or not head.get("timestamp"):
        return {}
    facts = {"committed_at": str(head["timestamp"])}
    author = head.get("author")
    if isinstance(author, dict) and author.get("email"):
        facts["author"] = str(author["email"])
    return facts


def gather(
    env: Mapping[str, str],
    *,
    main_branches: tuple[str, ...],
    always_commit_facts: bool = False,
    found: dict[str, str] | None = None,
) -> CIContext:
    """The CI context: `found` (from providers.detect) completed from the checkout."""
    found = clean_fields(providers.detect(env) if found is None else found)
    wants_commit_facts = always_commit_facts or found.get("branch") in main_branches
    if wants_commit_facts and found.get("provider") == "github":
        found = {**github_event_facts(env, found.get("sha")), **found}
    missing = [name for name in CHECKOUT_FACTS if name not in found]
    if wants_commit_facts or not found.get("branch"):
        missing += [name for name in COMMIT_FACTS if name not in found]
    if missing:
        checkout = gitinfo.read_checkout(revision=found.get("sha"))
        if found.get("sha") and checkout.get("sha") != found["sha"]:
            # The checkout is at another commit: its commit facts would be wrong.
            checkout = {key: checkout[key] for key in ("repo_url", "branch") if key in checkout}
        found = clean_fields({**checkout, **found})
    return CIContext(**found)
