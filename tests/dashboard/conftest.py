"""The dashboard tests reuse the server's fixtures (database, live server, client)."""

from tests.server.conftest import client, data_dir, db_url, engine, live_server, session  # noqa: F401
