"""The one rule for an e-mail address: members' addresses and the mail a reminder goes to."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def is_address(text: object) -> bool:
    """A plain address (local@domain), with nothing that could start another header."""
    return isinstance(text, str) and len(text) <= 254 and bool(_ADDRESS.match(text))
