"""Chairs as the terms of reference describe them: a pure rule over the profile's ``chair``
settings and an agency's sector.

``chair: {sectors: [police], vice_chair_sectors: [local authority]}`` says which sectors
the chair (and vice-chair) come from (B&NES: chaired by the police, Children and Young
People's Services as vice-chair; Plymouth: a key agency, health, police or local
authority). A profile without them does not check.
"""

from __future__ import annotations

#: the profile's setting for each role that has one
SETTING = {"chair": "sectors", "vice-chair": "vice_chair_sectors"}


def sector_warning(chair: dict | None, role: str, agency: str, sector: str | None) -> str | None:
    """A sentence when someone of ``agency`` (of ``sector``; None when the store does not
    list that agency) taking ``role`` does not match the profile's ``chair`` settings.

    >>> sector_warning({"sectors": ["police"]}, "chair", "Health Trust", "health")
    "the profile says the chair comes from the police sector (chair.sectors); Health Trust is a health agency"
    """
    setting = SETTING.get(role)
    wanted = (chair or {}).get(setting) if setting else None
    if not wanted:
        return None
    title = role.replace("-", " ")
    sectors = " or ".join(wanted)
    if sector is None:
        return (
            f"the profile says the {title} comes from the {sectors} sector (chair.{setting}); "
            f"{agency} is not one of the store's agencies, so its sector is not known"
        )
    if sector in wanted:
        return None
    return (
        f"the profile says the {title} comes from the {sectors} sector (chair.{setting}); "
        f"{agency} is a {sector} agency"
    )
