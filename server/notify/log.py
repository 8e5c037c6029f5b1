"""The server log: every alert is written there, whatever else is configured."""

from __future__ import annotations

import logging
from typing import Any

from leadtime.server.domain.regression import headline
from leadtime.server.notify.message import Delivery, Message
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.alerts")


def configured(alerting: dict[str, Any], settings: Settings) -> bool:
    return True


def send(message: Message) -> Delivery:
    line = headline(message.alert, message.repository)
    log.warning("alert %s: %s (%s)", message.event, line, message.link)
    return Delivery()
