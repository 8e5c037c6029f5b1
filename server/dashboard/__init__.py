"""The web dashboard: server-rendered pages over the same domain results as the JSON API."""
