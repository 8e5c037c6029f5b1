"""What a webhook source is: one module per source declares one of these, and
ingest/webhooks.py lists them. The API gives each a route `/webhooks/<name>` that reads the raw
body, verifies it before parsing, drops a redelivery by its delivery id, and records the facts
in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from leadtime.server.ingest.facts import Facts
from leadtime.server.settings import Settings

Headers = Mapping[str, str]  # lower-case names, as Starlette gives them


@dataclass(frozen=True)
class WebhookSource:
    name: str  # the route is /webhooks/<name>; the source of its deliveries
    summary: str  # the route's description in the OpenAPI document
    parse: Callable[[bytes, Headers], Facts]
    # None: the source cannot sign, and the API's bearer token stands in (Opsgenie and
    # Alertmanager can both send an Authorization header).
    verify: Callable[[bytes, Headers, Settings], None] | None
    delivery_headers: tuple[str, ...] = ()  # the delivery id, first header present wins
    pager: bool = False  # its answer lists the ids of the pages it was about

    def delivery_id(self, headers: Headers) -> str | None:
        return next((headers[name] for name in self.delivery_headers if headers.get(name)), None)


def secret_value(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
