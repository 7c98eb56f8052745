"""Meeting papers: golden files for every paper in both formats, escaping, the calendar
invitation, private writing, and a store's own templates overriding the packaged ones.

Regenerate the golden files after a deliberate change to a template with
``PANELCTL_REGENERATE_GOLDEN=1 python -m pytest tests/test_papers.py`` and review the diff
(see tests/golden/README.md).
"""

from __future__ import annotations

import copy
import os
import re
import stat
from datetime import date, datetime
from pathlib import Path

import pytest

from conftest import commit_settings
from panelctl.base.dates import LONDON
from panelctl.base.errors import InvalidInputError, NotAllowedError
from panelctl.meetings.agenda import action_log_sections, agenda_sections
from panelctl.meetings.minutes import attendance_sections
from panelctl.outputs import papers

GOLDEN = Path(__file__).parent / "golden"
#: The fictional child in every fixture; must never reach a calendar invitation.
CHILD = "Kasey Brightwater"

# Read at import time: the autouse fixture in conftest clears PANELCTL_* for each test.
REGENERATE = os.environ.get("PANELCTL_REGENERATE_GOLDEN") == "1"

PANEL = {
    "name": "macse",
    "title": "Multi-Agency Child Sexual Exploitation meeting (MACSE)",
    "area": "CYSUR (Dyfed-Powys)",
    "confidentiality_statement": (
        "Information is shared under the agreed Information Sharing Protocol. Be victim "
        "focused, and share facts, not opinions. The confidentiality declaration is read out "
        "and signed."
    ),
}
MEETING = {
    "id": "M-0003",
    "date": date(2026, 4, 14),
    "time": "10:00",
    "venue": "Committee Room 2, Tŷ Afon, Carmarthen",
    "papers_due": date(2026, 4, 10),
    "papers_late": True,
}
CASE_ITEMS = [
    "introduction of the case",
    "summary by the referring agency",
    "the victim's views",
    "police information",
    "other agency information",
    "summary of risk (a new SERAF)",
    "actions to manage risk with timeframes",
    "agreement signed by each representative",
]


def common() -> dict:
    return {
        "panel": dict(PANEL),
        "marking": "OFFICIAL-SENSITIVE",
        "generated": date(2026, 4, 9),
        "meeting": dict(MEETING),
    }


def agenda_context() -> dict:
    """As meetings.core.papers_for makes it: numbered, victims and perpetrators apart."""
    standing = [
        {
            "title": "introductions and confidentiality statement",
            "start": "10:00",
            "end": "10:10",
        },
        {"title": "actions from the previous meeting", "start": "10:10", "end": "10:20"},
    ]
    items = [
        {
            "number": 3,
            "case": "C-0001",
            "start": "10:20",
            "end": "10:50",
            "reason": "new nomination",
            "kind": "victim",
            "presenter": "Priya Okonkwo-Hale",
            "team": "Adolescent Safeguarding Team",
            "risk": "Significant",
        },
        {
            "number": 4,
            "case": "C-0004",
            "start": "10:50",
            "end": "11:20",
            "reason": "risk changed",
            "kind": "victim",
            "presenter": "Gareth Lloyd-Penn",
            "team": "Youth Justice Service",
            "risk": "Moderate",
        },
        {
            "number": 5,
            "case": "C-0006",
            "start": "11:20",
            "end": "11:50",
            "reason": "review due",
            "kind": "victim",
            "presenter": None,
            "team": None,
            "risk": None,
        },
        {
            "number": 6,
            "case": "C-0009",
            "start": "11:50",
            "end": "12:20",
            "reason": "new nomination",
            "kind": "perpetrator",
            "presenter": "DS Owain Pritchard",
            "team": "Dyfed-Powys Police",
            "risk": None,
        },
    ]
    closing = ["emerging patterns, locations and sources of risk"]
    return {
        **common(),
        **agenda_sections(standing, items, closing),
        "case_items": list(CASE_ITEMS),
    }


def case_paper_context() -> dict:
    return {
        **common(),
        "case": {
            "id": "C-0001",
            "status": "open",
            "kind": None,
            "person": None,
            "age_reason": None,
            "nominated": date(2026, 3, 2),
            "risk": "Significant",
            "risk_tool": "SERAF",
            "child": {
                "name": CHILD,
                "dob": date(2011, 9, 23),
                "gender": "Female",
                "ethnicity": "White British",
                "school": "Ysgol Glan-y-Môr",
                "area": "Llanelli",
                "looked_after": True,
            },
            "lead_professional": "Priya Okonkwo-Hale",
            "team": "Adolescent Safeguarding Team",
            "team_manager": "Tomasz Wren",
            "referring_agency": "Children's Social Care",
            "involved_agencies": [
                "Children's Social Care",
                "Dyfed-Powys Police",
                "Health",
                "Learning Services",
            ],
            "concern": (
                "Kasey has been missing from her placement on four occasions since February, "
                "returning late at night in cars driven by older males.\n\n"
                "She has a second mobile phone and new clothes she cannot account for."
            ),
            "consequences": (
                "Continued sexual exploitation; further missing episodes; disengagement from "
                "school."
            ),
            "child_views": (
                "Kasey says the men are her friends and that she feels safer with them than "
                "in placement."
            ),
            "carer_views": "Her foster carers are worried and want a plan for evenings.",
            "exploitation_types": ["sexual", "criminal"],
        },
        "age": 14,
        "decision_sheet": [
            {"label": "Name of young person", "value": CHILD},
            {"label": "Date of birth", "value": date(2011, 9, 23)},
            {"label": "Referring agency", "value": "Children's Social Care"},
            {"label": "Risk", "value": "Significant"},
            {"label": "Actions and decisions (chair)", "value": None},
            {
                "label": "Involved agencies",
                "value": ["Children's Social Care", "Dyfed-Powys Police", "Health"],
            },
        ],
        "assessment": {
            "tool": "SERAF",
            "date": date(2026, 3, 30),
            "assessor": "Priya Okonkwo-Hale",
            "agency": "Children's Social Care",
            "derived": "Moderate",
            "agreed": "Significant",
            "override_reason": "Escalating missing episodes since the score was taken.",
            "factors": [
                "Missing from placement",
                "Older associates",
                "Unexplained gifts or money",
                "Second mobile phone",
            ],
        },
        "panel_risk": {"level": "Significant", "meeting": "M-0002", "date": date(2026, 3, 10)},
        "open_actions": [
            {
                "id": "A-0007",
                "description": "Return home interview after each missing episode",
                "agency": "Children's Social Care",
                "owner": "Priya Okonkwo-Hale",
                "due": date(2026, 3, 20),
                "overdue": True,
            },
            {
                "id": "A-0011",
                "description": "Check the vehicle registrations seen at the placement",
                "agency": "Dyfed-Powys Police",
                "owner": "DC Imogen Farrow",
                "due": date(2026, 4, 30),
                "overdue": False,
            },
        ],
    }


def action_log_context() -> dict:
    """As meetings.core.papers_for makes it."""
    ctx = {
        **common(),
        "actions": [
            {
                "id": "A-0007",
                "case": "C-0001",
                "description": "Return home interview after each missing episode",
                "agency": "Children's Social Care",
                "owner": "Priya Okonkwo-Hale",
                "due": date(2026, 3, 20),
                "status": "open",
                "overdue": True,
                "days_overdue": 20,
            },
            {
                "id": "A-0008",
                "case": "C-0004",
                "description": "Share school attendance since January with the panel",
                "agency": "Learning Services",
                "owner": "Rhiannon Vale",
                "due": date(2026, 4, 8),
                "status": "open",
                "overdue": True,
                "days_overdue": 1,
            },
            {
                "id": "A-0011",
                "case": "C-0001",
                "description": "Check the vehicle registrations seen at the placement",
                "agency": "Dyfed-Powys Police",
                "owner": "DC Imogen Farrow",
                "due": date(2026, 4, 30),
                "status": "open",
                "overdue": False,
                "days_overdue": 0,
            },
        ],
    }
    return {**ctx, **action_log_sections(ctx["actions"])}


def minutes_context(draft: bool) -> dict:
    """As meetings.core.minutes_context makes it."""
    ctx = {
        **common(),
        "draft": draft,
        "approved_by": None if draft else "Helen Marchbank",
        "approved_at": None if draft else datetime(2026, 4, 16, 10, 2, tzinfo=LONDON),
        "approved_as": None if draft else "vice-chair",
        "chair": "Helen Marchbank",
        "confidentiality_form": True,
        "standing_items": [
            {
                "title": "actions from the previous meeting",
                "text": "A-0009 and A-0010 were done; A-0011 is carried forward.",
            }
        ],
        "closing_items": [
            {"title": "emerging patterns, locations and sources of risk", "text": None}
        ],
        "attendance": [
            {
                "name": "Helen Marchbank",
                "agency": "Children's Social Care",
                "status": "present",
                "deputising_for": None,
            },
            {
                "name": "DS Owain Pritchard",
                "agency": "Dyfed-Powys Police",
                "status": "present",
                "deputising_for": None,
            },
            {
                "name": "Nerys Caddick",
                "agency": "Health",
                "status": "deputy",
                "deputising_for": "Dr Alun Baskerville",
            },
            {
                "name": "Rhiannon Vale",
                "agency": "Learning Services",
                "status": "present",
                "deputising_for": None,
            },
            {
                "name": "Marcus Penhale",
                "agency": "Youth Justice Service",
                "status": "apologies",
                "deputising_for": None,
            },
        ],
        "confidentiality": [
            {"name": "Helen Marchbank", "signed": True},
            {"name": "DS Owain Pritchard", "signed": True},
            {"name": "Nerys Caddick", "signed": True},
            {"name": "Rhiannon Vale", "signed": False},
        ],
        "declarations": [
            {
                "name": "Rhiannon Vale",
                "interest": "Related to a member of staff at the child's school",
                "excluded_cases": ["C-0004"],
            }
        ],
        "quorate": True,
        "quorum_note": "Local Authority, Health and Police were present.",
        "discussions": [
            {
                "case": "C-0001",
                "items": [
                    {
                        "title": "Introduction of the case",
                        "text": "Priya Okonkwo-Hale introduced the case, nominated on 2 Mar 2026.",
                    },
                    {
                        "title": "The victim's views",
                        "text": (
                            "Kasey says the men are her friends.\n\n"
                            "She would like to see her sister more often."
                        ),
                    },
                    {
                        "title": "Summary of risk (a new SERAF)",
                        "text": "The panel agreed the risk is significant and escalating.",
                    },
                ],
                "risk_agreed": "Significant",
                "decision": "keep",
                "agreed_by": ["Helen Marchbank", "DS Owain Pritchard"],
                "left": [],
                "resources": None,
                "asks_resources": False,
                "note": None,
                "actions": [
                    {
                        "id": "A-0014",
                        "description": "Disruption visit to the address linked to the vehicles",
                        "agency": "Dyfed-Powys Police",
                        "owner": "DS Owain Pritchard",
                        "due": date(2026, 4, 28),
                    },
                    {
                        "id": "A-0015",
                        "description": "Safety plan for evenings agreed with the foster carers",
                        "agency": "Children's Social Care",
                        "owner": "Priya Okonkwo-Hale",
                        "due": date(2026, 4, 21),
                    },
                ],
            },
            {
                "case": "C-0004",
                "items": [
                    {
                        "title": "Summary of risk (a new SERAF)",
                        "text": "Rhiannon Vale left the room for this case.",
                    },
                    {"title": "The victim's views", "text": None},
                ],
                "risk_agreed": "Mild",
                "decision": "step down",
                "agreed_by": [],
                "left": [
                    {
                        "name": "Rhiannon Vale",
                        "interest": "Related to a member of staff at the child's school",
                    }
                ],
                "resources": "A weekend support worker for six weeks",
                "asks_resources": True,
                "note": None,
                "actions": [],
            },
        ],
    }
    return {**ctx, **attendance_sections(ctx["attendance"])}


def ics_context() -> dict:
    item = copy.deepcopy(agenda_context()["victims"][0])
    # A careless caller might pass the whole case: the invitation must not use it.
    item["child"] = {"name": CHILD}
    return {**common(), "item": item, "case": case_paper_context()["case"]}


PAPERS = {
    "agenda": (papers.render_agenda, agenda_context),
    "case-paper": (papers.render_case_paper, case_paper_context),
    "action-log": (papers.render_action_log, action_log_context),
    "minutes-draft": (papers.render_minutes, lambda: minutes_context(draft=True)),
    "minutes-approved": (papers.render_minutes, lambda: minutes_context(draft=False)),
}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing; run with PANELCTL_REGENERATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs from its golden file"


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_paper_matches_golden(paper, fmt):
    render, context = PAPERS[paper]
    check_golden(f"{paper}.{fmt}", render(context(), fmt))


def test_invitation_matches_golden():
    check_golden("slot.ics", papers.render_ics(ics_context()))


# --- every paper ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_every_paper_is_marked_at_top_and_bottom(paper, fmt):
    render, context = PAPERS[paper]
    text = render(context(), fmt)
    lines = [line for line in text.splitlines() if line.strip()]
    if fmt == "md":
        assert lines[0] == "**OFFICIAL-SENSITIVE**" and lines[-1] == "**OFFICIAL-SENSITIVE**"
    else:
        assert text.startswith('<!DOCTYPE html>\n<html lang="en-GB">')
        # Once per page edge: in the fixed bars, never also in a page-margin box.
        assert text.count('class="marking marking-top"') == 1
        assert text.count('class="marking marking-bottom"') == 1
        assert "@top-" not in text and "OFFICIAL-SENSITIVE\"" not in text.split("</style>")[0]
        assert '"Page " counter(page) " of " counter(pages)' in text
        assert "<script" not in text.lower() and "src=" not in text and "href=" not in text
        assert "@import" not in text and "url(" not in text
    assert "Mar 2026" in text or "Apr 2026" in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "a date is shown in ISO form"


def test_minutes_say_draft_until_approved():
    draft = papers.render_minutes(minutes_context(draft=True), "md")
    approved = papers.render_minutes(minutes_context(draft=False), "md")
    assert "DRAFT" in draft.splitlines()[2]
    assert "Approved by" not in draft
    assert "DRAFT" not in approved
    assert "Approved by Helen Marchbank on 16 Apr 2026 10:02" in approved
    html = papers.render_minutes(minutes_context(draft=False), "html")
    assert "Approved by Helen Marchbank on 16 Apr 2026 10:02" in html
    assert 'class="watermark"' in papers.render_minutes(minutes_context(draft=True), "html")


def test_unknown_format_is_refused():
    with pytest.raises(InvalidInputError, match="not one of"):
        papers.render_agenda(agenda_context(), "docx")
    with pytest.raises(InvalidInputError, match="no password"):  # see test_pdf_papers.py
        papers.render_agenda(agenda_context(), "pdf")


def test_a_missing_field_names_the_template_not_the_child():
    ctx = case_paper_context()
    del ctx["case"]["concern"]
    with pytest.raises(InvalidInputError) as caught:
        papers.render_case_paper(ctx, "html")
    assert "meeting/case-paper.html.j2" in caught.value.message
    assert "concern" in caught.value.message
    assert CHILD not in caught.value.message


# --- escaping -------------------------------------------------------------------------------

NASTY = "<script>alert('x')</script> Kasey & [link](javascript:x) | *bold*"


def nasty_case_paper() -> dict:
    ctx = case_paper_context()
    ctx["case"]["child"]["name"] = NASTY
    ctx["decision_sheet"][0]["value"] = NASTY
    ctx["case"]["concern"] = NASTY
    ctx["open_actions"][0]["description"] = NASTY
    return ctx


def test_html_escapes_what_people_typed():
    html = papers.render_case_paper(nasty_case_paper(), "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Kasey &amp; [link]" in html
    minutes = minutes_context(draft=False)
    minutes["approved_by"] = "<b>Chair</b>"
    minutes["discussions"][0]["items"][0]["text"] = NASTY
    html = papers.render_minutes(minutes, "html")
    assert "<script>" not in html and "<b>Chair</b>" not in html
    assert "&lt;b&gt;Chair&lt;/b&gt;" in html


def test_markdown_shows_markup_as_text():
    text = papers.render_case_paper(nasty_case_paper(), "md")
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text), "a live Markdown link"
    assert r"\<script\>alert('x')\</script\> Kasey & \[link\](javascript:x) \| \*bold\*" in text
    # A table row keeps its columns: the escaped | does not split the cell.
    row = next(line for line in text.splitlines() if line.startswith("| A-0007"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five columns


# --- calendar invitation --------------------------------------------------------------------


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_invitation_is_a_well_formed_calendar():
    ics = papers.render_ics(ics_context())
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    for line in ics.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75, line
    lines = unfold(ics)[:-1]
    stack = []
    for line in lines:
        assert re.match(r"^[A-Z-]+[;:]", line), line
        if line.startswith("BEGIN:"):
            stack.append(line[6:])
        elif line.startswith("END:"):
            assert stack.pop() == line[4:]
    assert stack == []
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 1
    props = dict(line.split(":", 1) for line in lines if not line.startswith((" ", "\t")))
    assert props["VERSION"] == "2.0"
    assert props["UID"] == "M-0003-C-0001@panelctl"
    assert props["DTSTART;TZID=Europe/London"] == "20260414T102000"
    assert props["DTEND;TZID=Europe/London"] == "20260414T105000"
    assert props["TZID"] == "Europe/London"
    assert props["SUMMARY"] == (
        "Multi-Agency Child Sexual Exploitation meeting (MACSE): case C-0001"
    )
    assert props["LOCATION"] == "Committee Room 2\\, Tŷ Afon\\, Carmarthen"
    assert props["DESCRIPTION"] == (
        "Your slot to present case C-0001. Papers are OFFICIAL-SENSITIVE."
    )
    assert props["DTSTAMP"] == "20260409T000000Z"


def test_invitation_never_names_the_child():
    ics = papers.render_ics(ics_context())
    for part in [CHILD, *CHILD.split()]:
        assert part not in ics and part.lower() not in ics.lower()


def test_invitation_folds_long_lines_by_octets_and_escapes_text():
    ctx = ics_context()
    ctx["meeting"]["venue"] = "Ystafell Bwyllgor; Neuadd y Sir, " + "Tŷ " * 40 + "\nCaerfyrddin"
    ics = papers.render_ics(ctx)
    for line in ics.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
        line.encode("utf-8").decode("utf-8")  # no character split across a fold
    location = next(line for line in unfold(ics) if line.startswith("LOCATION:"))
    assert location.startswith("LOCATION:Ystafell Bwyllgor\\; Neuadd y Sir\\, Tŷ")
    assert location.endswith("\\nCaerfyrddin")
    assert papers.ics_fold("X" * 75) == "X" * 75
    assert papers.ics_fold("X" * 76) == "X" * 75 + "\r\n X"


def test_invitation_without_a_venue_has_no_location():
    ctx = ics_context()
    ctx["meeting"]["venue"] = None
    assert "\r\nLOCATION:" not in papers.render_ics(ctx)


def test_invitation_refuses_a_slot_that_is_not_a_time():
    ctx = ics_context()
    ctx["item"]["end"] = "10:10"
    with pytest.raises(InvalidInputError, match="M-0003, case C-0001"):
        papers.render_ics(ctx)
    ctx["item"]["start"] = "25:00"
    with pytest.raises(InvalidInputError, match="HH:MM"):
        papers.render_ics(ctx)


# --- writing --------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_papers_makes_private_files(tmp_path):
    out = tmp_path / "papers" / "M-0003"
    files = {
        "M-0003-agenda.html": papers.render_agenda(agenda_context(), "html"),
        "M-0003-C-0001.ics": papers.render_ics(ics_context()),
    }
    paths = papers.write_papers(out, files)
    assert paths == [out / "M-0003-agenda.html", out / "M-0003-C-0001.ics"]
    assert mode(out) == 0o700
    for path in paths:
        assert mode(path) == 0o600
    assert paths[1].read_bytes() == files["M-0003-C-0001.ics"].encode("utf-8")  # CRLF kept


def test_write_papers_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out"
    papers.write_papers(out, {"M-0003-agenda.md": "first\n"})
    with pytest.raises(NotAllowedError, match="M-0003-agenda.md"):
        papers.write_papers(out, {"M-0003-action-log.md": "log\n", "M-0003-agenda.md": "again\n"})
    assert (out / "M-0003-agenda.md").read_text() == "first\n"
    assert not (out / "M-0003-action-log.md").exists()  # nothing written when one is refused
    os.chmod(out / "M-0003-agenda.md", 0o644)
    papers.write_papers(out, {"M-0003-agenda.md": "second\n"}, overwrite=True)
    assert (out / "M-0003-agenda.md").read_text() == "second\n"
    assert mode(out / "M-0003-agenda.md") == 0o600


@pytest.mark.parametrize("name", ["../agenda.md", "sub/agenda.md", ".hidden", "", "a..b"])
def test_write_papers_refuses_names_that_are_not_plain(tmp_path, name):
    with pytest.raises(InvalidInputError, match="not allowed"):
        papers.write_papers(tmp_path / "out", {name: "x"})
    assert not (tmp_path / "out").exists()


# --- a store's own templates ----------------------------------------------------------------


def test_a_store_template_overrides_the_packaged_one(store, coordinator):
    tmp_path = store.root
    own = tmp_path / "templates" / "meeting"
    own.mkdir(parents=True)
    (own / "agenda.md.j2").write_text(
        "**{{ marking }}**\n\nCarmarthenshire agenda for {{ meeting.id }} on "
        "{{ meeting.date|ukdate }}\n"
    )
    commit_settings(tmp_path, coordinator.path)  # a store's templates count once committed
    ctx = agenda_context()
    text = papers.render_agenda(ctx, "md", store_root=tmp_path)
    assert text == "**OFFICIAL-SENSITIVE**\n\nCarmarthenshire agenda for M-0003 on 14 Apr 2026\n"
    # Other papers, and the HTML agenda, still come from the package.
    assert papers.render_agenda(ctx, "html", store_root=tmp_path) == papers.render_agenda(
        ctx, "html"
    )


def test_a_store_can_override_only_the_paper_style(store, coordinator):
    tmp_path = store.root
    own = tmp_path / "templates" / "meeting"
    own.mkdir(parents=True)
    (own / "_paper.css").write_text("body { color: #123456; }\n")
    commit_settings(tmp_path, coordinator.path)
    html = papers.render_agenda(agenda_context(), "html", store_root=tmp_path)
    assert "#123456" in html
    # The marking is not part of the style: a store's style cannot drop it.
    assert 'class="marking marking-top"' in html and 'class="marking marking-bottom"' in html
