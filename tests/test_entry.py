"""Each profile's entry rules, accepting and refusing: pure functions, no store."""

from __future__ import annotations

import pytest

from panelctl.model import entry, profiles

CHILD = {"name": "Test Child", "dob": "2011-03-14", "school": "Demo Academy"}


def refusals(profile: str, **nomination) -> list[str]:
    return entry.refusals(
        profiles.load(profile)["entry_rules"], {"child": dict(CHILD), **nomination}
    )


def rfm(level):
    return {"assessment": {"tool": "rfm", "level": level}}


def seraf(level):
    return {"assessment": {"tool": "seraf", "level": level}}


@pytest.mark.parametrize("level,accepted", [("High", True), ("Medium", True), ("Low", False)])
def test_mace_needs_an_rfm_at_medium_or_high(level, accepted):
    assert (refusals("mace", **rfm(level)) == []) is accepted


def test_mace_refuses_without_an_rfm_and_says_why():
    (reason,) = refusals("mace")
    assert "RFM" in reason and "High or Medium" in reason


def test_mace_refuses_another_tool():
    assert refusals("mace", **seraf("Significant")) == ["the assessment must use the RFM tool"]


@pytest.mark.parametrize("level", ["High", "Medium", "Low"])
def test_cse_panel_needs_an_rfm_at_any_level_and_the_school(level):
    assert refusals("cse-panel", **rfm(level)) == []
    child = {k: v for k, v in CHILD.items() if k != "school"}
    reasons = entry.refusals(
        profiles.load("cse-panel")["entry_rules"], {"child": child, **rfm(level)}
    )
    assert reasons == ["missing required details: child.school"]


GOOD_MACSE = {"known_to": ["police", "local authority"], "first_referral": False}


@pytest.mark.parametrize(
    "level,accepted",
    [("Significant", True), ("Moderate", True), ("Mild", False), ("Not at risk", False)],
)
def test_macse_needs_seraf_significant_or_moderate(level, accepted):
    assert (refusals("macse", **seraf(level), **GOOD_MACSE) == []) is accepted


def test_macse_needs_the_child_known_to_police_and_social_care():
    reasons = refusals("macse", **seraf("Moderate"), known_to=["police"], first_referral=False)
    assert reasons == ["the child must already be known to: local authority"]
    aliases = [entry.sector_name(s) for s in ["Police", "Social Care"]]
    assert refusals("macse", **seraf("Moderate"), known_to=aliases, first_referral=False) == []


@pytest.mark.parametrize("first", [True, None])
def test_macse_is_never_a_first_referral(first):
    nomination = {**seraf("Significant"), "known_to": ["police", "local authority"]}
    if first is not None:
        nomination["first_referral"] = first
    (reason,) = refusals("macse", **nomination)
    assert "first referral" in reason


def test_bnes_needs_the_protocol_and_cse_or_trafficking():
    assert refusals("cse-marac", protocol_followed=True, exploitation_types=["sexual"]) == []
    assert refusals("cse-marac", protocol_followed=True, exploitation_types=["trafficking"]) == []
    reasons = refusals("cse-marac", exploitation_types=["criminal"])
    assert reasons == [
        "the case must have followed the multi-agency CSE protocol",
        "the concern must include one of: sexual, trafficking",
    ]


def test_mcse_has_no_entry_rules():
    assert refusals("mcse") == []


def test_an_unknown_rule_in_a_profile_is_named():
    from panelctl.base.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="'coin_toss'"):
        entry.refusals([{"rule": "coin_toss"}], {"child": CHILD})
