"""The README's provider table is the providers' tables, rendered: the docs cannot drift."""

from __future__ import annotations

from pathlib import Path

from leadtime.tracer import providers

README = Path(__file__).resolve().parents[2] / "README.md"
TITLES = {
    "github": "GitHub Actions",
    "gitlab": "GitLab CI",
    "buildkite": "Buildkite",
    "circleci": "CircleCI",
    "azure": "Azure Pipelines",
    "jenkins": "Jenkins",
}
ROWS = (
    ("run_id", "`cicd.pipeline.run.id`, trace id"),
    ("attempt", "trace id (attempt)"),
    ("pipeline_name", "`cicd.pipeline.name`"),
    ("pipeline_url", "`cicd.pipeline.run.url.full`"),
    ("pipeline_created_at", "root span start (fallback)"),
    ("job_name", "`leadtime.job.name`"),
    ("job_id", "`leadtime.job.id`"),
    ("job_url", "`cicd.pipeline.task.run.url.full`"),
    ("repo_url", "`vcs.repository.url.full`"),
    ("repo_name", "`vcs.repository.name`"),
    ("vcs_provider", "`vcs.provider.name`"),
    ("branch", "`vcs.ref.head.name`"),
    ("tag", "a tag build (`vcs.ref.head.type` `tag`)"),
    ("ref", "full ref (`refs/tags/...`: a tag build)"),
    ("sha", "`vcs.ref.head.revision`"),
    ("change_id", "`vcs.change.id`"),
    ("committed_at", "`leadtime.commit.committed_at`"),
    ("author", "`leadtime.commit.author`"),
)
FROM_CHECKOUT = {"repo_url", "branch", "sha", "committed_at", "author"}
FROM_URL = {"repo_name", "vcs_provider"}


def render_provider_table() -> str:
    lines = [
        "| attribute | " + " | ".join(TITLES[name] for name, *_ in providers.PROVIDERS) + " |",
        "|---|" + "---|" * len(providers.PROVIDERS),
        "| *detected by* | "
        + " | ".join(
            f"`{variable}={value}`" if value else f"`{variable}` set"
            for _, variable, value, _ in providers.PROVIDERS
        )
        + " |",
    ]
    for field, label in ROWS:
        cells = []
        for _, _, _, table in providers.PROVIDERS:
            if field in table:
                cells.append(" or ".join(f"`{template}`" for template in table[field]))
            elif field in FROM_CHECKOUT:
                cells.append("checkout")
            elif field in FROM_URL:
                cells.append("repository URL")
            else:
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_readme_provider_table_matches_the_code():
    assert render_provider_table() in README.read_text(), (
        "README's provider table is out of date; paste this:\n" + render_provider_table()
    )
