"""Where notifications may go: public addresses, and the hosts an admin allowed.

A notifier URL must not reach into the server's own network on someone's behalf: a host that
resolves to a loopback, private, link-local (cloud metadata: 169.254.169.254), shared, reserved,
multicast or unspecified address is refused unless LEADTIME_NOTIFY_ALLOWED_HOSTS lists it (host
names, addresses or networks in CIDR form, comma-separated). The hosts of the server's own
notifier settings (LEADTIME_SLACK_WEBHOOK_URL, LEADTIME_ALERT_WEBHOOK_URL, LEADTIME_SLACK_API_URL)
are allowed: an admin configured them. Checked when a repository's URL is set and again before
each delivery, since a name may resolve elsewhere later. A name that does not resolve is left to
the delivery to fail.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from leadtime.server.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _inside(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def _allowed(host: str, addresses: list[Address], settings: Settings) -> bool:
    entries = [entry.strip().lower() for entry in settings.notify_allowed_hosts.split(",")]
    for own in (settings.slack_webhook_url, settings.alert_webhook_url):
        if own is not None:
            entries.append((urlsplit(own.get_secret_value()).hostname or "").lower())
    entries.append((urlsplit(settings.slack_api_url).hostname or "").lower())
    for entry in filter(None, entries):
        if entry == host:
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(address in network for address in addresses):
            return True
    return False


def refusal(url: str, settings: Settings) -> str | None:
    """Why `url` may not be sent to, or None. Never names the URL (it is a secret)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    host = parts.hostname.lower()
    addresses = _addresses(host)
    if not any(_inside(address) for address in addresses):
        return None
    if _allowed(host, addresses, settings):
        return None
    return (
        "its host resolves to a loopback, private or link-local address; an admin can allow it "
        "with LEADTIME_NOTIFY_ALLOWED_HOSTS"
    )
