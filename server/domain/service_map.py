"""Which service a page is about: pagers name services their own way ("checkout-api"), deploys
theirs ("shop"). A mapping (API, or the TOML file in LEADTIME_SERVICE_MAP_FILE) says which is
which; without one, a pager's name that a service deploys under is that service. When a mapping
changes, the pages of that pager's service match, and link to their suspect deploy, anew."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import suspects
from leadtime.server.settings import Settings


def read_service_map(path: Path) -> dict[str, str]:
    """`[services]` then `"pager name" = "deploy service"` lines; a clear error otherwise."""
    try:
        content = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"service map {path}: {error}") from error
    services = content.get("services")
    if not isinstance(services, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in services.items()
    ):
        raise ValueError(
            f'service map {path}: expected a [services] table of "pager name" = "service" lines'
        )
    return services


def load_service_map(session: Session, path: Path, settings: Settings) -> None:
    """The mappings of the file, stored (source `file`) and applied to the pages already kept."""
    for pager_service, service in read_service_map(path).items():
        map_service(session, pager_service, service, "file", settings)


def map_service(
    session: Session, pager_service: str, service: str | None, source: str, settings: Settings
) -> None:
    """Map (or with no service, unmap) a pager's service name; its pages match and link anew."""
    if service is None:
        store.delete_service_mapping(session, pager_service)
    else:
        store.upsert_service_mapping(session, pager_service, service, source)
    session.flush()
    for page in store.pages_with_service(session, pager_service):
        suspects.match_service(session, page)
        session.flush()
        suspects.link_page(session, page, settings)
