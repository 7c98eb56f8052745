"""`panelctl retention due`: the closed cases past the profile's retention rule, from the
query index (no record decrypted): what a coordinator reviews before erasing."""

from __future__ import annotations

from datetime import date

from panelctl.rules.retention import retention_end
from panelctl.store.core import Store


def retention_due(store: Store, as_of: date) -> list[dict]:
    """Each closed case whose retention period ended on or before ``as_of``: {case,
    closed, ends, days_past, rule}, longest past first."""
    rule = store.profile.get("retention") or {}
    years, until_age = rule.get("years_after_closure"), rule.get("until_age")
    ids, columns = store.index().table("case").columns(("status", "closed", "dob"))
    status = columns.get("status") or [None] * len(ids)
    closed = columns.get("closed") or [None] * len(ids)
    dobs = columns.get("dob") or [None] * len(ids)
    rows = []
    for i, case_id in enumerate(ids):
        if status[i] != "closed":
            continue
        found = retention_end(closed[i], dobs[i], years, until_age)
        if found is None or found[0] > as_of:
            continue
        ends, why = found
        rows.append(
            {
                "case": case_id,
                "closed": closed[i],
                "ends": ends,
                "days_past": (as_of - ends).days,
                "rule": why,
            }
        )
    return sorted(rows, key=lambda r: (-r["days_past"], r["case"]))
