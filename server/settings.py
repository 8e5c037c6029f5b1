"""The server's settings: `LEADTIME_*` variables, overridden by `leadtime serve` flags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadtime.server.hours import parse_working_hours
from leadtime.tracer.config import TracerConfig, user_dir

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The usual spellings of a switch, the same for every on/off setting (pydantic's own for bools).
ON_WORDS = ("on", "true", "1", "yes", "y", "t", "enabled")
OFF_WORDS = ("off", "false", "0", "no", "n", "f", "disabled")


def switch(value: object, name: str, extra: tuple[str, ...] = ()) -> str:
    """`on` or `off` (or one of `extra`) from any usual spelling; ValueError naming the setting
    and what it takes, so a typo stops the server instead of meaning something else."""
    word = str(value).strip().lower()
    if word in ON_WORDS:
        return "on"
    if word in OFF_WORDS:
        return "off"
    if word in extra:
        return word
    allowed = ", ".join(["on", "off", *extra])
    raise ValueError(f"LEADTIME_{name.upper()}={value!r}: use one of {allowed}")


def default_database_url() -> str:
    path = Path(user_dir("XDG_DATA_HOME", ".local/share")) / "leadtime.db"
    return f"sqlite:///{path}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADTIME_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL; SQLite in the user data directory unless set "
        "(production: postgresql+psycopg://user@host/db).",
    )
    host: str = Field("127.0.0.1", description="Address `leadtime serve` listens on.")
    port: int = Field(8000, description="Port `leadtime serve` listens on.")
    auth: str = Field(
        "auto",
        description="`on`: writes need a bearer token; `off`: writes are open; `auto`: off only "
        "when listening on a loopback address.",
    )
    read_auth: str = Field("off", description="`on`: reads need a bearer token too.")
    main_branches: str = Field(
        "main,master", description="Branches whose first-parent commits are mergesets."
    )
    production_environment: str = Field(
        "production", description="Deploys to this environment define lead time."
    )
    budget_minutes: float = Field(
        15.0, description="Default lead-time budget per repository, in minutes."
    )
    slow_step_share: float = Field(
        0.20,
        description="A step is slow when its p50 time on the critical path is at least this "
        "share of the budget.",
    )
    flaky_step_rate: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A step is flagged flaky when at least this share of the revisions it ran "
        "on saw it both fail and pass.",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        description="Largest request body, also after gzip decompression (413 above it).",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="A connection that has not sent a whole request's headers this long after "
        "it opened (or after the request's first byte) is closed.",
    )
    request_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description="A request still unanswered after this long (a hanging database) is "
        "answered 503 with Retry-After.",
    )
    public_url: str | None = Field(
        None,
        description="The dashboard's address as people reach it, for links in alerts "
        "(default: http://HOST:PORT).",
    )
    alerts_enabled: bool = Field(
        True, description="Evaluate regressions in the server and send notifications."
    )
    alert_interval_seconds: float = Field(
        300.0, description="How often the server evaluates regressions (and after each deploy)."
    )
    housekeeping_enabled: bool = Field(
        True,
        description="Roll up step summaries per day and prune steps past the retention in the "
        "server (off: only `leadtime db prune`, and reports read every run).",
    )
    step_retention_days: int = Field(
        90,
        ge=0,
        description="Days a run's raw step spans are kept (its step summary, mergesets, "
        "deploys and pages are kept for good); 0 keeps them for ever.",
    )
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack incoming webhook for every repository's alerts (a secret)."
    )
    alert_webhook_url: SecretStr | None = Field(
        None, description="Generic JSON webhook for every repository's alerts."
    )
    notify_allowed_hosts: str = Field(
        "",
        description="Hosts, addresses or CIDR networks notifiers may reach although they are "
        "loopback, private or link-local (comma-separated; e.g. 10.0.0.0/8,hooks.internal).",
    )
    alert_webhook_secret: SecretStr | None = Field(
        None,
        description="Signs the generic webhook's deliveries (Standard Webhooks; `whsec_...` "
        "base64 keys or any string).",
    )
    notify_timeout_seconds: float = Field(10.0, description="Time limit of one delivery.")
    notify_retry_seconds: float = Field(
        5.0, description="First retry delay of a failed delivery; doubled on each attempt."
    )
    notify_max_attempts: int = Field(
        8, description="Deliveries given up (and the notifier shown failing) after this many."
    )
    feedback_enabled: bool = Field(
        True,
        description="Tell the people who made a change, and their team, about pages, failures, "
        "waits and regressions, and send each team's weekly digest (domain/feedback.py).",
    )
    feedback_interval_seconds: float = Field(
        30.0, gt=0, description="How often the server looks for news to tell people."
    )
    feedback_lookback_hours: float = Field(
        24.0, gt=0, description="How far back a page, failure or alert is still news."
    )
    slack_bot_token: SecretStr | None = Field(
        None,
        description="A Slack bot token (xoxb-...): direct messages to mapped people and posts to "
        "a team's `slack_channel` through Slack's chat API.",
    )
    slack_api_url: str = Field(
        "https://slack.com/api", description="Slack's Web API (a stand-in's address in tests)."
    )
    smtp_host: str | None = Field(None, description="The mail server feedback is sent through.")
    smtp_port: int = Field(25, description="The mail server's port.")
    smtp_from: str = Field("leadtime@localhost", description="The sender of feedback mail.")
    smtp_username: str | None = Field(None, description="Sign in to the mail server as this.")
    smtp_password: SecretStr | None = Field(None, description="The mail server's password.")
    smtp_starttls: bool = Field(False, description="Upgrade the mail connection with STARTTLS.")
    github_webhook_secret: SecretStr | None = Field(
        None, description="The GitHub webhook's secret; without it GitHub deliveries are refused."
    )
    gitlab_webhook_token: SecretStr | None = Field(
        None, description="The GitLab webhook's secret token (X-Gitlab-Token)."
    )
    gitlab_signing_token: SecretStr | None = Field(
        None, description="The GitLab webhook's signing token (`whsec_...`), when one is set."
    )
    pagerduty_webhook_secret: SecretStr | None = Field(
        None,
        description="The PagerDuty V3 webhook subscription's secret; without it PagerDuty "
        "deliveries are refused.",
    )
    service_map_file: Path | None = Field(
        None,
        description="TOML file mapping the service names pagers use to those deploys use: "
        '`[services]` then `"checkout-api" = "shop"`. Loaded when the server starts.',
    )
    page_lookback_hours: float = Field(
        24.0, description="How long before a page a deploy can be its suspect."
    )
    working_hours: str = Field(
        "09:00-18:00", description="On-call review: pages outside these hours are out of hours."
    )
    working_days: str = Field("mon-fri", description="On-call review: the working days.")
    timezone: str = Field("UTC", description="On-call review: the team's time zone (IANA name).")
    weekly_page_limit: int = Field(
        5, description="On-call review: weeks with more pages than this are flagged."
    )
    rework_after_page_minutes: float = Field(
        60.0,
        ge=0,
        description="Rework rate: a deploy this long after a page on its service resolved "
        "still counts as made to fix it.",
    )
    dora_tiers: str = Field(
        "",
        description="DORA tier bounds in place of the 2024 report's, e.g. "
        "`rework_rate=5%,10%,20%;change_lead_time=12h,3d,2w` (elite,high,medium; checked "
        "when the server starts: domain/dora_tiers.py).",
    )
    migrate_on_start: bool = Field(
        True, description="Apply database migrations when the server starts."
    )

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_is_a_switch(cls, value: object) -> str:
        return switch(value, "auth", extra=("auto",))

    @field_validator("read_auth", mode="before")
    @classmethod
    def _read_auth_is_a_switch(cls, value: object) -> str:
        return switch(value, "read_auth")

    @model_validator(mode="after")
    def _working_hours_make_sense(self) -> Settings:
        parse_working_hours(self.working_hours, self.working_days, self.timezone)
        return self

    @property
    def writes_need_token(self) -> bool:
        """Whether every write needs a token: `on`, or `auto` on an address others can reach.
        `auto` on a loopback bind opens writes to direct loopback clients only (api/deps.py)."""
        if self.auth in ("on", "off"):
            return self.auth == "on"
        return self.host not in LOOPBACK_HOSTS

    @property
    def writes_open_to_loopback(self) -> bool:
        return self.auth == "auto" and not self.writes_need_token

    @property
    def reads_need_token(self) -> bool:
        return self.read_auth == "on"

    @property
    def main_branch_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.main_branches.split(",") if name.strip())

    @property
    def dashboard_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def default_budget(self) -> timedelta:
        return timedelta(minutes=self.budget_minutes)


def _edits(a: str, b: str) -> int:
    """Letters to insert, delete, change or swap to turn `a` into `b` (optimal string
    alignment distance): a typo is one or two."""
    before, row = None, list(range(len(b) + 1))
    for i, letter in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (letter != other))
            if before is not None and i > 1 and j > 1 and letter == b[j - 2] and a[i - 2] == other:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


def misspelled_variables(environ: Mapping[str, str]) -> list[str]:
    """One message per LEADTIME_ variable that is no setting of the server or the tracer but
    is one or two typos from one (`LEADTIME_AUHT`, `LEADTIME_READAUTH`): it would otherwise
    silently keep a default. Other LEADTIME_ names (a test harness's own) are left alone."""
    known = sorted({f"LEADTIME_{name.upper()}" for name in Settings.model_fields})
    known += [name for name in TracerConfig.VARIABLES if name not in known]
    found = []
    for name in sorted(environ):
        if not name.startswith("LEADTIME_") or name in known:
            continue
        close = [k for k in known if _edits(name, k) <= min(2, len(k) - len("LEADTIME_") - 1)]
        if close:
            found.append(f"{name} is not a setting; did you mean {close[0]}?")
    return found
