"""The server's commands, registered by the server package itself: the `leadtime` group
(tracer/cli.py) reads this table when a name is not one of the tracer's own commands, and imports
a command's module only when it is called, so `leadtime step` never pays for any of them.

Each value is `module:attribute` inside this package. A new command is a row here and a function
in the module its row names (one module per family: serve, reports, deploys, alerts, pages, demo,
backfill).
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "serve": "serve:serve",
    "db": "serve:db_group",
    "token": "serve:token_group",
    "demo": "demo:demo",
    "backfill": "backfill:backfill",
    "mergesets": "reports:mergesets",
    "deploys": "deploys:deploys_group",
    "report": "reports:report_group",
    "budget": "reports:budget_group",
    "alerts": "alerts:alerts_group",
    "check": "alerts:check",
    "target": "alerts:target_group",
    "page": "pages:page",
    "pages": "pages:pages",
    "postmortem": "pages:postmortem",
    "people": "people:people_group",
}
