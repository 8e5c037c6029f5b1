"""Connections that never finish their request headers are closed.

uvicorn closes a connection idle between requests after its keep-alive timeout, but waits
forever for the first request's headers, and for the headers of one that trickles in a byte at
a time: about a thousand such connections use up a process's file descriptors (systemd's default
limit is 1,024) and every probe fails. This protocol gives each request LEADTIME_HEADER_TIMEOUT_
SECONDS from the connection's start, or from its first byte, to its last header; past that the
connection is closed. `leadtime serve` runs uvicorn with it.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def protocol_with_header_timeout(seconds: float) -> type[HttpToolsProtocol]:
    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def __getattr__(name: str) -> type[HttpToolsProtocol]:
    """`SettingsHeaderTimeoutProtocol`: the protocol with the timeout the settings in the
    environment give, for uvicorn's worker processes, which import their protocol by name."""
    if name == "SettingsHeaderTimeoutProtocol":
        from leadtime.server.settings import Settings

        return protocol_with_header_timeout(Settings().header_timeout_seconds)
    raise AttributeError(name)
