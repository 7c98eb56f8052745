"""The questions `panelctl meeting run` asks on a terminal."""

import typer

from panelctl.cli.output import say


class PromptAnswers:
    notes: list[str] = []

    def note(self, message: str) -> None:
        say(message)

    def attendance(self, members: list[dict]) -> list[dict]:
        say(
            "Attendance. For each member: present, virtual (joined remotely), apologies, "
            "deputy or absent."
        )
        given = []
        for member in members:
            status = _choice(
                f"{member['name']} ({member['agency']})",
                ("present", "virtual", "apologies", "deputy", "absent"),
                "present",
            )
            if status == "absent":
                continue
            entry = {"name": member["name"], "agency": member["agency"], "status": status}
            if status == "deputy":
                entry["name"] = typer.prompt("  Deputy's name")
                entry["deputising_for"] = member["name"]
            given.append(entry)
        while True:
            name = typer.prompt(
                "Anyone else attending (a guest)? Name (blank when done)",
                default="",
                show_default=False,
            )
            if not name.strip():
                break
            given.append(
                {
                    "name": name.strip(),
                    "agency": typer.prompt("  Agency"),
                    "status": "present",
                    "guest": True,
                }
            )
        return given

    def chair(self, present: list[str]) -> str | None:
        answer = _choice("Who chaired? (blank: not recorded)", tuple(present), None)
        return answer or None

    def confidentiality(self, statement: str, present: list[str], form: bool) -> list[str] | None:
        if not form:  # this panel has no confidentiality form: nothing to record
            return None
        say(f"\nConfidentiality statement:\n  {statement}\n")
        if not typer.confirm("Record who signed the confidentiality form?", default=None):
            return None
        return [name for name in present if typer.confirm(f"Signed by {name}?", default=None)]

    def standing(self, titles: list[str]) -> dict[str, str]:
        return _texts(titles)

    def closing(self, titles: list[str]) -> dict[str, str]:
        return _texts(titles)

    def declarations(self, present: list[str], cases: list[str]) -> list[dict]:
        given = []
        while typer.confirm("Any (more) declarations of interest?", default=False):
            name = _choice("Declared by", tuple(present), present[0])
            interest = typer.prompt("  Interest")
            excluded = typer.prompt(
                "  Excluded from which cases (ids, comma-separated; blank for none)",
                default="",
                show_default=False,
            )
            given.append(
                {
                    "name": name,
                    "interest": interest,
                    "excluded_cases": [c.strip() for c in excluded.split(",") if c.strip()],
                }
            )
        return given

    def case(self, case_id: str, context: dict) -> dict:
        say(f"\n=== {case_id} (current risk: {context['current_risk'] or 'not assessed'}) ===")
        if context["excluded"]:
            say(f"Excluded for this case: {', '.join(context['excluded'])}")
        items = {
            title: typer.prompt(f"{title[0].upper()}{title[1:]}", default="", show_default=False)
            for title in context["items"]
        }
        answer = {"items": items}
        if context.get("lead_updates"):
            update = _lead_update()
            if update:
                answer["lead_update"] = update
        if not context["quorate"]:
            say("Not quorate: no risk level, actions or decision can be recorded.")
            return answer
        answer["risk"] = _choice(
            "Risk level agreed (blank: none agreed)", tuple(context["levels"]), None
        )
        if context.get("asks_resources"):
            answer["resources"] = typer.prompt(
                "Resources / cost implications (blank: none said)", default="", show_default=False
            )
        actions = []
        while typer.confirm("Add an action?", default=not actions):
            actions.append(
                {
                    "description": typer.prompt("  Action"),
                    "agency": typer.prompt("  Owner agency"),
                    "owner": typer.prompt("  Owner"),
                    "due": typer.prompt("  Due date (e.g. 14/03/2026)"),
                }
            )
        answer["actions"] = actions
        answer["decision"] = _choice(
            "Decision (blank: none made)", ("keep", "step down", "close"), None
        )
        answer["agreed_by"] = [
            n for n in context["present"] if typer.confirm(f"Agreed by {n}?", default=None)
        ]
        if answer["decision"] == "close":
            answer["closure"] = _closure(context.get("open_actions") or [])
        return answer


def _lead_update() -> dict | None:
    """A lead worker's update instead of attending: how it came, who sent it (blank: none)."""
    by = _choice(
        "Did the lead worker send an update instead of attending? (blank: no)",
        ("written", "e-mail"),
        None,
    )
    if by is None:
        return None
    update = {"name": typer.prompt("  Sent by (name)"), "by": by}
    agency = typer.prompt("  Their agency (blank: not recorded)", default="", show_default=False)
    if agency.strip():
        update["agency"] = agency.strip()
    return update


def _closure(open_actions: list[str]) -> dict:
    """Why the case closes, and what becomes of its open actions (listed by id)."""
    closure = {"reason": typer.prompt("Why does the case close (e.g. risk reduced)?")}
    if open_actions:
        say(f"Open actions on the case: {', '.join(open_actions)}.")
        choice = None
        while choice is None:  # no default: what becomes of them is said, never assumed
            choice = _choice("Close them or carry them on", ("close", "carry"), None)
        closure["open_actions"] = choice
        closure["actions_reason"] = typer.prompt("Why")
    return closure


def _texts(titles: list[str]) -> dict[str, str]:
    """What was said under each item; a blank answer records nothing (not discussed)."""
    return {
        title: typer.prompt(f"{title[0].upper()}{title[1:]}", default="", show_default=False)
        for title in titles
    }


def _choice(question: str, options: tuple[str, ...], default: str | None) -> str | None:
    """One of ``options``; with no default, a blank answer is None (nothing recorded)."""
    while True:
        answer = typer.prompt(
            f"{question} [{'/'.join(options)}]",
            default=default if default is not None else "",
            show_default=default is not None,
        ).strip()
        if not answer and default is None:
            return None
        for option in options:
            if answer.casefold() == option.casefold():
                return option
        say(f"Please answer one of: {', '.join(options)}.")
