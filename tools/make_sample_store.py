"""Rebuild sample-store/: a small demo store (Stoke MACE profile) with invented cases.

Every name, date and detail here is invented. The identity written beside the store is
DEMO ONLY: its secret key is published in this repository, so it must never be used for
real records.

    python tools/make_sample_store.py            # rewrites ./sample-store
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from panelctl.demo import DEMO_IDENTITY
from panelctl.identity import create_identity_file
from panelctl.store import init_store

CHILDREN = [
    ("Kasey Brightwater", date(2010, 3, 14), "High", "Police"),
    ("Riley Ashdown", date(2011, 7, 2), "Medium", "Children's Social Care"),
    ("Jordan Fenwick-Hale", date(2009, 11, 23), "High", "Education"),
    ("Morgan Tealby", date(2012, 1, 30), "Medium", "Health"),
    ("Casey Oakridge", date(2010, 9, 8), "Low", "Youth Offending Service"),
]


def build(target: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="panelctl-sample-"))
    try:
        identity_file = create_identity_file(
            work / DEMO_IDENTITY,
            "Demo Coordinator",
            "demo.coordinator@example.gov.uk",
            passphrase=None,
            demo_only=True,
        )
        identity = identity_file.unlock()
        store = init_store(
            work / "store",
            "mace",
            "Stoke-on-Trent MACE (demo)",
            identity,
            "Stoke-on-Trent City Council",
        )
        with store.transaction("Add the demo records") as tx:
            case_ids = []
            for number, (name, dob, risk, agency) in enumerate(CHILDREN, start=1):
                case_ids.append(
                    tx.create(
                        "case",
                        {
                            "status": "open",
                            "child": {"name": name, "dob": dob, "area": "Demo ward"},
                            "nominated": date(2026, 9, number * 5),
                            "referring_agency": agency,
                            "lead_agency": agency,
                            "risk": risk,
                            "exploitation_types": ["sexual"],
                        },
                    )
                )
            meeting = tx.create(
                "meeting",
                {
                    "date": date(2026, 10, 14),
                    "time": "10:00",
                    "venue": "Demo Civic Centre, Room 2",
                    "status": "held",
                    "cases": case_ids[:3],
                },
            )
            tx.create("meeting", {"date": date(2026, 12, 9), "time": "10:00", "status": "planned"})
            for number, case_id in enumerate(case_ids[:4], start=1):
                tx.create(
                    "action",
                    {
                        "description": "Share the latest Risk Factor Matrix with the panel",
                        "case": case_id,
                        "meeting": meeting,
                        "agency": "Children's Social Care",
                        "owner": "Demo Social Worker",
                        "due": date(2026, 11, number * 6),
                        "status": "done" if number == 1 else "open",
                    },
                )
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(store.root, target, ignore=shutil.ignore_patterns(".git"))
        shutil.copyfile(work / DEMO_IDENTITY, target / DEMO_IDENTITY)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("sample-store"))
