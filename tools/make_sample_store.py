"""Rebuild sample-store/: a small demo store (Stoke MACE profile) with invented cases.

Every name, date and detail here is invented. The identity written beside the store is
DEMO ONLY: its secret key is published in this repository, so it must never be used for
real records. The store is built through panelctl's own library, as a coordinator would
build it: agencies, nominations with their Risk Factor Matrix, one meeting held (from a
script) with actions, and the next meeting planned.

    python tools/make_sample_store.py            # rewrites ./sample-store
"""

import shutil
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

from panelctl.base.dates import LONDON
from panelctl.casework import assessments, cases, people
from panelctl.crypto.identity import create_identity_file
from panelctl.meetings import run as meetingrun
from panelctl.meetings.agenda import build_agenda
from panelctl.meetings.schedule import schedule
from panelctl.panel import directory
from panelctl.panel.demo import DEMO_IDENTITY
from panelctl.panel.setup import create_store

POLICE, SOCIAL_CARE = "Staffordshire Police", "Children's Services (Adolescent Services)"
CHILDREN = [
    # name, date of birth, RFM level, referring agency, lead professional, school
    ("Kasey Brightwater", date(2010, 3, 14), "High", POLICE, "Dana Whitfield", "Demo Academy"),
    ("Riley Ashdown", date(2011, 7, 2), "Medium", SOCIAL_CARE, "Owen Pryce", "Demo High School"),
    (
        "Jordan Fenwick-Hale",
        date(2009, 11, 23),
        "High",
        SOCIAL_CARE,
        "Dana Whitfield",
        "Demo College",
    ),
    (
        "Morgan Tealby",
        date(2012, 1, 30),
        "Medium",
        "Schools and Education",
        "Owen Pryce",
        "Demo Academy",
    ),
    (
        "Casey Oakridge",
        date(2010, 9, 8),
        "Medium",
        "Youth Offending Service",
        "Imani Roberts",
        "Demo High School",
    ),
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
        store = create_store(
            work / "store",
            "mace",
            "Stoke-on-Trent MACE (demo)",
            identity_file.unlock(),
            "Stoke-on-Trent City Council",
        )
        directory.seed_agencies(store)
        for name, agency, role in (
            ("Demo Chair", SOCIAL_CARE, "chair"),
            ("Demo Police Officer", POLICE, "core"),
            ("Demo Named Nurse", "Health (Named Nurse)", "core"),
            ("Demo Youth Worker", "Youth Offending Service", "core"),
        ):  # the panel's members: a meeting's attendance is checked against them
            directory.add_member(store, name, agency, role)
        for number, (name, dob, level, agency, worker, school) in enumerate(CHILDREN, start=1):
            nomination = {
                "child": {"name": name, "dob": dob, "school": school, "area": "Demo ward"},
                "referring_agency": agency,
                "lead_professional": worker,
                "team": "Adolescent Team (demo)",
                "team_manager": "Demo Team Manager",
                "concern": "Seen with older associates; going missing overnight.",
                "consequences": "Escalating sexual exploitation and harm.",
                "exploitation_types": ["sexual"],
                "child_views": "Says the older friends look after them.",
                "assessment": {
                    "tool": "rfm",
                    "level": level,
                    "date": date(2026, 9, number * 4),
                    "assessor": worker,
                    "agency": agency,
                },
            }
            cases.nominate(store, nomination, date(2026, 9, number * 5))
        held = schedule(store, date(2026, 10, 14), "10:00", "Demo Civic Centre, Room 2")
        build_agenda(store, held, date(2026, 10, 1))
        script = {
            "attendance": [
                {"name": "Demo Chair", "agency": SOCIAL_CARE, "status": "present"},
                {"name": "Demo Police Officer", "agency": POLICE, "status": "present"},
                {"name": "Demo Named Nurse", "agency": "Health (Named Nurse)", "status": "present"},
                {
                    "name": "Demo Youth Worker",
                    "agency": "Youth Offending Service",
                    "status": "apologies",
                },
            ],
            "confidentiality": {
                "signed": ["Demo Chair", "Demo Police Officer", "Demo Named Nurse"]
            },
            "declarations": [],
            "cases": {
                case_id: {
                    "items": {
                        "presentation by the lead professional": "Update given by the lead professional."
                    },
                    "risk": level,
                    "actions": [
                        {
                            "description": "Share the latest Risk Factor Matrix with the panel",
                            "agency": SOCIAL_CARE,
                            "owner": "Demo Social Worker",
                            "due": date(2026, 11, 4 + n * 6),
                        }
                    ],
                    "decision": "keep",
                    "agreed_by": ["Demo Chair", "Demo Police Officer", "Demo Named Nurse"],
                }
                for n, (case_id, level) in enumerate(
                    [(f"C-{i:04d}", CHILDREN[i - 1][2]) for i in range(1, 6)]
                )
            },
        }
        meetingrun.run_meeting(
            store,
            held,
            meetingrun.ScriptAnswers(script),
            datetime(2026, 10, 14, 12, 0, tzinfo=LONDON),
        )
        # Persons and places of concern: two children share a person, two a location.
        person = people.add_person(
            store,
            "person",
            names=["Demo Adult One"],
            nicknames=["Demo"],
            vehicles=["Blue hatchback (demo)"],
            added=date(2026, 10, 2),
        )
        park = people.add_location(
            store, "hotspot", "Demo Park", area="Demo ward", added=date(2026, 10, 3)
        )
        for a, b in (("C-0001", person), ("C-0003", person), ("C-0002", park), ("C-0004", park)):
            people.add_link(store, a, b, "seen together", "police", date(2026, 10, 5))
        # Since the meeting: a new nomination, and one child's risk has gone up.
        cases.nominate(
            store,
            {
                "child": {
                    "name": "Taylor Lindqvist",
                    "dob": date(2011, 5, 5),
                    "school": "Demo College",
                    "area": "Demo ward",
                },
                "referring_agency": POLICE,
                "lead_professional": "Imani Roberts",
                "team": "Adolescent Team (demo)",
                "concern": "Found at a hotspot address late at night.",
                "exploitation_types": ["sexual", "criminal"],
                "assessment": {
                    "tool": "rfm",
                    "level": "High",
                    "date": date(2026, 11, 1),
                    "assessor": "Imani Roberts",
                    "agency": POLICE,
                },
            },
            date(2026, 11, 2),
        )
        assessments.add_assessment(
            store,
            "C-0002",
            date(2026, 11, 10),
            "Owen Pryce",
            SOCIAL_CARE,
            ["missing_episodes", "older_associates"],
            agreed="High",
            reason="New police intelligence about an older associate",
            today=date(2026, 11, 10),
        )
        schedule(store, date(2026, 12, 16), "10:00", "Demo Civic Centre, Room 2")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(store.root, target, ignore=shutil.ignore_patterns(".git"))
        shutil.copyfile(work / DEMO_IDENTITY, target / DEMO_IDENTITY)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("sample-store"))
