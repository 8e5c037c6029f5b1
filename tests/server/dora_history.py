"""A history with known DORA keys: five mergesets of acme/shop (one a revert), seven deploys of
shop (one a rollback, one a redeploy) and two pages, over one day five days ago. Its answers,
worked out by hand, are asserted where it is used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import REPO, make_deploy, make_mergeset, make_page


def _merge(client, sha: str, at: datetime, parent: str | None, title: str) -> None:
    body = {"repository": REPO, "sha": sha, "merged_at": at.isoformat(), "title": title}
    if parent:
        body["parent_sha"] = parent
    assert client.post("/api/merges", json=body).status_code == 200


def seed_dora_history(client) -> dict[str, float]:
    """Five mergesets, seven deploys of shop and two pages over one day five days ago."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    sha = {n: f"{n:x}" * 40 for n in range(1, 6)}
    _merge(client, sha[1], t0, None, "Add checkout")
    _merge(client, sha[2], t0 + timedelta(hours=1), sha[1], "Faster cart")
    _merge(client, sha[3], t0 + timedelta(hours=2), sha[2], 'Revert "Faster cart"')
    make_mergeset(client, sha[4], t0 + timedelta(hours=3), parent=sha[3])
    make_mergeset(client, sha[5], t0 + timedelta(hours=4), parent=sha[4])
    at = {
        "d1": t0 + timedelta(minutes=10),  # ships 1
        "d2": t0 + timedelta(hours=1, minutes=20),  # ships 2; page 1 follows: failed
        "d3": t0 + timedelta(hours=1, minutes=50),  # back to 1 while page 1 is open: rollback
        "d4": t0 + timedelta(hours=2, minutes=30),  # ships 3, the revert
        "d5": t0 + timedelta(hours=5),  # ships 4, nearly three hours after page 1 resolved
        "d6": t0 + timedelta(hours=6),  # ships 5; page 2 follows, never resolved: failed
        "d7": t0 + timedelta(hours=6, minutes=30),  # 5 again while page 2 is open
    }
    shas = {"d1": 1, "d2": 2, "d3": 1, "d4": 3, "d5": 4, "d6": 5, "d7": 5}
    for name, finished in at.items():
        make_deploy(client, "shop", sha[shas[name]], finished)
    resolved = t0 + timedelta(hours=2, minutes=10)
    make_page(
        client, "shop", t0 + timedelta(hours=1, minutes=30), "p1", resolved_at=resolved.isoformat()
    )
    make_page(client, "shop", t0 + timedelta(hours=6, minutes=10), "p2")
    merged = [t0, *(t0 + timedelta(hours=h) for h in (1, 2, 3, 4))]
    deployed = [at["d1"], at["d2"], at["d4"], at["d5"], at["d6"]]
    lead_times = sorted((d - m).total_seconds() for m, d in zip(merged, deployed, strict=True))
    return {"median_lead_time": lead_times[2], "recovery": (resolved - at["d2"]).total_seconds()}
